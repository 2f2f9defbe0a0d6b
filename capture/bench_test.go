package capture

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/capturetest"
	"github.com/belay-proxy/belay/internal/testpg"
)

// BenchmarkUpdate100k measures what capture and undo cost against the
// bare statement (the targets: capture ≤ 1.25×, undo ≤ 2×), side by
// side on the same data: an UPDATE of 100 000 rows bare, captured by
// belay's triggers, after the naive "CREATE TABLE backup AS SELECT …", and
// the undo of a committed captured change of those rows.
//
//	go test -run '^$' -bench Update100k -benchtime 5x -count 3 ./capture
func BenchmarkUpdate100k(b *testing.B) {
	const rows = 100000
	dsn := testpg.FreshDatabase(b)
	ctx := context.Background()
	db := openDB(b, dsn)
	if _, err := Init(ctx, db); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, table := range []string{"bare", "captured"} {
		for _, s := range []string{
			"CREATE TABLE %[1]s (id int PRIMARY KEY, n bigint, note text, at timestamptz)",
			"CREATE INDEX ON %[1]s (note)",
			"INSERT INTO %[1]s SELECT g, 0, 'note ' || g, now() FROM generate_series(1, %[2]d) g",
			"VACUUM ANALYZE %[1]s",
		} {
			if _, err := conn.Exec(ctx, fmt.Sprintf(s, table, rows)); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := Enable(ctx, db, []string{"captured"}); err != nil {
		b.Fatal(err)
	}
	update := func(table string) string { return "UPDATE " + table + " SET n = n + 1 WHERE id <= 100000" }
	// each runs one variant in a rolled-back transaction, after a VACUUM
	// (not timed) so that no run pays for another's dead rows.
	each := func(b *testing.B, table string, stmts ...string) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if _, err := conn.Exec(ctx, "VACUUM "+table); err != nil {
				b.Fatal(err)
			}
			tx, err := conn.Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for _, s := range stmts {
				if _, err := tx.Exec(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = tx.Rollback(ctx)
			b.StartTimer()
		}
	}
	b.Run("bare", func(b *testing.B) { each(b, "bare", update("bare")) })
	b.Run("naive-backup", func(b *testing.B) {
		each(b, "bare", "CREATE TABLE backup AS SELECT * FROM bare WHERE id <= 100000", update("bare"))
	})
	b.Run("captured", func(b *testing.B) { each(b, "captured", "SET LOCAL belay.capture = 'on'", update("captured")) })
	b.Run("undo", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if _, err := conn.Exec(ctx, "VACUUM captured"); err != nil {
				b.Fatal(err)
			}
			id := capturetest.Commit(b, conn, update("captured"))
			b.StartTimer()
			if _, err := Undo(ctx, conn, id, UndoOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
