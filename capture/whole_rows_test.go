package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/capturetest"
	"github.com/belay-proxy/belay/internal/testpg"
)

// wholeRowsDatabase adds to capturedDatabase the tables of updates undo
// cannot find by key: log has no primary key (duplicate rows, json and
// point, which have no equality operator), pk's key is updated, and acc's
// key cascades to entry.
func wholeRowsDatabase(t *testing.T) *pgx.Conn {
	t.Helper()
	conn := capturedDatabase(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `
		CREATE TABLE log (id int, doc json, at point, note text);
		INSERT INTO log VALUES (1, '{"a": 1}', '(1,1)', 'a'), (1, '{"a": 1}', '(1,1)', 'a'), (2, '{"b": [1, 2]}', '(2,2)', 'b'),
		                       (3, NULL, NULL, 'c'), (3, NULL, NULL, 'c'), (3, NULL, NULL, 'c');
		CREATE TABLE pk (id int PRIMARY KEY, note text);
		INSERT INTO pk SELECT g, 'p' || g FROM generate_series(1, 10) g;
		CREATE TABLE acc (id int PRIMARY KEY, name text);
		CREATE TABLE entry (id int PRIMARY KEY, acc int REFERENCES acc ON UPDATE CASCADE, note text);
		INSERT INTO acc VALUES (1, 'one'), (2, 'two');
		INSERT INTO entry SELECT g, 1 + g % 2, 'e' || g FROM generate_series(1, 6) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := Enable(ctx, openDB(t, conn.Config().ConnString()), []string{"log", "pk", "acc", "entry"}); err != nil {
		t.Fatal(err)
	}
	return conn
}

// imageOps lists a change's images per table: "public.pk KN, …".
func imageOps(t *testing.T, conn *pgx.Conn, change int64) string {
	t.Helper()
	var ops string
	err := conn.QueryRow(context.Background(), `
		SELECT string_agg(table_name || ' ' || ops, ', ' ORDER BY first) FROM (
			SELECT r.table_name, string_agg(r.op::text, '' ORDER BY r.seq) AS ops, min(r.seq) AS first
			FROM belay.row_images r JOIN belay.changes c ON c.xid = r.xid WHERE c.id = $1 GROUP BY 1) s`, change).Scan(&ops)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// undoExactly undoes the change and checks the tables are as before; then
// undoes the undo and its undo, which must bring after, then before, back.
func undoExactly(t *testing.T, conn *pgx.Conn, change int64, before, after func() string) Plan {
	t.Helper()
	ctx := context.Background()
	plan, err := Undo(ctx, conn, change, UndoOptions{})
	if err != nil {
		t.Fatalf("undo: %+v, %v", plan, err)
	}
	if after() != before() {
		t.Fatal("undo did not restore the tables exactly")
	}
	again, err := Undo(ctx, conn, plan.Undo, UndoOptions{})
	if err != nil {
		t.Fatalf("undo of the undo: %v", err)
	}
	if _, err := Undo(ctx, conn, again.Undo, UndoOptions{}); err != nil {
		t.Fatalf("undo of the undo of the undo: %v", err)
	}
	return plan
}

// Updates, deletes and inserts of a table without a primary key are put
// back on whole rows, duplicates counted.
func TestUndoWithoutKey(t *testing.T) {
	conn := wholeRowsDatabase(t)
	for _, tc := range []struct {
		name             string
		stmts            []string
		ops              string
		reinsert, remove int64
	}{
		{"update of duplicates", []string{"UPDATE log SET note = 'x' WHERE id = 1"}, "KN", 2, 2},
		{"update onto another row's values", []string{"UPDATE log SET id = 3, doc = NULL, at = NULL, note = 'c' WHERE id = 2"}, "KN", 1, 1},
		{"delete of one of three copies", []string{"DELETE FROM log WHERE ctid = (SELECT min(ctid) FROM log WHERE id = 3)"}, "D", 1, 0},
		{"insert of a copy", []string{"INSERT INTO log SELECT * FROM log WHERE id = 2"}, "I", 0, 1},
		{"a row there and back, one deleted and inserted again", []string{
			"UPDATE log SET note = 'y' WHERE id = 2", "UPDATE log SET note = 'z' WHERE id = 2", "UPDATE log SET note = 'b' WHERE note = 'z'",
			"DELETE FROM log WHERE id = 1", `INSERT INTO log VALUES (1, '{"a": 1}', '(1,1)', 'a')`,
		}, "KNKNKNDI", 1, 0},
		{"everything", []string{"DELETE FROM log", "INSERT INTO log VALUES (9, '[]', '(0,0)', 'new')"}, "DI", 6, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := checksum(t, conn, "log")
			id := capturetest.Commit(t, conn, tc.stmts...)
			if got := imageOps(t, conn, id); got != "public.log "+tc.ops {
				t.Fatalf("images %q, want public.log %s", got, tc.ops)
			}
			if checksum(t, conn, "log") == before && tc.reinsert+tc.remove > 0 {
				t.Fatal("the change changed nothing")
			}
			plan := undoExactly(t, conn, id, func() string { return before }, func() string { return checksum(t, conn, "log") })
			if want := (TablePlan{Table: "public.log", Reinsert: tc.reinsert, Remove: tc.remove}); len(plan.Tables) != 1 || plan.Tables[0] != want {
				t.Fatalf("plan %+v, want %+v", plan.Tables, want)
			}
		})
	}
}

// A row of a table without a key that someone changed since is a
// conflict: nothing is applied unless forced; forced, undo removes what it
// still finds and puts the old rows back.
func TestUndoWithoutKeyConflict(t *testing.T) {
	conn := wholeRowsDatabase(t)
	ctx := context.Background()
	id := capturetest.Commit(t, conn, "UPDATE log SET note = 'x' WHERE id = 1")
	if _, err := conn.Exec(ctx, "UPDATE log SET note = 'someone' WHERE ctid = (SELECT min(ctid) FROM log WHERE note = 'x')"); err != nil {
		t.Fatal(err)
	}
	now := checksum(t, conn, "log")
	plan, err := Undo(ctx, conn, id, UndoOptions{})
	want := Conflict{Table: "public.log", Key: `(1,"{""a"": 1}","(1,1)",x)`, Reason: "1 of its 2 copies changed or deleted by someone else since"}
	if !errors.Is(err, ErrConflicts) || len(plan.Conflicts) != 1 || plan.Conflicts[0] != want {
		t.Fatalf("undo over a conflict: %+v, %v; want %+v", plan, err, want)
	}
	if checksum(t, conn, "log") != now {
		t.Fatal("a refused undo changed the table")
	}
	if _, err := Undo(ctx, conn, id, UndoOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	var notes string
	if err := conn.QueryRow(ctx, "SELECT string_agg(note, ',' ORDER BY note) FROM log WHERE id = 1").Scan(&notes); err != nil || notes != "a,a,someone" {
		t.Fatalf("after a forced undo, rows 1: %q, %v; want a,a,someone", notes, err)
	}
}

// An UPDATE that changes key values is kept as old rows and new rows and
// undone exactly: old keys back (parents first), children pointed back,
// new keys removed. Setting a key to itself stays an update by key.
func TestUndoKeyChange(t *testing.T) {
	conn := wholeRowsDatabase(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `
		CREATE TABLE moved (id int PRIMARY KEY, note text);
		INSERT INTO moved VALUES (1, 'a'), (2, 'b');
		CREATE FUNCTION move_key() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
		  IF NEW.note = 'move' THEN NEW.id := NEW.id + 1000; END IF;
		  RETURN NEW;
		END $$;
		CREATE TRIGGER move_key BEFORE UPDATE ON moved FOR EACH ROW EXECUTE FUNCTION move_key();
		CREATE TABLE rekey (a int PRIMARY KEY, b int NOT NULL UNIQUE, note text);
		INSERT INTO rekey VALUES (1, 10, 'x'), (2, 20, 'y');
		CREATE TABLE num (id numeric, tag text, note text, PRIMARY KEY (tag, id));
		INSERT INTO num VALUES (1.0, 'a', 'x'), (2, 'b', 'y')`); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, conn.Config().ConnString())
	if _, err := Enable(ctx, db, []string{"moved", "rekey", "num"}); err != nil {
		t.Fatal(err)
	}
	// rekey's key changes after enable: capture still sees its key updates.
	if _, err := conn.Exec(ctx, "ALTER TABLE rekey DROP CONSTRAINT rekey_pkey, ADD PRIMARY KEY (b)"); err != nil {
		t.Fatal(err)
	}
	all := func() string {
		var sum string
		for _, table := range []string{"pk", "acc", "entry", "moved", "rekey", "num"} {
			sum += checksum(t, conn, table)
		}
		return sum
	}
	for _, tc := range []struct {
		name  string
		stmts []string
		ops   string
	}{
		{"keys shifted", []string{"UPDATE pk SET id = id + 100 WHERE id <= 3"}, "public.pk KN"},
		{"key and another column", []string{"UPDATE pk SET id = id * 10, note = 'x' WHERE id IN (4, 5)"}, "public.pk KN"},
		{"key set to itself", []string{"UPDATE pk SET id = id, note = 'y' WHERE id = 6"}, "public.pk U"},
		{"parent key cascading to children", []string{"UPDATE acc SET id = 100 WHERE id = 1"}, "public.acc KN, public.entry U"},
		{"a chain a→b, then b→c", []string{"UPDATE pk SET id = 20 WHERE id = 7", "UPDATE pk SET id = 30 WHERE id = 20"}, "public.pk KNKN"},
		{"keys freed and taken", []string{
			"INSERT INTO pk VALUES (11, 'n')", "UPDATE pk SET id = 12 WHERE id = 11", "DELETE FROM pk WHERE id = 8", "UPDATE pk SET id = 8 WHERE id = 9",
		}, "public.pk IKNDKN"},
		{"key moved by a BEFORE trigger", []string{"UPDATE moved SET note = 'move' WHERE id = 1"}, "public.moved KN"},
		{"key changed since enable", []string{"UPDATE rekey SET b = b + 100 WHERE a = 1"}, "public.rekey KN"},
		{"key equal, written differently", []string{"UPDATE num SET id = 1.00 WHERE id = 1"}, "public.num KN"},
		{"text key", []string{"UPDATE num SET tag = 'c' WHERE tag = 'b'"}, "public.num KN"},
		{"text key set to itself", []string{"UPDATE num SET tag = tag, note = 'z'"}, "public.num U"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := all()
			id := capturetest.Commit(t, conn, tc.stmts...)
			if got := imageOps(t, conn, id); got != tc.ops {
				t.Fatalf("images %q, want %q", got, tc.ops)
			}
			undoExactly(t, conn, id, func() string { return before }, all)
		})
	}
	// Enabling again follows the new key.
	if _, err := Enable(ctx, db, []string{"rekey"}); err != nil {
		t.Fatal(err)
	}
	var cols string
	if err := conn.QueryRow(ctx, "SELECT tgattr::text FROM pg_trigger WHERE tgrelid = 'rekey'::regclass AND tgname = 'belay_capture_key'").Scan(&cols); err != nil || cols != "2" {
		t.Fatalf("key trigger on columns %q, %v; want 2 (b)", cols, err)
	}
}

// The hold's cross-check: an update kept whole counts as updated rows, as
// PostgreSQL counts it, and every image has its size.
func TestCapturedRowsOfWholeUpdates(t *testing.T) {
	conn := wholeRowsDatabase(t)
	ctx := context.Background()
	const stats = `SELECT coalesce(json_object_agg(relname, json_build_array(n_tup_ins, n_tup_upd, n_tup_del)), '{}') FROM pg_stat_xact_user_tables`
	tx := capturetest.Begin(t, conn)
	counted := func() map[string][3]int64 {
		var m map[string][3]int64
		if err := tx.QueryRow(ctx, stats).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	base := counted()
	for _, sql := range []string{
		"UPDATE pk SET id = id + 100 WHERE id <= 3",
		"UPDATE log SET note = 'z' WHERE id = 3",
		"UPDATE acc SET id = 100 WHERE id = 1",
		"INSERT INTO pk VALUES (50, 'n')",
		"DELETE FROM log WHERE id = 2",
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	after := counted()
	rows, err := tx.Query(ctx, "SELECT table_name, coalesce(inserted, 0), coalesce(updated, 0), coalesce(deleted, 0), bytes FROM belay.captured_rows()")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][3]int64{}
	for rows.Next() {
		var table string
		var n [3]int64
		var bytes int64
		if err := rows.Scan(&table, &n[0], &n[1], &n[2], &bytes); err != nil {
			t.Fatal(err)
		}
		if bytes <= 0 {
			t.Errorf("%s: %d bytes of images", table, bytes)
		}
		got[strings.TrimPrefix(table, "public.")] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string][3]int64{"pk": {1, 3, 0}, "log": {0, 3, 1}, "acc": {0, 1, 0}, "entry": {0, 3, 0}}
	for table, n := range want {
		var pg [3]int64
		for i := range pg {
			pg[i] = after[table][i] - base[table][i]
		}
		if got[table] != n || pg != n {
			t.Errorf("%s: captured %v, PostgreSQL counted %v; want %v", table, got[table], pg, n)
		}
	}
}

// belay show and the hold's preview show an update kept whole as its old
// rows and its new rows: by key, or whole rows in a table without one.
func TestShowAndPreviewWholeRows(t *testing.T) {
	conn := wholeRowsDatabase(t)
	ctx := context.Background()
	stmts := []string{"UPDATE pk SET id = 101 WHERE id = 1", "UPDATE log SET note = 'x' WHERE id = 2"}
	tx := capturetest.Begin(t, conn, stmts...)
	var preview string
	if err := tx.QueryRow(ctx, "SELECT belay.preview(10, true)").Scan(&preview); err != nil {
		t.Fatal(err)
	}
	want := `public.pk (1) updated (old key)
public.pk (101) updated (new key)
public.log (2,"{""b"": [1, 2]}","(2,2)",b) updated (old row)
public.log (2,"{""b"": [1, 2]}","(2,2)",x) updated (new row)`
	if preview != want {
		t.Fatalf("preview:\n%s\nwant:\n%s", preview, want)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	id := capturetest.Commit(t, conn, stmts...)
	_, rows, err := Show(ctx, conn, id, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		line := r.Table + " " + r.Key + " " + r.Op + ":"
		for _, c := range r.Columns {
			line += " " + c.Name + " " + c.Old + "→" + c.New
		}
		got = append(got, line)
	}
	wantRows := []string{
		`public.pk (1) updated (old key): id 1→ note "p1"→`,
		`public.pk (101) updated (new key): id →101 note →"p1"`,
		`public.log (2,"{""b"": [1, 2]}","(2,2)",b) updated (old row): at "(2,2)"→ doc {"b":[1,2]}→ id 2→ note "b"→`,
		`public.log (2,"{""b"": [1, 2]}","(2,2)",x) updated (new row): at →"(2,2)" doc →{"b":[1,2]} id →2 note →"x"`,
	}
	if strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
		t.Fatalf("show:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
	}
}

// A table protected before version 7 gets the new triggers from the
// migration; an UPDATE trigger of before (old rows only) keeps working as
// it did.
func TestUpgradeToWholeRows(t *testing.T) {
	dsn := testpg.FreshDatabase(t)
	ctx := context.Background()
	db := openDB(t, dsn)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+Schema); err != nil {
		t.Fatal(err)
	}
	p, err := provider(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	const oldTrigger = "CREATE TRIGGER belay_capture_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION belay.capture()"
	if _, err := db.ExecContext(ctx, "CREATE TABLE before7 (id int PRIMARY KEY, note text); INSERT INTO before7 VALUES (1, 'a'); "+fmt.Sprintf(oldTrigger, "before7")); err != nil {
		t.Fatal(err)
	}
	if r, err := Init(ctx, db); err != nil || r.From != 6 {
		t.Fatalf("init from 6: %+v, %v", r, err)
	}
	var triggers string
	if err := db.QueryRowContext(ctx, "SELECT string_agg(tgname || ' ' || coalesce(tgnewtable, '-') || ' ' || tgattr::text, ', ' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'before7'::regclass").Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if triggers != "belay_capture_key - 1, belay_capture_update new_rows " {
		t.Fatalf("triggers after the migration: %q", triggers)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE old_style (id int PRIMARY KEY); INSERT INTO old_style VALUES (1); "+fmt.Sprintf(oldTrigger, "old_style")); err != nil {
		t.Fatal(err)
	}
	id := capturetest.Commit(t, conn, "UPDATE old_style SET id = 2", "UPDATE before7 SET id = 2")
	if got := imageOps(t, conn, id); got != "public.old_style U, public.before7 KN" {
		t.Fatalf("images %q", got)
	}
}
