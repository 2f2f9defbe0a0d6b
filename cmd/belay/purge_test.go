package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/capturetest"
	"github.com/belay-proxy/belay/internal/testpg"
)

// capturedDB is a fresh database after belay init, with a table t under
// capture, and an admin connection to it.
func capturedDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	url := testpg.FreshDatabase(t)
	for _, args := range [][]string{{"init", "--database-url", url}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, &stderr)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t SELECT g, 'n' FROM generate_series(1, 5) g"); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"capture", "enable", "--database-url", url, "t"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("capture enable: exit %d: %s", code, &stderr)
	}
	return url, conn
}

// ageChange makes a change look days old.
func ageChange(t *testing.T, conn *pgx.Conn, change int64, days int) {
	t.Helper()
	for _, table := range []string{"belay.changes", "belay.row_images", "belay.quarantined"} {
		if _, err := conn.Exec(context.Background(), "UPDATE "+table+" SET created_at = now() - make_interval(days => $2) WHERE xid = (SELECT xid FROM belay.changes WHERE id = $1)", change, days); err != nil {
			t.Fatal(err)
		}
	}
}

// belay purge takes its retention from --older-than, else the file's
// capture.retention, else 30d, and says which; it drops quarantined
// tables too, lists those it could not drop with PostgreSQL's reason, and
// exits 1 for them after doing the rest.
func TestPurgeCommand(t *testing.T) {
	url, conn := capturedDB(t)
	ctx := context.Background()
	twelveHours := writeFile(t, "retention.yaml", "capture:\n  retention: 12h\n")
	noRetention := writeFile(t, "plain.yaml", "log:\n  level: info\n")
	badRetention := writeFile(t, "bad.yaml", "capture:\n  retention: soon\n")
	for _, tc := range []cliCase{
		{name: "default", args: []string{"purge", "--database-url", url}, code: 0,
			stdout: []string{"retention 30d, the default (no --older-than, no --config)", "older than 30d"}},
		{name: "file", args: []string{"purge", "--database-url", url, "--config", twelveHours}, code: 0,
			stdout: []string{"retention 12h, from capture.retention in " + twelveHours, "older than 12h"}},
		{name: "file without the key", args: []string{"purge", "--database-url", url, "-c", noRetention}, code: 0,
			stdout: []string{"retention 30d, the default (" + noRetention + " sets no capture.retention)"}},
		{name: "flag wins", args: []string{"purge", "--database-url", url, "--config", twelveHours, "--older-than", "90m"}, code: 0,
			stdout: []string{"retention 90m, from --older-than", "older than 90m"}},
		{name: "bad file", args: []string{"purge", "--database-url", url, "--config", badRetention}, code: 1, noStdout: true,
			stderr: []string{badRetention + ": line 2, column 3: capture.retention"}},
		{name: "bad flag", args: []string{"purge", "--database-url", url, "--older-than", "soon"}, code: 2, noStdout: true,
			stderr: []string{`"soon" is not a duration`}},
	} {
		t.Run(tc.name, func(t *testing.T) { runCLI(t, tc) })
	}

	if _, err := conn.Exec(ctx, "CREATE TABLE dropped (id int); CREATE TABLE kept (id int); CREATE VIEW kept_view AS SELECT * FROM kept"); err != nil {
		t.Fatal(err)
	}
	dropped := capturetest.Commit(t, conn, "UPDATE t SET note = 'x' WHERE id = 1", "SELECT belay.quarantine('dropped')")
	kept := capturetest.Commit(t, conn, "UPDATE t SET note = 'y' WHERE id = 2", "SELECT belay.quarantine('kept')")
	ageChange(t, conn, dropped, 40)
	ageChange(t, conn, kept, 40)
	runCLI(t, cliCase{args: []string{"purge", "--database-url", url}, code: 1,
		stdout: []string{"purged 1 image tables (1 rows), dropped 1 quarantined tables; 1 changes older than 30d can no longer be undone"},
		stderr: []string{"belay purge: 1 quarantined tables not dropped", "public.kept (belay_quarantine.kept_", "SQLSTATE 2BP01"}})
	runCLI(t, cliCase{args: []string{"undo", strconv.FormatInt(dropped, 10), "--yes", "--database-url", url}, code: 1,
		stderr: []string{"can no longer be undone"}})
}
