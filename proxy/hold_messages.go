package proxy

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// SQLSTATEs of belay's hold refusals. A program can act on them: 21000
// means "not the rows you said", 54000 "more rows than allowed".
const (
	sqlstateCardinality = "21000" // cardinality_violation: expectation or LIMIT guard not met
	sqlstateRowCap      = "54000" // program_limit_exceeded: row cap
	sqlstateHoldTimeout = "25P03" // idle_in_transaction_session_timeout
	sqlstateHoldFailed  = "58000" // system_error: belay could not check the change
)

// encodeNotice builds a NoticeResponse whose message starts with "belay:".
func encodeNotice(message, detail, hint string) []byte {
	msg := &pgproto3.NoticeResponse{
		Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000",
		Message: "belay: " + message, Detail: detail, Hint: hint,
	}
	b, err := msg.Encode(nil)
	if err != nil { // only fails for fields over 1 GB
		panic(err)
	}
	return b
}

// heldNotice tells the operator a change waits for COMMIT.
func heldNotice(change string, tables []tableCount, total int64, preview string, notCaptured []string, timeout time.Duration) []byte {
	detail := "Nothing is applied until you COMMIT. Until then the changed rows stay locked for other writers."
	if len(notCaptured) > 0 {
		detail += "\nNot captured, so belay undo cannot put them back: the rows of " + strings.Join(notCaptured, ", ") + "."
	}
	if preview != "" {
		detail += "\nFirst rows:\n" + preview
	}
	return encodeNotice(
		fmt.Sprintf("change %s is held: %s changed (%s)", change, rowsWord(total), tableSummary(tables)),
		detail,
		fmt.Sprintf("COMMIT to apply, ROLLBACK to discard; belay rolls it back by itself after %s idle.", shortDuration(timeout)))
}

// quarantinedNotice tells the operator a DROP TABLE waits for COMMIT, and
// that the table is kept, not destroyed.
func quarantinedNotice(change string, tables []string, timeout time.Duration) []byte {
	return encodeNotice(
		fmt.Sprintf("change %s is held: DROP TABLE %s, kept in belay_quarantine", change, strings.Join(tables, ", ")),
		"The table, its rows and indexes are moved aside, not destroyed: belay undo brings them back, belay purge or an administrator removes them for good.",
		fmt.Sprintf("COMMIT to apply, ROLLBACK to discard; belay rolls it back by itself after %s idle.", shortDuration(timeout)))
}

// endedNotice tells how a held change ended.
func endedNotice(change string, committed, captured bool, notCaptured []string, total int64) []byte {
	if committed && captured && len(notCaptured) > 0 {
		return encodeNotice(fmt.Sprintf("change %s committed: %s applied; undo with: belay undo %s (except %s: not captured)", change, rowsWord(total), change, strings.Join(notCaptured, ", ")),
			"The captured rows' before-images are kept: belay undo puts them back. The rows of "+strings.Join(notCaptured, ", ")+" were changed without one (uncaptured: allow), and undo leaves them as they are.", "")
	}
	if committed && captured {
		return encodeNotice(fmt.Sprintf("change %s committed: %s applied; undo with: belay undo %s", change, rowsWord(total), change),
			"The rows' before-images are kept: belay undo puts them back, and reports rows others changed since.", "")
	}
	if committed {
		return encodeNotice(fmt.Sprintf("change %s committed: %s applied", change, rowsWord(total)), "", "")
	}
	return encodeNotice(fmt.Sprintf("change %s rolled back: nothing applied", change), "", "")
}

func rowsWord(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// tableSummary is "public.orders: 2 updated, public.items: 5 deleted".
func tableSummary(tables []tableCount) string {
	if len(tables) == 0 {
		return "no table rows; something else was written"
	}
	var b strings.Builder
	for i, t := range tables {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.name)
		b.WriteString(":")
		sep := " "
		for _, c := range []struct {
			n    int64
			verb string
		}{{t.inserted, "inserted"}, {t.updated, "updated"}, {t.deleted, "deleted"}} {
			if c.n > 0 {
				fmt.Fprintf(&b, "%s%d %s", sep, c.n, c.verb)
				sep = ", "
			}
		}
	}
	return b.String()
}

// shortDuration prints 2m rather than 2m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Refusals of a held change. Each says what was rolled back and how to
// get the change through.

