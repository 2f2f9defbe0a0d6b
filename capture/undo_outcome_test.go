package capture

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/belay-proxy/belay/internal/capturetest"
)

// Each way an undo ends is recorded by a member of belay_undo, with who,
// the plan's rows and the conflicts; nobody changes or removes a record,
// and nobody outside belay_undo adds one.
func TestRecordUndoAttempt(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	operator := testRole(t, conn, "operator", "IN ROLE belay_undo")
	outsider := testRole(t, conn, "outsider", "")
	if _, err := conn.Exec(ctx, "GRANT SELECT, INSERT, UPDATE, DELETE ON parent, child TO "+operator); err != nil {
		t.Fatal(err)
	}
	op := connectAs(t, conn, operator)

	conflicted := capturetest.Commit(t, conn, "UPDATE parent SET note = 'x' WHERE id IN (7, 8)")
	if _, err := conn.Exec(ctx, "UPDATE parent SET note = 'someone' WHERE id = 8"); err != nil {
		t.Fatal(err)
	}
	applied := capturetest.Commit(t, conn, "UPDATE parent SET note = 'y' WHERE id IN (1, 2, 3)")
	for _, tc := range []struct {
		change int64
		opts   UndoOptions
		want   UndoOutcome
	}{
		{conflicted, UndoOptions{}, UndoConflicts},
		{applied, UndoOptions{Confirm: func(Plan) bool { return false }}, UndoDeclined},
		{applied, UndoOptions{}, UndoApplied},
		{applied, UndoOptions{}, UndoFailed}, // undone already
		{999, UndoOptions{}, UndoFailed},
	} {
		plan, err := Undo(ctx, op, tc.change, tc.opts)
		if got := OutcomeOf(err); got != tc.want {
			t.Fatalf("undo %d: %v is %s, want %s", tc.change, err, got, tc.want)
		}
		if _, err := RecordUndoAttempt(ctx, op, tc.change, plan, err); err != nil {
			t.Fatalf("record %s: %v", tc.want, err)
		}
	}
	rows, err := conn.Query(ctx, "SELECT change_id, user_name, outcome, rows, conflicts FROM belay.undo_attempts ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var change, n, conflicts int64
		var user, outcome string
		if err := rows.Scan(&change, &user, &outcome, &n, &conflicts); err != nil {
			t.Fatal(err)
		}
		if user != operator {
			t.Errorf("recorded user %q, want %q", user, operator)
		}
		got = append(got, strings.Join([]string{itoa(change), outcome, itoa(n), itoa(conflicts)}, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		itoa(conflicted) + " conflicts 2 1",
		itoa(applied) + " declined 3 0",
		itoa(applied) + " applied 3 0",
		itoa(applied) + " failed 0 0",
		"999 failed 0 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("recorded:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, sql := range []string{
		"UPDATE belay.undo_attempts SET outcome = 'applied'",
		"DELETE FROM belay.undo_attempts",
		"INSERT INTO belay.undo_attempts (change_id, user_name, outcome, rows, conflicts) VALUES (1, 'x', 'applied', 0, 0)",
	} {
		if _, err := op.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("%s: %v, want permission denied", sql, err)
		}
	}
	if _, err := RecordUndoAttempt(ctx, connectAs(t, conn, outsider), applied, Plan{}, nil); err == nil || !strings.Contains(err.Error(), "42501") {
		t.Errorf("a role outside belay_undo recorded an attempt: %v", err)
	}
	if _, err := op.Exec(ctx, "SELECT belay.record_undo_attempt(1, 'maybe', 0, 0)"); err == nil || !strings.Contains(err.Error(), "23514") {
		t.Errorf("an unknown outcome: %v, want a check violation", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
