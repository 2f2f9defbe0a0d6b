package main

import (
	"context"
	"strconv"
	"testing"

	"github.com/belay-proxy/belay/internal/capturetest"
)

// belay undo records each attempt's outcome (dry runs are not attempts);
// an outcome it cannot record is a warning on stderr, and the undo's own
// exit code stands.
func TestUndoRecordsItsOutcome(t *testing.T) {
	url, conn := capturedDB(t)
	ctx := context.Background()
	id := strconv.FormatInt(capturetest.Commit(t, conn, "UPDATE t SET note = 'x' WHERE id <= 2"), 10)
	for _, tc := range []cliCase{
		{args: []string{"undo", id, "--dry-run", "--database-url", url}, code: 0, stdout: []string{"dry run"}, stderrNone: true},
		{args: []string{"undo", "999", "--yes", "--database-url", url}, code: 1, stderr: []string{"no change 999"}},
		{args: []string{"undo", id, "--yes", "--database-url", url}, code: 0, stdout: []string{"change " + id + " undone"}, stderrNone: true},
	} {
		runCLI(t, tc)
	}
	var got string
	if err := conn.QueryRow(ctx, "SELECT string_agg(format('%s %s %s %s', change_id, outcome, rows, conflicts), ', ' ORDER BY id) FROM belay.undo_attempts").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "999 failed 0 0, " + id + " applied 2 0"; got != want {
		t.Fatalf("recorded %q, want %q", got, want)
	}

	// A schema that cannot record: the undo is done all the same.
	if _, err := conn.Exec(ctx, "DROP FUNCTION belay.record_undo_attempt(bigint, text, bigint, bigint)"); err != nil {
		t.Fatal(err)
	}
	again := strconv.FormatInt(capturetest.Commit(t, conn, "UPDATE t SET note = 'y' WHERE id = 3"), 10)
	runCLI(t, cliCase{args: []string{"undo", again, "--yes", "--database-url", url}, code: 0,
		stdout: []string{"change " + again + " undone"},
		stderr: []string{"belay undo: warning: record the undo's outcome (applied)", "belay init adds belay.undo_attempts"}})
	var note string
	if err := conn.QueryRow(ctx, "SELECT note FROM t WHERE id = 3").Scan(&note); err != nil || note != "n" {
		t.Fatalf("t 3 is %q, %v; want n, undone", note, err)
	}
	runCLI(t, cliCase{args: []string{"undo", "999", "--yes", "--database-url", url}, code: 1,
		stderr: []string{"no change 999", "warning: record the undo's outcome (failed)"}})
}
