package test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The flow, with psql through configs/belay.yaml (capture on): a
// held UPDATE of three rows and its COMMIT print the undo command; belay
// undo --yes puts the rows back; after someone changes one of the rows of a
// second change, undo reports the conflict, exits non-zero and changes
// nothing.
func TestUndoThroughPsql(t *testing.T) {
	p, url := startCapturingBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong, Capture: true})
	tbl := holdTable(t, 5)
	if out, code := runBelayCLI(t, "capture", "enable", "--database-url", url, tbl); code != 0 {
		t.Fatalf("belay capture enable: exit %d\n%s", code, out)
	}
	change := func() string {
		t.Helper()
		_, errOut, err := psqlHold(t, p, "-f", writeScript(t, "UPDATE "+tbl+" SET note = 'x' WHERE id <= 3;\nCOMMIT;\n"))
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, errOut)
		}
		m := regexp.MustCompile(`committed: 3 rows applied; undo with: belay undo (\d+)`).FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("no undo command in psql's notices:\n%s", errOut)
		}
		return m[1]
	}
	notes := func() string {
		t.Helper()
		var b strings.Builder
		for id := 1; id <= 5; id++ {
			b.WriteString(noteOf(t, tbl, id))
		}
		return b.String()
	}

	id := change()
	if got := notes(); got != "xxxaa" {
		t.Fatalf("after COMMIT: %q", got)
	}
	out, code := runBelayCLI(t, "changes", "--table", tbl, "--database-url", url)
	if code != 0 || !strings.HasPrefix(out, id+"  ") || !strings.Contains(out, "public."+tbl+": 3  applied") {
		t.Fatalf("belay changes: exit %d\n%s", code, out)
	}
	out, code = runBelayCLI(t, "show", id, "--database-url", url)
	if code != 0 || !strings.Contains(out, "public."+tbl+" (1) updated\n  - note: \"a\"\n  + note: \"x\"") || !strings.Contains(out, "UPDATE "+tbl+" SET note = $1 WHERE id <= $2") {
		t.Fatalf("belay show: exit %d\n%s", code, out)
	}
	out, code = runBelayCLI(t, "undo", id, "--yes", "--database-url", url)
	if code != 0 || !strings.Contains(out, "public."+tbl+": 3 set back") || !strings.Contains(out, "change "+id+" undone") {
		t.Fatalf("belay undo %s --yes: exit %d\n%s", id, code, out)
	}
	if got := notes(); got != "aaaaa" {
		t.Fatalf("after undo: %q, want aaaaa", got)
	}

	id = change()
	directExec(t, "UPDATE "+tbl+" SET note = 'z' WHERE id = 2")
	out, code = runBelayCLI(t, "undo", id, "--yes", "--database-url", url)
	if code != 1 || !strings.Contains(out, "conflict: public."+tbl+" row (2): changed by someone else since") {
		t.Fatalf("undo over a conflict: exit %d\n%s", code, out)
	}
	if got := notes(); got != "xzxaa" {
		t.Fatalf("after a refused undo: %q, want xzxaa (nothing changed)", got)
	}
	if out, code := runBelayCLI(t, "undo", id, "--database-url", url); code != 2 || !strings.Contains(out, "--yes") {
		t.Fatalf("undo without a terminal or --yes: exit %d\n%s", code, out)
	}
}

// DROP TABLE in two steps, with psql through configs/belay.yaml: the table
// is moved aside and the change held; after COMMIT it is gone, and belay
// undo --yes brings it back with its rows and indexes.
func TestDropTableUndoThroughPsql(t *testing.T) {
	p, url := startCapturingBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong, Capture: true})
	tbl := holdTable(t, 4)
	directExec(t, "CREATE INDEX ON "+tbl+" (note)")
	stdout, errOut, err := psqlHold(t, p, "-f", writeScript(t, "DROP TABLE "+tbl+";\nCOMMIT;\n"))
	if err != nil || stdout != "DROP TABLE\nCOMMIT\n" {
		t.Fatalf("psql: %v, stdout %q\n%s", err, stdout, errOut)
	}
	requireContains(t, "psql's stderr", errOut, "is held: DROP TABLE "+tbl+", kept in belay_quarantine")
	m := regexp.MustCompile(`undo with: belay undo (\d+)`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no undo command in psql's notices:\n%s", errOut)
	}
	if n := directInt(t, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = $1", tbl); n != 0 {
		t.Fatalf("%s still in public after the DROP", tbl)
	}
	out, code := runBelayCLI(t, "undo", m[1], "--yes", "--database-url", url)
	if code != 0 {
		t.Fatalf("belay undo: exit %d\n%s", code, out)
	}
	if n := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note = 'a'"); n != 4 {
		t.Fatalf("%d rows back, want 4", n)
	}
	if n := directInt(t, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", tbl); n != 2 {
		t.Fatalf("%d indexes back, want 2", n)
	}
}

