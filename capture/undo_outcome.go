package capture

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// UndoOutcome is how an undo ended, as belay.undo_attempts records it.
type UndoOutcome string

// The outcomes; belay_undo_attempts_total counts them.
const (
	UndoApplied   UndoOutcome = "applied"
	UndoConflicts UndoOutcome = "conflicts" // refused: rows changed since, and no --force
	UndoDeclined  UndoOutcome = "declined"  // the operator said no
	UndoFailed    UndoOutcome = "failed"    // anything else: no such change, expired, an error
)

// UndoOutcomes lists every outcome, for metrics that show each one.
var UndoOutcomes = []UndoOutcome{UndoApplied, UndoConflicts, UndoDeclined, UndoFailed}

// OutcomeOf is the outcome of an Undo that returned err.
func OutcomeOf(err error) UndoOutcome {
	switch {
	case err == nil:
		return UndoApplied
	case errors.Is(err, ErrConflicts):
		return UndoConflicts
	case errors.Is(err, ErrDeclined):
		return UndoDeclined
	}
	return UndoFailed
}

// RecordUndoAttempt adds the outcome of an undo of change (Undo's plan
// and error) to belay.undo_attempts, in a transaction of its own: Undo has
// committed or rolled back its own by then. Dry runs are not attempts;
// callers leave them out. conn's role needs membership in belay_undo.
func RecordUndoAttempt(ctx context.Context, conn *pgx.Conn, change int64, plan Plan, undoErr error) (int64, error) {
	var rows int64
	for _, t := range plan.Tables {
		rows += t.Restore + t.Reinsert + t.Remove
	}
	outcome := OutcomeOf(undoErr)
	var id int64
	err := conn.QueryRow(ctx, "SELECT belay.record_undo_attempt($1, $2, $3, $4)", change, string(outcome), rows, int64(len(plan.Conflicts))).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record the undo's outcome (%s): %w", outcome, err)
	}
	return id, nil
}
