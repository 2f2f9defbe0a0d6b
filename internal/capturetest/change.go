// Package capturetest helps tests make changes as a capturing hold makes
// them, without belay in between.
package capturetest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Begin opens a transaction that captures, as a hold's does, and runs
// stmts in it; it is rolled back when the test ends unless committed.
func Begin(t testing.TB, conn *pgx.Conn, stmts ...string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	for _, sql := range append([]string{"SET LOCAL belay.capture = 'on'"}, stmts...) {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	return tx
}

// Commit runs stmts as one held, captured change — capture on, the record
// in the same transaction — and returns the change's id.
func Commit(t testing.TB, conn *pgx.Conn, stmts ...string) int64 {
	t.Helper()
	ctx := context.Background()
	tx := Begin(t, conn, stmts...)
	var id int64
	if err := tx.QueryRow(ctx, "SELECT belay.record_change('test', '', $1, '{}')", strings.Join(stmts, ";\n")).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}
