package capture

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/belay-proxy/belay/internal/capturetest"
)

// Changes lists records newest first, filtered; Show pairs each captured
// row with its row now: the columns the change set, old → new, and rows
// someone changed since marked.
func TestChangesAndShow(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	first := capturetest.Commit(t, conn, "UPDATE parent SET note = 'x' WHERE id IN (1, 2)")
	second := capturetest.Commit(t, conn, "DELETE FROM child WHERE id = 4", "INSERT INTO parent VALUES (30, 'new')")
	if _, err := conn.Exec(ctx, "UPDATE parent SET note = 'later' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}

	all, err := Changes(ctx, conn, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != second || all[1].ID != first || all[0].User != "postgres" || all[0].Status != "applied" {
		t.Fatalf("changes %+v", all)
	}
	if got, err := Changes(ctx, conn, Filter{Since: time.Now().Add(time.Hour)}); err != nil || len(got) != 0 {
		t.Fatalf("since an hour ahead: %+v, %v", got, err)
	}

	_, rows, err := Show(ctx, conn, first, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Key != "(1)" || rows[0].Op != "updated" || rows[0].Since ||
		len(rows[0].Columns) != 1 || rows[0].Columns[0] != (ColumnDiff{Name: "note", Old: `"p1"`, New: `"x"`}) {
		t.Fatalf("rows of change %d: %+v", first, rows)
	}
	if !rows[1].Since || rows[1].Columns[0].New != `"later"` {
		t.Fatalf("row 2, changed since: %+v", rows[1])
	}
	_, rows, err = Show(ctx, conn, second, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Op != "deleted" || rows[0].Table != "public.child" || rows[1].Op != "inserted" || rows[1].Key != "(30)" {
		t.Fatalf("rows of change %d: %+v", second, rows)
	}
	if _, _, err := Show(ctx, conn, 999, 10); err == nil {
		t.Fatal("show of a change that does not exist")
	}
}

// Purge drops images older than the age and marks their changes expired;
// undo then says why it cannot.
func TestPurge(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	old := capturetest.Commit(t, conn, "UPDATE parent SET note = 'x' WHERE id IN (1, 2)")
	for _, sql := range []string{
		"UPDATE belay.changes SET created_at = now() - interval '40 days' WHERE id = $1",
		"UPDATE belay.row_images SET created_at = now() - interval '40 days' WHERE xid = (SELECT xid FROM belay.changes WHERE id = $1)",
	} {
		if _, err := conn.Exec(ctx, sql, old); err != nil {
			t.Fatal(err)
		}
	}
	recent := capturetest.Commit(t, conn, "UPDATE parent SET note = 'y' WHERE id = 3")
	p, err := Purge(ctx, conn, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p != (Purged{Changes: 1, Images: 1, Rows: 2}) {
		t.Fatalf("purged %+v", p)
	}
	if _, err := Undo(ctx, conn, old, UndoOptions{}); err == nil || !strings.Contains(err.Error(), "purged") {
		t.Fatalf("undo of a purged change: %v", err)
	}
	if _, err := Undo(ctx, conn, recent, UndoOptions{}); err != nil {
		t.Fatalf("undo of a recent change: %v", err)
	}
}