func rowCapRefusal(rows, limit int64, tables []tableCount) *Refusal {
	return &Refusal{
		SQLState: sqlstateRowCap,
		Message:  fmt.Sprintf("row cap: the change touched %s, more than this profile's cap of %d; it was rolled back", rowsWord(rows), limit),
		Detail:   "Rows changed: " + tableSummary(tables) + ". Counted by PostgreSQL (pg_stat_xact_user_tables): triggers, foreign-key cascades and functions included.",
		Hint:     "Narrow the WHERE clause, or state the rows you mean with /* belay:expect N */ after asking for a profile with a higher row_cap.",
	}
}

func tableCapRefusal(table string, rows, limit int64, tables []tableCount) *Refusal {
	return &Refusal{
		SQLState: sqlstateRowCap,
		Message:  fmt.Sprintf("row cap: the change touched %s in %s, more than this profile's cap of %d for that table; it was rolled back", rowsWord(rows), table, limit),
		Detail:   "Rows changed: " + tableSummary(tables) + ".",
		Hint:     "Narrow the WHERE clause, or ask for a profile whose table_row_caps allow it.",
	}
}

func expectRefusal(expected, got int64, tables []tableCount) *Refusal {
	return &Refusal{
		SQLState: sqlstateCardinality,
		Message:  fmt.Sprintf("expected %s, the statement changed %d; it was rolled back", rowsWord(expected), got),
		Detail:   "Rows changed: " + tableSummary(tables) + ".",
		Hint:     "Check the WHERE clause; correct the expectation if the statement is right.",
	}
}

func limitRefusal(limit, got int64, tables []tableCount) *Refusal {
	return &Refusal{
		SQLState: sqlstateCardinality,
		Message:  fmt.Sprintf("LIMIT %d: the statement changed %d rows; it was rolled back", limit, got),
		Detail:   "belay reads UPDATE/DELETE … LIMIT n as \"at most n rows\" and ran the statement without the LIMIT. Rows changed: " + tableSummary(tables) + ".",
		Hint:     "Narrow the WHERE clause until it matches at most the rows you mean.",
	}
}

func checkFailedRefusal(e *pgError) *Refusal {
	if (e.code == "3F000" || e.code == "42883") && strings.Contains(e.message, "belay") {
		// A capturing profile in front of a database belay init never ran
		// in, or not since belay was upgraded: say so, rather than pass on
		// PostgreSQL's puzzle.
		return &Refusal{
			SQLState: sqlstateHoldFailed,
			Message:  "capture: belay's schema in this database is missing or older than this belay; the write was rolled back",
			Detail:   fmt.Sprintf("This profile keeps a before-image of every held write, in the schema belay init creates and migrates. PostgreSQL answered belay with %s: %s.", e.code, e.message),
			Hint:     "An administrator runs: belay init --database-url <this database>, which creates or migrates it (docs/capture.md) — or ask for a profile without capture.",
		}
	}
	return &Refusal{
		SQLState: sqlstateHoldFailed,
		Message:  "could not check the held change; it was rolled back",
		Detail:   fmt.Sprintf("PostgreSQL answered belay's check with %s: %s.", e.code, e.message),
		Hint:     "Run the statement again; report to the operators of belay if it persists.",
	}
}

func timeoutRefusal(change string, timeout time.Duration) *Refusal {
	return &Refusal{
		SQLState: sqlstateHoldTimeout,
		Message:  fmt.Sprintf("change %s was rolled back: no COMMIT came within the hold timeout of %s", change, shortDuration(timeout)),
		Detail:   "Nothing of the transaction was applied.",
		Hint:     "ROLLBACK to leave the failed transaction, then run the change again and COMMIT it sooner.",
	}
}

func badExpectRefusal(err error) *Refusal {
	return &Refusal{
		SQLState: "22023",
		Message:  "unreadable row expectation: " + err.Error(),
		Hint:     "Write /* belay:expect 3 */ or SET belay.expect_rows = 3 with a whole number of rows.",
	}
}

func uncapturedRefusal(t tableCount, captured int64) *Refusal {
	return &Refusal{
		SQLState: sqlstateHoldFailed,
		Message:  fmt.Sprintf("capture: %s changed in %s, %d of them captured; it was rolled back", rowsWord(t.rows()), t.name, captured),
		Detail:   "This profile keeps a before-image of every row a held write changes, so the change can be undone. The table has no capture triggers (or they were switched off), so some rows would be changed without one.",
		Hint:     "Protect the table with: belay capture enable " + t.name + " — or ask for a profile without capture.",
	}
}
