package capture

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/capturetest"
)

// backdate makes a change look days old: its record, its images and the
// tables it quarantined.
func backdate(t *testing.T, conn *pgx.Conn, change int64, days int) {
	t.Helper()
	for _, table := range []string{"belay.changes", "belay.row_images", "belay.quarantined"} {
		sql := "UPDATE " + table + " SET created_at = now() - make_interval(days => $2) WHERE xid = (SELECT xid FROM belay.changes WHERE id = $1)"
		if _, err := conn.Exec(context.Background(), sql, change, days); err != nil {
			t.Fatal(err)
		}
	}
}

// testRole creates a login role named after the test's database, dropped
// when the test ends, and returns its name.
func testRole(t *testing.T, conn *pgx.Conn, suffix, options string) string {
	t.Helper()
	role := conn.Config().Database + "_" + suffix
	if _, err := conn.Exec(context.Background(), "CREATE ROLE "+role+" LOGIN "+options); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP OWNED BY "+role)
		_, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	return role
}

// connectAs opens a connection to conn's database as role.
func connectAs(t *testing.T, conn *pgx.Conn, role string) *pgx.Conn {
	t.Helper()
	cfg := conn.Config().Copy()
	cfg.User = role
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func status(t *testing.T, conn *pgx.Conn, change int64) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), "SELECT status FROM belay.changes WHERE id = $1", change).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func exists(t *testing.T, conn *pgx.Conn, table string) bool {
	t.Helper()
	var ok bool
	if err := conn.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// Purge drops old quarantined tables as the operator, a member of
// belay_owner (which owns belay_quarantine, so it may drop tables others
// own there): those it can drop go, each change's in its own transaction,
// so one it cannot drop (a view depends on it) stops no other change; one
// someone dropped already is recorded; a recent one and one undo brought
// back stay. A change expires only when nothing of it is left; a change
// with a table that could not be dropped keeps its other tables and its
// images, so undo still brings all of it back.
func TestPurgeQuarantinedTables(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	alice := testRole(t, conn, "alice", "")
	purger := testRole(t, conn, "purger", "IN ROLE belay_owner")
	for _, table := range []string{"old_a", "old_b", "old_c", "recent_a", "restored_a", "gone_a"} {
		if _, err := conn.Exec(ctx, "CREATE TABLE "+table+" (id int PRIMARY KEY); ALTER TABLE "+table+" OWNER TO "+alice); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE VIEW old_b_view AS SELECT * FROM old_b"); err != nil {
		t.Fatal(err)
	}
	withView := capturetest.Commit(t, conn, "UPDATE parent SET note = 'b' WHERE id = 5", "SELECT belay.quarantine('old_c')", "SELECT belay.quarantine('old_b')")
	backdate(t, conn, withView, 50) // first in line: its failure must not stop the others
	plain := capturetest.Commit(t, conn, "UPDATE parent SET note = 'a' WHERE id = 4", "SELECT belay.quarantine('old_a')")
	backdate(t, conn, plain, 40)
	gone := capturetest.Commit(t, conn, "SELECT belay.quarantine('gone_a')")
	backdate(t, conn, gone, 40)
	var goneName string
	if err := conn.QueryRow(ctx, "SELECT quarantined_name FROM belay.quarantined WHERE original_name = 'gone_a'").Scan(&goneName); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DROP TABLE belay_quarantine."+pgx.Identifier{goneName}.Sanitize()); err != nil { // by hand, as before purge could
		t.Fatal(err)
	}
	restored := capturetest.Commit(t, conn, "SELECT belay.quarantine('restored_a')")
	if _, err := Undo(ctx, conn, restored, UndoOptions{}); err != nil {
		t.Fatal(err)
	}
	backdate(t, conn, restored, 40)
	recent := capturetest.Commit(t, conn, "SELECT belay.quarantine('recent_a')")

	p, err := Purge(ctx, connectAs(t, conn, purger), 30*24*time.Hour)
	var failed DropFailures
	if !errors.As(err, &failed) || len(failed) != 1 || failed[0].Table != "public.old_b" || !strings.Contains(failed[0].Err.Error(), "2BP01") {
		t.Fatalf("purge as %s: %+v, %v; want old_b not dropped, 2BP01", purger, p, err)
	}
	if !strings.Contains(err.Error(), "public.old_b (belay_quarantine.old_b_") {
		t.Errorf("error %q does not name the table", err)
	}
	if p != (Purged{Changes: 2, Images: 1, Rows: 1, Tables: 1, Gone: 1}) {
		t.Fatalf("purged %+v", p)
	}
	for change, want := range map[int64]string{withView: "applied", plain: "expired", gone: "expired", restored: "undone", recent: "applied"} {
		if got := status(t, conn, change); got != want {
			t.Errorf("change %d: %s, want %s", change, got, want)
		}
	}
	if !exists(t, conn, "public.restored_a") {
		t.Fatal("purge dropped a table undo had brought back")
	}
	var purged string
	if err := conn.QueryRow(ctx, "SELECT string_agg(original_name, ',' ORDER BY original_name) FROM belay.quarantined WHERE purged_at IS NOT NULL").Scan(&purged); err != nil || purged != "gone_a,old_a" {
		t.Fatalf("recorded purged: %q, %v", purged, err)
	}
	if _, err := Undo(ctx, conn, plain, UndoOptions{}); err == nil || !strings.Contains(err.Error(), "can no longer be undone") {
		t.Fatalf("undo of a purged drop: %v", err)
	}
	// Nobody may record a table purged that is still there, and only
	// belay_owner's members may record at all.
	var noted bool
	if err := conn.QueryRow(ctx, "SELECT belay.note_purged(q.xid, q.table_oid) FROM belay.quarantined q WHERE original_name = 'recent_a'").Scan(&noted); err != nil || noted {
		t.Fatalf("note_purged of a table in the quarantine: %v, %v", noted, err)
	}
	if _, err := connectAs(t, conn, alice).Exec(ctx, "SELECT belay.note_purged('1', 1)"); err == nil || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("note_purged by a role outside belay_owner: %v", err)
	}

	// The change whose table stayed is whole: undo would bring back its row and its tables.
	plan, err := Undo(ctx, conn, withView, UndoOptions{DryRun: true})
	if err != nil || len(plan.Tables) != 1 || len(plan.Restored) != 2 {
		t.Fatalf("undo plan of the change kept whole: %+v, %v", plan, err)
	}

	// Without the view, the next purge finishes the job.
	if _, err := conn.Exec(ctx, "DROP VIEW old_b_view"); err != nil {
		t.Fatal(err)
	}
	p, err = Purge(ctx, conn, 30*24*time.Hour)
	if err != nil || p != (Purged{Changes: 1, Images: 1, Rows: 1, Tables: 2}) {
		t.Fatalf("second purge: %+v, %v", p, err)
	}
	if got := status(t, conn, withView); got != "expired" {
		t.Fatalf("change %d: %s after its table was dropped", withView, got)
	}
	if exists(t, conn, "public.old_b") || exists(t, conn, "public.old_c") || !exists(t, conn, "public.restored_a") {
		t.Fatal("old_b or old_c is back, or restored_a is gone")
	}
}
