package capture

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/capturetest"
	"github.com/belay-proxy/belay/internal/testpg"
)

// capturedDatabase is a fresh database after belay init, with a parent
// table, a child with ON DELETE CASCADE, and capture enabled on both.
func capturedDatabase(t *testing.T) *pgx.Conn {
	t.Helper()
	dsn := testpg.FreshDatabase(t)
	ctx := context.Background()
	db := openDB(t, dsn)
	if _, err := Init(ctx, db); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `
		CREATE TABLE parent (id int PRIMARY KEY, note text);
		CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent ON DELETE CASCADE, note text);
		CREATE TABLE "Odd Name" (id int PRIMARY KEY);
		INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 10) g;
		INSERT INTO child SELECT g, 1 + g % 2, 'c' || g FROM generate_series(1, 6) g`); err != nil {
		t.Fatal(err)
	}
	got, err := Enable(ctx, db, []string{"parent", "public.child", `"Odd Name"`})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "public.parent,public.child,public.Odd Name" {
		t.Fatalf("enabled %v", got)
	}
	if _, err := Enable(ctx, db, []string{"parent"}); err != nil {
		t.Fatalf("enable again: %v", err)
	}
	return conn
}

type imageRow struct {
	table, op, image string
	rows             int64
}

func images(t *testing.T, tx pgx.Tx) []imageRow {
	t.Helper()
	rows, err := tx.Query(context.Background(), "SELECT table_name, op::text, image_table, rows FROM belay.row_images WHERE xid = pg_current_xact_id() ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	var out []imageRow
	for rows.Next() {
		var r imageRow
		if err := rows.Scan(&r.table, &r.op, &r.image, &r.rows); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// In a transaction that asks for capture, every statement that changes a
// protected table leaves an image of the rows it changed — a cascade's
// too — typed like the table; elsewhere nothing is captured.
func TestCaptureTriggers(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	tx := capturetest.Begin(t, conn,
		"UPDATE parent SET note = 'x' WHERE id <= 3",
		"DELETE FROM parent WHERE id = 1", // cascades to child 2, 4, 6
		"INSERT INTO parent VALUES (11, 'new'), (12, 'new')",
		"UPDATE parent SET note = 'none' WHERE id = 999",
	)
	got := images(t, tx)
	// The parent's statement trigger fires before the cascade's.
	want := []imageRow{{"public.parent", "U", "", 3}, {"public.parent", "D", "", 1}, {"public.child", "D", "", 3}, {"public.parent", "I", "", 2}, {"public.parent", "U", "", 0}}
	if len(got) != len(want) {
		t.Fatalf("images %+v, want %d", got, len(want))
	}
	for i := range want {
		if got[i].table != want[i].table || got[i].op != want[i].op || got[i].rows != want[i].rows {
			t.Errorf("image %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// The first image holds the rows as they were, typed like parent.
	var notes string
	if err := tx.QueryRow(ctx, "SELECT string_agg(note, ',' ORDER BY id) FROM belay_images."+pgx.Identifier{got[0].image}.Sanitize()).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	if notes != "p1,p2,p3" {
		t.Fatalf("before-image notes %q, want p1,p2,p3", notes)
	}
	var counts string
	if err := tx.QueryRow(ctx, "SELECT string_agg(format('%s %s/%s/%s', table_name, inserted, updated, deleted), '; ' ORDER BY table_name) FROM belay.captured_rows()").Scan(&counts); err != nil {
		t.Fatal(err)
	}
	if counts != "public.child //3; public.parent 2/3/1" {
		t.Fatalf("captured_rows %q", counts)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// Without belay's setting, and after the rollback, nothing is kept.
	if _, err := conn.Exec(ctx, "UPDATE parent SET note = 'y' WHERE id = 5"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM belay.row_images) + (SELECT count(*) FROM pg_tables WHERE schemaname = 'belay_images')").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d images left, %v; want none", n, err)
	}
}

// Disable removes the triggers; a name that is not a table is refused,
// and nothing of the call is applied.
func TestEnableDisable(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	db := openDB(t, conn.Config().ConnString())
	if _, err := Enable(ctx, db, []string{"child", "no_such_table"}); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("enable of a missing table: %v", err)
	}
	if _, err := Disable(ctx, db, []string{"parent", "child"}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'belay_capture_%' AND tgrelid IN ('parent'::regclass, 'child'::regclass)").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d capture triggers left, %v", n, err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'belay_capture_%' AND tgrelid = '"Odd Name"'::regclass`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d capture triggers on the table left alone, %v; want 4 (one for its key)", n, err)
	}
}

// A role with rights on the table but none on belay's schemas is captured
// all the same (the trigger runs as belay_owner); it may read the images
// of its own changes, and cannot change or remove them.
func TestCaptureForAnotherRole(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	role := conn.Config().Database + "_editor"
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN; GRANT SELECT, UPDATE ON parent TO "+role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP OWNED BY "+role+"; DROP ROLE IF EXISTS "+role)
	})
	cfg := conn.Config().Copy()
	cfg.User = role
	editor, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer editor.Close(ctx)
	tx, err := editor.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL belay.capture = 'on'; UPDATE parent SET note = 'e' WHERE id = 7"); err != nil {
		t.Fatal(err)
	}
	var table string
	var rows int64
	if err := tx.QueryRow(ctx, "SELECT table_name, coalesce(updated, 0) FROM belay.captured_rows()").Scan(&table, &rows); err != nil || table != "public.parent" || rows != 1 {
		t.Fatalf("captured %q %d, %v", table, rows, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var image string
	if err := conn.QueryRow(ctx, "SELECT image_table FROM belay.row_images").Scan(&image); err != nil {
		t.Fatal(err)
	}
	// The writer may read its own images (belay's preview does), not change them.
	if _, err := editor.Exec(ctx, "SELECT * FROM belay_images."+pgx.Identifier{image}.Sanitize()); err != nil {
		t.Fatalf("the writer cannot read its own image: %v", err)
	}
	for _, sql := range []string{"DELETE FROM belay_images." + pgx.Identifier{image}.Sanitize(), "DROP TABLE belay_images." + pgx.Identifier{image}.Sanitize(), "DELETE FROM belay.row_images"} {
		if _, err := editor.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("%s: %v, want permission denied", sql, err)
		}
	}
}

// The preview describes the first rows of the current change, as the
// writer (who may read its own images, and nobody else's).
func TestPreview(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	tx := capturetest.Begin(t, conn,
		"UPDATE parent SET note = 'x' WHERE id IN (1, 2, 10)",
		"DELETE FROM child WHERE id = 6",
		"INSERT INTO parent VALUES (40, 'new')",
	)
	var names, values string
	if err := tx.QueryRow(ctx, "SELECT belay.preview(10, false), belay.preview(2, true)").Scan(&names, &values); err != nil {
		t.Fatal(err)
	}
	// In the order of the keys: 2 before 10.
	want := "public.parent (1) updated: note\npublic.parent (2) updated: note\npublic.parent (10) updated: note\npublic.child (6) deleted\npublic.parent (40) inserted"
	if names != want {
		t.Fatalf("preview:\n%s\nwant:\n%s", names, want)
	}
	if values != "public.parent (1) updated: note p1 → x\npublic.parent (2) updated: note p2 → x" {
		t.Fatalf("preview with values:\n%s", values)
	}
}
