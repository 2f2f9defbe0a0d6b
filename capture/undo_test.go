package capture

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/capturetest"
)

// checksum is a whole-table fingerprint, for "exactly as before".
func checksum(t testing.TB, conn *pgx.Conn, table string) string {
	t.Helper()
	var sum string
	if err := conn.QueryRow(context.Background(), "SELECT coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM "+table+" x").Scan(&sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

// Undo puts back exactly what a change of updates, deletes (with a
// cascade) and inserts took away, parents before children; the undo is a
// change of its own, and undoing it again is refused.
func TestUndoRestoresTheRows(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	before := checksum(t, conn, "parent") + checksum(t, conn, "child")
	id := capturetest.Commit(t, conn,
		"UPDATE parent SET note = 'x' WHERE id <= 3",
		"DELETE FROM parent WHERE id = 2", // and its children 1, 3, 5
		"INSERT INTO parent VALUES (20, 'new')",
		"UPDATE child SET note = 'y' WHERE id = 2",
	)
	if got := checksum(t, conn, "parent") + checksum(t, conn, "child"); got == before {
		t.Fatal("the change changed nothing")
	}
	plan, err := Undo(ctx, conn, id, UndoOptions{DryRun: true})
	if err != nil || len(plan.Conflicts) != 0 {
		t.Fatalf("dry run: %+v, %v", plan, err)
	}
	var confirmed bool
	plan, err = Undo(ctx, conn, id, UndoOptions{Confirm: func(Plan) bool { confirmed = true; return true }})
	if err != nil {
		t.Fatal(err)
	}
	if !confirmed || plan.Undo == 0 {
		t.Fatalf("plan %+v, confirmed %v", plan, confirmed)
	}
	want := map[string]TablePlan{
		"public.parent": {Table: "public.parent", Restore: 2, Reinsert: 1, Remove: 1},
		"public.child":  {Table: "public.child", Restore: 1, Reinsert: 3},
	}
	for _, tp := range plan.Tables {
		if tp != want[tp.Table] {
			t.Errorf("%s: %+v, want %+v", tp.Table, tp, want[tp.Table])
		}
	}
	if got := checksum(t, conn, "parent") + checksum(t, conn, "child"); got != before {
		t.Fatal("undo did not restore the tables exactly")
	}
	var status string
	var by int64
	if err := conn.QueryRow(ctx, "SELECT status, undone_by FROM belay.changes WHERE id = $1", id).Scan(&status, &by); err != nil || status != "undone" || by != plan.Undo {
		t.Fatalf("change %d: %s by %d, %v; want undone by %d", id, status, by, err, plan.Undo)
	}
	var undoRows string
	if err := conn.QueryRow(ctx, "SELECT rows->'public.parent'->>'inserted' FROM belay.changes WHERE id = $1", plan.Undo).Scan(&undoRows); err != nil || undoRows != "1" {
		t.Fatalf("the undo's record: parent inserted %q, %v; want 1", undoRows, err)
	}
	if _, err := Undo(ctx, conn, id, UndoOptions{}); err == nil || !strings.Contains(err.Error(), "undone already") {
		t.Fatalf("second undo: %v", err)
	}
	// The undo is itself a change: undoing it brings the change back.
	if _, err := Undo(ctx, conn, plan.Undo, UndoOptions{}); err != nil {
		t.Fatalf("undo of the undo: %v", err)
	}
	var note string
	if err := conn.QueryRow(ctx, "SELECT note FROM parent WHERE id = 1").Scan(&note); err != nil || note != "x" {
		t.Fatalf("after undoing the undo, parent 1 is %q (%v), want x", note, err)
	}
}

// A row someone changed after the change is a conflict: nothing is
// applied, unless forced.
func TestUndoConflicts(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	id := capturetest.Commit(t, conn, "UPDATE parent SET note = 'x' WHERE id IN (7, 8)")
	if _, err := conn.Exec(ctx, "UPDATE parent SET note = 'someone' WHERE id = 8"); err != nil {
		t.Fatal(err)
	}
	plan, err := Undo(ctx, conn, id, UndoOptions{})
	if !errors.Is(err, ErrConflicts) || len(plan.Conflicts) != 1 || plan.Conflicts[0].Key != "(8)" {
		t.Fatalf("undo over a conflict: %+v, %v", plan, err)
	}
	var notes string
	if err := conn.QueryRow(ctx, "SELECT string_agg(note, ',' ORDER BY id) FROM parent WHERE id IN (7, 8)").Scan(&notes); err != nil || notes != "x,someone" {
		t.Fatalf("after a refused undo: %q, %v; want nothing changed", notes, err)
	}
	if _, err := Undo(ctx, conn, id, UndoOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT string_agg(note, ',' ORDER BY id) FROM parent WHERE id IN (7, 8)").Scan(&notes); err != nil || notes != "p7,p8" {
		t.Fatalf("after a forced undo: %q, %v", notes, err)
	}
}

// Keys generated ALWAYS AS IDENTITY, generated columns and a table of its
// key alone are put back too (the key is matched, never set).
func TestUndoIdentityAndGenerated(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TABLE acct (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, cents int, euros numeric GENERATED ALWAYS AS (cents / 100.0) STORED);
		INSERT INTO acct (cents) SELECT g * 100 FROM generate_series(1, 5) g;
		CREATE TABLE tags (tag text PRIMARY KEY); INSERT INTO tags VALUES ('a'), ('b')`); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, conn.Config().ConnString())
	if _, err := Enable(ctx, db, []string{"acct", "tags"}); err != nil {
		t.Fatal(err)
	}
	before := checksum(t, conn, "acct") + checksum(t, conn, "tags")
	id := capturetest.Commit(t, conn, "UPDATE acct SET cents = 0 WHERE id <= 2", "DELETE FROM acct WHERE id = 5", "DELETE FROM tags WHERE tag = 'a'", "INSERT INTO tags VALUES ('c')")
	if _, err := Undo(ctx, conn, id, UndoOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := checksum(t, conn, "acct") + checksum(t, conn, "tags"); got != before {
		t.Fatal("undo did not restore acct and tags exactly")
	}
}

// A table a change quarantined (DROP TABLE in two steps) comes back with
// its rows and indexes; a new table of the same name blocks the undo.
func TestUndoQuarantine(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	before := checksum(t, conn, "child")
	id := capturetest.Commit(t, conn, "SELECT belay.quarantine('child')")
	if _, err := conn.Exec(ctx, "SELECT 1 FROM child"); err == nil {
		t.Fatal("child is still there after its quarantine")
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE child (x int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := Undo(ctx, conn, id, UndoOptions{}); !errors.Is(err, ErrConflicts) {
		t.Fatalf("undo with the name taken: %v", err)
	}
	if _, err := conn.Exec(ctx, "DROP TABLE child"); err != nil {
		t.Fatal(err)
	}
	plan, err := Undo(ctx, conn, id, UndoOptions{})
	if err != nil || len(plan.Restored) != 1 || plan.Restored[0] != "public.child" {
		t.Fatalf("undo: %+v, %v", plan, err)
	}
	if got := checksum(t, conn, "child"); got != before {
		t.Fatal("child came back different")
	}
	var indexes int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'child'").Scan(&indexes); err != nil || indexes != 1 {
		t.Fatalf("child has %d indexes, %v; want its primary key back", indexes, err)
	}
}

// Rows written in subtransactions — psql's ON_ERROR_ROLLBACK savepoints, a
// PL/pgSQL block with EXCEPTION — carry the subtransaction's id, not the
// change's: they are still the change's rows, not conflicts, and a
// subtransaction rolled back leaves neither rows nor images.
func TestUndoSubtransactions(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	before := checksum(t, conn, "parent") + checksum(t, conn, "child")
	id := capturetest.Commit(t, conn,
		"UPDATE parent SET note = 'top' WHERE id = 1",
		"SAVEPOINT a",
		"UPDATE parent SET note = 'sub' WHERE id = 2",
		"RELEASE a",
		"SAVEPOINT b",
		"UPDATE parent SET note = 'gone' WHERE id = 3",
		"ROLLBACK TO b",
		`DO $$ BEGIN
			BEGIN
				DELETE FROM child WHERE id = 4;
				INSERT INTO parent VALUES (30, 'in a block');
			EXCEPTION WHEN others THEN RAISE;
			END;
		END $$`,
	)
	var xmins int
	if err := conn.QueryRow(ctx, "SELECT count(DISTINCT xmin::text) FROM parent WHERE id IN (1, 2, 30)").Scan(&xmins); err != nil || xmins != 3 {
		t.Fatalf("the rows carry %d transaction ids (%v), want 3: the test needs subtransactions", xmins, err)
	}
	plan, err := Undo(ctx, conn, id, UndoOptions{DryRun: true})
	if err != nil || len(plan.Conflicts) != 0 {
		t.Fatalf("dry run: %+v, %v; want no conflicts", plan, err)
	}
	if _, err := Undo(ctx, conn, id, UndoOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := checksum(t, conn, "parent") + checksum(t, conn, "child"); got != before {
		t.Fatal("the tables differ after the undo")
	}
}