// startCapturingBelay runs belay init on the test database and starts belay
// with holdConfig(o); it returns belay and the database's URL.
func startCapturingBelay(t *testing.T, o holdConfigOpts) (*belayProc, string) {
	t.Helper()
	requireBelay(t)
	t.Parallel()
	url := upstreamDSN(upstreamDatabase)
	if out, code := runBelayCLI(t, "init", "--database-url", url); code != 0 {
		t.Fatalf("belay init: exit %d\n%s", code, out)
	}
	return startHoldBelay(t, o), url
}

// In front of a database where belay init never ran, configs/belay.yaml's
// psql session is told to run it: a held write and a DROP TABLE are
// refused with that hint, and nothing changes.
func TestCaptureNeedsInitThroughPsql(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	db := fmt.Sprintf("belay_noinit_%d", os.Getpid())
	directExec(t, "CREATE DATABASE "+db)
	t.Cleanup(func() { directExec(t, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	if _, err := connectDirect(t, db).Exec(context.Background(), "CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'a')"); err != nil {
		t.Fatal(err)
	}
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	for _, sql := range []string{"UPDATE t SET note = 'x' WHERE id = 1", "DROP TABLE t"} {
		_, errOut, err := runPsql(t, p.DSN(db, upstreamUser), "-c", sql)
		if err == nil || !strings.Contains(errOut, "belay's schema") || !strings.Contains(errOut, "belay init") {
			t.Errorf("%s: want the refusal naming belay init, got %v\n%s", sql, err, errOut)
		}
	}
	var note string
	if err := connectDirect(t, db).QueryRow(context.Background(), "SELECT note FROM t").Scan(&note); err != nil || note != "a" {
		t.Fatalf("t's row is %q (%v), want a: untouched", note, err)
	}
}

// A partitioned table through configs/belay.yaml: belay capture enable
// --schema protects the root and its partitions; a held UPDATE through
// the root that changes rows of two partitions, and one naming a
// partition, are captured (PostgreSQL counts them in the partitions), and
// belay undo puts both changes back.
func TestUndoPartitionedThroughPsql(t *testing.T) {
	p, url := startCapturingBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong, Capture: true})
	schema := tableName(t)
	directExec(t, fmt.Sprintf(`CREATE SCHEMA %[1]s;
		CREATE TABLE %[1]s.parted (id int PRIMARY KEY, note text NOT NULL) PARTITION BY RANGE (id);
		CREATE TABLE %[1]s.parted_1 PARTITION OF %[1]s.parted FOR VALUES FROM (1) TO (101);
		CREATE TABLE %[1]s.parted_2 PARTITION OF %[1]s.parted FOR VALUES FROM (101) TO (201);
		INSERT INTO %[1]s.parted SELECT g, 'a' FROM generate_series(1, 200) g`, schema))
	t.Cleanup(func() { directExec(t, "DROP SCHEMA "+schema+" CASCADE") })
	if out, code := runBelayCLI(t, "capture", "enable", "--database-url", url, "--schema", schema); code != 0 {
		t.Fatalf("belay capture enable --schema: exit %d\n%s", code, out)
	}
	parted := schema + ".parted"
	before := tablesChecksum(t, parted)
	var ids []string
	for _, sql := range []string{
		"UPDATE " + parted + " SET note = 'x' WHERE id IN (5, 150);",
		"UPDATE " + schema + ".parted_1 SET note = 'y' WHERE id = 6;",
	} {
		_, errOut, err := psqlHold(t, p, "-f", writeScript(t, sql+"\nCOMMIT;\n"))
		if err != nil {
			t.Fatalf("%s: %v\n%s", sql, err, errOut)
		}
		m := undoCommandRE.FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("%s: no undo command in psql's notices:\n%s", sql, errOut)
		}
		ids = append(ids, m[1])
	}
	if n := directInt(t, "SELECT count(*) FROM "+parted+" WHERE note <> 'a'"); n != 3 {
		t.Fatalf("%d rows changed after both COMMITs, want 3", n)
	}
	for i := len(ids) - 1; i >= 0; i-- {
		if out, code := runBelayCLI(t, "undo", ids[i], "--yes", "--database-url", url); code != 0 {
			t.Fatalf("belay undo %s: exit %d\n%s", ids[i], code, out)
		}
	}
	if tablesChecksum(t, parted) != before {
		t.Fatal("the partitioned table differs after both undos")
	}
}
