package test

// Holds through pgx: every exec mode and batches, on both relays. What a
// held change did is always checked directly on PostgreSQL.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// heldNoticeRE matches belay's NOTICE for a held change and captures the
// change's id (the transaction id).
var heldNoticeRE = regexp.MustCompile(`^belay: change (\d+) is held: `)

// requireHeldNotice checks that exactly one belay notice came, that it
// announces a held change of rows rows with summary (e.g. "public.t: 1
// updated"), and returns the change's id and the notice's hint.
func requireHeldNotice(t *testing.T, log *noticeLog, rows int, summary string) (xid, hint string) {
	t.Helper()
	ns := log.belayNotices()
	if len(ns) != 1 {
		t.Fatalf("want one belay notice (the change is held), got %s", describeNotices(ns))
	}
	n := ns[0]
	m := heldNoticeRE.FindStringSubmatch(n.Message)
	rowsText := fmt.Sprintf("%d rows", rows)
	if rows == 1 {
		rowsText = "1 row"
	}
	want := fmt.Sprintf("is held: %s changed (%s)", rowsText, summary)
	if m == nil || n.Severity != "NOTICE" || !strings.HasSuffix(n.Message, want) {
		t.Fatalf("notice %q (%s), want NOTICE \"belay: change <xid> %s\"", n.Message, n.Severity, want)
	}
	if !strings.HasPrefix(n.Hint, "COMMIT to apply, ROLLBACK to discard; belay rolls it back by itself after ") {
		t.Fatalf("notice hint %q does not say COMMIT to apply", n.Hint)
	}
	return m[1], n.Hint
}

// requireEndNotice checks that exactly one belay notice came, saying the
// change xid ended with text (e.g. "committed: 1 row applied").
func requireEndNotice(t *testing.T, log *noticeLog, xid, text string) {
	t.Helper()
	ns := log.belayNotices()
	want := "belay: change " + xid + " " + text
	if len(ns) != 1 || ns[0].Message != want {
		t.Fatalf("want the notice %q, got %s", want, describeNotices(ns))
	}
}

// requireNoBelayNotice checks that no belay notice came.
func requireNoBelayNotice(t *testing.T, log *noticeLog, when string) {
	t.Helper()
	if ns := log.belayNotices(); len(ns) != 0 {
		t.Fatalf("%s: want no belay notice, got %s", when, describeNotices(ns))
	}
}

// requireStatus checks the transaction status of the last ReadyForQuery.
func requireStatus(t *testing.T, conn *pgx.Conn, want byte, when string) {
	t.Helper()
	if got := conn.PgConn().TxStatus(); got != want {
		t.Fatalf("%s: transaction status %q, want %q", when, got, want)
	}
}

// requirePgError checks that err is PostgreSQL's (or belay's) error with
// code and a message starting with prefix.
func requirePgError(t *testing.T, err error, code, prefix string) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code || !strings.HasPrefix(pe.Message, prefix) {
		t.Fatalf("want error %s %q…, got %v", code, prefix, errText(err))
	}
	return pe
}

// txControl sends COMMIT or ROLLBACK in the connection's exec mode
// (Exec would always use the simple protocol for a statement without
// arguments).
func txControl(ctx context.Context, conn *pgx.Conn, sql string) error {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// execTag runs a statement with arguments (so that extended modes use the
// extended protocol) and checks its command tag.
func execTag(ctx context.Context, t *testing.T, conn *pgx.Conn, wantTag, sql string, args ...any) {
	t.Helper()
	tag, err := conn.Exec(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, errText(err))
	}
	if tag.String() != wantTag {
		t.Fatalf("%s: tag %q, want %q", sql, tag, wantTag)
	}
}

// TestHoldPgxModes: in every exec mode and on both relays, a write is
// held (status T, NOTICE, nothing on PostgreSQL), ROLLBACK discards it,
// COMMIT applies it; consecutive holds are counted each on its own; the
// row cap rolls back at once (54000, status I) and, inside a held
// transaction, leaves a failed one that ROLLBACK clears; an expectation
// that is not met rolls back (21000).
func TestHoldPgxModes(t *testing.T) {
	eachRelayAndMode(t, holdPgxMode)
}

// eachRelayAndMode runs test in parallel on both relays (one belay each)
// and in every pgx exec mode.
func eachRelayAndMode(t *testing.T, test func(*testing.T, *belayProc, pgx.QueryExecMode)) {
	requireBelay(t)
	t.Parallel()
	for _, relay := range relays {
		t.Run(relay.name, func(t *testing.T) {
			t.Parallel()
			p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong, NoEventLoop: relay.noEventLoop})
			for _, mode := range execModes {
				t.Run(mode.String(), func(t *testing.T) {
					t.Parallel()
					test(t, p, mode)
				})
			}
		})
	}
}

func holdPgxMode(t *testing.T, p *belayProc, mode pgx.QueryExecMode) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := holdTable(t, 2000)
	conn, log := holdConn(t, p, mode)
	summary1 := "public." + tbl + ": 1 updated"
	upd := "UPDATE " + tbl + " SET note = $1 WHERE id = $2"

	// Held, then rolled back.
	execTag(ctx, t, conn, "UPDATE 1", upd, "rolled back", 1)
	xid, _ := requireHeldNotice(t, log, 1, summary1)
	requireStatus(t, conn, 'T', "after a held UPDATE")
	if got := noteOf(t, tbl, 1); got != "a" {
		t.Fatalf("row 1 is %q on PostgreSQL while held, want a", got)
	}
	// A second write joins the held transaction: the NOTICE counts both.
	execTag(ctx, t, conn, "UPDATE 1", upd, "rolled back", 2)
	xid2, _ := requireHeldNotice(t, log, 2, "public."+tbl+": 2 updated")
	if xid2 != xid {
		t.Fatalf("the second write is change %s, want the held change %s", xid2, xid)
	}
	requireStatus(t, conn, 'T', "after a second held UPDATE")
	// The session sees its own change.
	var seen string
	if err := conn.QueryRow(ctx, "SELECT note FROM "+tbl+" WHERE id = $1", 1).Scan(&seen); err != nil || seen != "rolled back" {
		t.Fatalf("the session reads %q, %v inside its hold; want its own change", seen, err)
	}
	if err := txControl(ctx, conn, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	requireEndNotice(t, log, xid, "rolled back: nothing applied")
	requireStatus(t, conn, 'I', "after ROLLBACK")
	requireUnlocked(t, tbl, 1)
	if n := notesNot(t, tbl); n != 0 {
		t.Fatalf("%d rows changed after ROLLBACK, want 0", n)
	}

	// Held, then committed: with the simple protocol's COMMIT, then in
	// the connection's mode.
	for i, commit := range []func() error{
		func() error { _, err := conn.Exec(ctx, "COMMIT"); return err },
		func() error { return txControl(ctx, conn, "COMMIT") },
	} {
		id := 2 + i
		execTag(ctx, t, conn, "UPDATE 1", upd, "committed", id)
		xid, _ = requireHeldNotice(t, log, 1, summary1)
		requireStatus(t, conn, 'T', "after a held UPDATE")
		if err := commit(); err != nil {
			t.Fatalf("COMMIT: %v", errText(err))
		}
		requireEndNotice(t, log, xid, "committed: 1 row applied")
		requireStatus(t, conn, 'I', "after COMMIT")
		if got := noteOf(t, tbl, id); got != "committed" {
			t.Fatalf("row %d is %q after COMMIT, want committed", id, got)
		}
	}

	// Two holds of 600 rows one after the other: each is counted alone
	// (PostgreSQL's counters still hold the first when the second runs).
	for _, lo := range []int{401, 1001} {
		execTag(ctx, t, conn, "UPDATE 600", "UPDATE "+tbl+" SET note = $1 WHERE id BETWEEN $2 AND $3", "batch", lo, lo+599)
		xid, _ = requireHeldNotice(t, log, 600, "public."+tbl+": 600 updated")
		if err := txControl(ctx, conn, "COMMIT"); err != nil {
			t.Fatalf("COMMIT of 600 rows from %d: %v", lo, errText(err))
		}
		requireEndNotice(t, log, xid, "committed: 600 rows applied")
	}
	if n := notesNot(t, tbl); n != 2+1200 {
		t.Fatalf("%d rows changed on PostgreSQL, want %d", n, 2+1200)
	}

	// Over the row cap: rolled back at once.
	_, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = $1 WHERE id > $2", "cap", 0)
	pe := requirePgError(t, err, "54000", "belay: row cap: the change touched 2000 rows, more than this profile's cap of 1000; it was rolled back")
	if !strings.Contains(pe.Detail, "public."+tbl+": 2000 updated") {
		t.Fatalf("row cap detail %q does not name the table's 2000 rows", pe.Detail)
	}
	requireStatus(t, conn, 'I', "after the row cap (belay opened the transaction)")
	requireNoBelayNotice(t, log, "row cap")
	if n := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note = 'cap'"); n != 0 {
		t.Fatalf("%d rows of the capped UPDATE landed", n)
	}
	requireUnlocked(t, tbl, 2000)

	// Over the cap inside a held transaction: failed, ROLLBACK clears it
	// and nothing of the transaction lands.
	execTag(ctx, t, conn, "UPDATE 1", upd, "first", 10)
	requireHeldNotice(t, log, 1, summary1)
	_, err = conn.Exec(ctx, "UPDATE "+tbl+" SET note = $1 WHERE id > $2", "second", 500)
	requirePgError(t, err, "54000", "belay: row cap: the change touched 1501 rows")
	requireStatus(t, conn, 'E', "after the row cap in a held transaction")
	var one int
	if err := conn.QueryRow(ctx, "SELECT $1::int", 1).Scan(&one); sqlState(err) != "25P02" {
		t.Fatalf("a statement in the failed transaction: %v, want 25P02", errText(err))
	}
	if err := txControl(ctx, conn, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	requireStatus(t, conn, 'I', "after ROLLBACK of the failed transaction")
	if n := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note IN ('first', 'second')"); n != 0 {
		t.Fatalf("%d rows of the failed transaction landed", n)
	}

	// An expectation that is not met.
	_, err = conn.Exec(ctx, "/* belay:expect 2 */ UPDATE "+tbl+" SET note = $1 WHERE id = ANY($2)", "expect", []int32{20, 21, 22})
	requirePgError(t, err, "21000", "belay: expected 2 rows, the statement changed 3; it was rolled back")
	requireStatus(t, conn, 'I', "after the expectation failed")
	if n := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note = 'expect'"); n != 0 {
		t.Fatalf("%d rows of the refused UPDATE landed", n)
	}
	// The session is usable, and held nothing.
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+tbl+" WHERE id <= $1", 5).Scan(&one); err != nil || one != 5 {
		t.Fatalf("a read after the refusals: %d, %v", one, err)
	}
	requireStatus(t, conn, 'I', "after a read")
	requireNoBelayNotice(t, log, "a read")
}

// TestHoldPgxBatch: a batch that writes is held as a whole (status T,
// one NOTICE), COMMIT applies it; a batch over the row cap fails with
// 54000 and nothing lands.
func TestHoldPgxBatch(t *testing.T) {
	eachRelayAndMode(t, holdPgxBatch)
}

func holdPgxBatch(t *testing.T, p *belayProc, mode pgx.QueryExecMode) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := holdTable(t, 2000)
	conn, log := holdConn(t, p, mode)

	b := &pgx.Batch{}
	b.Queue("UPDATE "+tbl+" SET note = $1 WHERE id = $2", "batch", 1)
	b.Queue("SELECT count(*) FROM " + tbl)
	b.Queue("UPDATE "+tbl+" SET note = $1 WHERE id = $2", "batch", 2)
	br := conn.SendBatch(ctx, b)
	if tag, err := br.Exec(); err != nil || tag.String() != "UPDATE 1" {
		t.Fatalf("first UPDATE: %q, %v", tag, errText(err))
	}
	var n int
	if err := br.QueryRow().Scan(&n); err != nil || n != 2000 {
		t.Fatalf("SELECT in the batch: %d, %v", n, err)
	}
	if tag, err := br.Exec(); err != nil || tag.String() != "UPDATE 1" {
		t.Fatalf("second UPDATE: %q, %v", tag, errText(err))
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	xid, _ := requireHeldNotice(t, log, 2, "public."+tbl+": 2 updated")
	requireStatus(t, conn, 'T', "after a held batch")
	if c := notesNot(t, tbl); c != 0 {
		t.Fatalf("%d rows on PostgreSQL while the batch is held", c)
	}
	if err := txControl(ctx, conn, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	requireEndNotice(t, log, xid, "committed: 2 rows applied")
	requireStatus(t, conn, 'I', "after COMMIT")
	if c := notesNot(t, tbl); c != 2 {
		t.Fatalf("%d rows changed after COMMIT, want 2", c)
	}

	// Over the cap in a batch: the batch fails, nothing lands.
	b = &pgx.Batch{}
	b.Queue("UPDATE "+tbl+" SET note = $1 WHERE id BETWEEN $2 AND $3", "cap", 3, 1000)
	b.Queue("UPDATE "+tbl+" SET note = $1 WHERE id BETWEEN $2 AND $3", "cap", 1001, 2000)
	err := conn.SendBatch(ctx, b).Close()
	requirePgError(t, err, "54000", "belay: row cap: the change touched 1998 rows")
	requireStatus(t, conn, 'I', "after the batch over the cap")
	requireNoBelayNotice(t, log, "batch over the cap")
	if c := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note = 'cap'"); c != 0 {
		t.Fatalf("%d rows of the capped batch landed", c)
	}
	requireUnlocked(t, tbl, 1500)

	// A held batch, then ROLLBACK.
	b = &pgx.Batch{}
	b.Queue("DELETE FROM "+tbl+" WHERE id = $1", 5)
	b.Queue("INSERT INTO "+tbl+" VALUES ($1, $2)", 5000, "new")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(errText(err))
	}
	xid, _ = requireHeldNotice(t, log, 2, "public."+tbl+": 1 inserted, 1 deleted")
	requireStatus(t, conn, 'T', "after a held batch")
	if err := txControl(ctx, conn, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	requireEndNotice(t, log, xid, "rolled back: nothing applied")
	if c := directInt(t, "SELECT count(*) FROM "+tbl); c != 2000 {
		t.Fatalf("%d rows after ROLLBACK of a DELETE and an INSERT, want 2000", c)
	}
}

// TestHoldPgxWriteAndCommitInOneRequest: a write and its COMMIT sent in
// one request would apply the write before belay could count it; belay
// refuses the request (25000) and nothing lands, whether it is one query
// string or one batch (one request up to its Sync), however many rows the
// write changes.
func TestHoldPgxWriteAndCommitInOneRequest(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	for _, mode := range execModes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tbl := holdTable(t, 2000)
			conn, log := holdConn(t, p, mode)

			_, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = 'one string' WHERE id = 1; COMMIT")
			requirePgError(t, err, "25000", "belay: hold: a write and its COMMIT in one request")
			requireStatus(t, conn, 'I', "after the refusal")
			if n := notesNot(t, tbl); n != 0 {
				t.Fatalf("%d rows of the refused string landed", n)
			}

			// The same in one batch: a write within the cap, then one over it.
			var bugs []string
			for _, c := range []struct {
				where string
				rows  int
			}{{"id = 2", 1}, {"id > 0", 2000}} {
				log.take()
				b := &pgx.Batch{}
				b.Queue("UPDATE "+tbl+" SET note = $1 WHERE "+c.where+" AND $2::int > 0", "one batch", 1)
				b.Queue("COMMIT")
				err := conn.SendBatch(ctx, b).Close()
				status := conn.PgConn().TxStatus()
				ns := log.belayNotices()
				landed := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note = 'one batch'")
				// Leave no held transaction behind for the next case.
				_, rbErr := conn.Exec(ctx, "ROLLBACK")
				ns = append(ns, log.belayNotices()...)
				if landed > 0 {
					bugs = append(bugs, fmt.Sprintf("batch [UPDATE of %d rows, COMMIT]: %d rows committed on PostgreSQL; "+
						"the batch returned %v, status %q, notices %s; a ROLLBACK after it returned %v",
						c.rows, landed, errText(err), status, describeNotices(ns), rbErr))
					directExec(t, "UPDATE "+tbl+" SET note = 'a'")
					continue
				}
				requirePgError(t, err, "25000", "belay: hold: a write and its COMMIT in one request")
			}
			if len(bugs) > 0 {
				t.Fatalf("exec mode %v: a write and its COMMIT in one extended batch are not refused (want 25000, nothing applied):\n%s",
					mode, strings.Join(bugs, "\n"))
			}
		})
	}
}

// TestHoldPgxOwnTransaction: in a transaction the client opened itself
// nothing is held and no NOTICE comes, but the row cap counts the whole
// transaction.
func TestHoldPgxOwnTransaction(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tbl := holdTable(t, 2000)
			conn, log := holdConn(t, p, mode)

			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			execTag(ctx, t, conn, "UPDATE 1", "UPDATE "+tbl+" SET note = $1 WHERE id = $2", "own", 1)
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			requireNoBelayNotice(t, log, "a write in the client's own transaction")
			if got := noteOf(t, tbl, 1); got != "own" {
				t.Fatalf("row 1 is %q after the client's COMMIT, want own", got)
			}

			tx, err = conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			execTag(ctx, t, conn, "UPDATE 600", "UPDATE "+tbl+" SET note = $1 WHERE id BETWEEN $2 AND $3", "own cap", 101, 700)
			requireNoBelayNotice(t, log, "600 rows in the client's own transaction")
			requireStatus(t, conn, 'T', "in the client's transaction")
			_, err = conn.Exec(ctx, "UPDATE "+tbl+" SET note = $1 WHERE id BETWEEN $2 AND $3", "own cap", 701, 1300)
			requirePgError(t, err, "54000", "belay: row cap: the change touched 1200 rows")
			requireStatus(t, conn, 'E', "after the row cap in the client's transaction")
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			requireStatus(t, conn, 'I', "after ROLLBACK")
			if n := notesNot(t, tbl); n != 1 {
				t.Fatalf("%d rows changed, want 1 (the capped transaction rolled back)", n)
			}
		})
	}
}

// TestHoldPgxTimeout: a hold left idle for hold_timeout is rolled back by
// belay (its row unlocked, nothing applied); the next statement gets
// 25P03 in a failed transaction, which ROLLBACK clears.
func TestHoldPgxTimeout(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	for _, relay := range relays {
		t.Run(relay.name, func(t *testing.T) {
			t.Parallel()
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
				t.Run(mode.String(), func(t *testing.T) {
					t.Parallel()
					// Each its own belay: the metrics are the test's.
					p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutShort, NoEventLoop: relay.noEventLoop})
					holdPgxTimeout(t, p, mode)
				})
			}
		})
	}
}

func holdPgxTimeout(t *testing.T, p *belayProc, mode pgx.QueryExecMode) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := holdTable(t, 10)
	conn, log := holdConn(t, p, mode)
	// Prepared before the hold, so the cached modes Bind a known
	// statement after the timeout.
	var one int
	if err := conn.QueryRow(ctx, "SELECT $1::int", 1).Scan(&one); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	execTag(ctx, t, conn, "UPDATE 1", "UPDATE "+tbl+" SET note = $1 WHERE id = $2", "timed out", 1)
	xid, hint := requireHeldNotice(t, log, 1, "public."+tbl+": 1 updated")
	if !strings.HasSuffix(hint, "after 2s idle.") {
		t.Fatalf("the notice's hint %q does not name the hold timeout of 2s", hint)
	}
	waitMetric(t, p, holdsOutcome("timeout"), 1, 10*time.Second)
	if took := time.Since(start); took < 2*time.Second-100*time.Millisecond {
		t.Fatalf("the hold was rolled back after %v, before its timeout of 2s", took)
	}
	waitMetric(t, p, "belay_holds_open", 0, time.Second)
	requireUnlocked(t, tbl, 1)
	if got := noteOf(t, tbl, 1); got != "a" {
		t.Fatalf("row 1 is %q after the timeout, want a", got)
	}

	err := conn.QueryRow(ctx, "SELECT $1::int", 2).Scan(&one)
	pe := requirePgError(t, err, "25P03", "belay: change "+xid+" was rolled back: no COMMIT came within the hold timeout of 2s")
	if pe.Hint == "" {
		t.Fatalf("the timeout error has no hint")
	}
	requireStatus(t, conn, 'E', "after the timeout was reported")
	if err := conn.QueryRow(ctx, "SELECT $1::int", 3).Scan(&one); sqlState(err) != "25P02" {
		t.Fatalf("the next statement: %v, want 25P02 (in a failed transaction)", errText(err))
	}
	if err := txControl(ctx, conn, "ROLLBACK"); err != nil {
		t.Fatal(errText(err))
	}
	requireStatus(t, conn, 'I', "after ROLLBACK")
	if err := conn.QueryRow(ctx, "SELECT $1::int", 4).Scan(&one); err != nil || one != 4 {
		t.Fatalf("after ROLLBACK: %d, %v", one, err)
	}
	if got := noteOf(t, tbl, 1); got != "a" {
		t.Fatalf("row 1 is %q, want a", got)
	}

	// A hold that times out, and ROLLBACK as the next statement: it
	// clears the failed transaction at once (the ROLLBACK the error's
	// hint asks for). In the cached modes this ROLLBACK is a Bind of the
	// statement prepared above.
	execTag(ctx, t, conn, "UPDATE 1", "UPDATE "+tbl+" SET note = $1 WHERE id = $2", "timed out", 2)
	requireHeldNotice(t, log, 1, "public."+tbl+": 1 updated")
	waitMetric(t, p, holdsOutcome("timeout"), 2, 10*time.Second)
	rbErr := txControl(ctx, conn, "ROLLBACK")
	status := conn.PgConn().TxStatus()
	if rbErr != nil || status != 'I' {
		if sqlState(rbErr) == "25P03" && mode == pgx.QueryExecModeCacheStatement {
			again := txControl(ctx, conn, "ROLLBACK")
			t.Fatalf("in exec mode %v (ROLLBACK prepared as a named statement, sent as Bind/Execute/Sync) the first ROLLBACK "+
				"after a hold timed out is answered with the 25P03 timeout error instead of running (status %q after it); "+
				"the same ROLLBACK as a simple Query or a Parse clears the failed transaction at once: %v; "+
				"a second ROLLBACK then returned %v, status %q",
				mode, status, errText(rbErr), again, conn.PgConn().TxStatus())
		}
		t.Fatalf("ROLLBACK as the first statement after the timeout: %v, status %q; want it to succeed, status I", errText(rbErr), status)
	}
	if n := notesNot(t, tbl); n != 0 {
		t.Fatalf("%d rows changed, want 0", n)
	}
}

// TestHoldPgxTimeoutThenCommit: the operator who sends COMMIT after the
// hold timed out is told that the change was rolled back: the COMMIT gets
// the 25P03 error (the first statement after the timeout does), and
// nothing is applied.
func TestHoldPgxTimeoutThenCommit(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutShort})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := holdTable(t, 3)
	conn, log := holdConn(t, p, pgx.QueryExecModeSimpleProtocol)
	execTag(ctx, t, conn, "UPDATE 1", "UPDATE "+tbl+" SET note = $1 WHERE id = $2", "late", 1)
	xid, _ := requireHeldNotice(t, log, 1, "public."+tbl+": 1 updated")
	waitMetric(t, p, holdsOutcome("timeout"), 1, 10*time.Second)

	tag, err := conn.Exec(ctx, "COMMIT")
	if got := noteOf(t, tbl, 1); got != "a" {
		t.Fatalf("row 1 is %q after COMMIT of a timed-out hold, want a", got)
	}
	if err == nil {
		t.Fatalf("COMMIT as the first statement after hold %s timed out gets no 25P03 error: it is relayed to the "+
			"failed transaction and PostgreSQL answers with the tag %q and no error; belay sends no notice %s, so the "+
			"operator who meant to apply the change is not told belay rolled it back (status %q)",
			xid, tag, describeNotices(log.belayNotices()), conn.PgConn().TxStatus())
	}
	requirePgError(t, err, "25P03", "belay: change "+xid+" was rolled back: no COMMIT came within the hold timeout of 2s")
}

// TestHoldPgxPipeline: requests pipelined without waiting (three Syncs in
// flight) are run one at a time: each gets its own answer in order; a
// request over the cap is rolled back alone and the next is held.
func TestHoldPgxPipeline(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	for _, relay := range relays {
		t.Run(relay.name, func(t *testing.T) {
			t.Parallel()
			p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong, NoEventLoop: relay.noEventLoop})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tbl := holdTable(t, 2000)
			conn, log := holdConn(t, p, pgx.QueryExecModeExec)

			pl := conn.PgConn().StartPipeline(ctx)
			for _, sql := range []string{
				"UPDATE " + tbl + " SET note = 'cap' WHERE id > $1",
				"UPDATE " + tbl + " SET note = 'p' WHERE id = $1 + 1",
				"UPDATE " + tbl + " SET note = 'p' WHERE id = $1 + 2",
				"SELECT count(*)::text FROM " + tbl + " WHERE note = 'p' AND id > $1",
			} {
				pl.SendQueryParams(sql, [][]byte{[]byte("0")}, nil, nil, nil)
				pl.SendPipelineSync()
			}
			if err := pl.Flush(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for syncs := 0; syncs < 4 && len(got) < 12; {
				res, err := pl.GetResults()
				if err != nil {
					got = append(got, "error "+sqlState(err))
					continue
				}
				switch r := res.(type) {
				case nil:
					got = append(got, "end")
				case *pgconn.ResultReader:
					rr := r.Read()
					s := rr.CommandTag.String()
					if rr.Err != nil {
						s = sqlState(rr.Err)
					}
					for _, row := range rr.Rows {
						s += " " + string(row[0])
					}
					got = append(got, s)
				case *pgconn.PipelineSync:
					got = append(got, "sync")
					syncs++
				default:
					t.Fatalf("after %q: unexpected %T", got, res)
				}
			}
			if err := pl.Close(); err != nil {
				t.Fatal(err)
			}
			// The row cap's error follows the UPDATE's CommandComplete, as
			// PostgreSQL's own error at the Sync that commits an implicit
			// transaction (a deferred constraint) does: pgconn returns it
			// in the Sync's place.
			want := []string{"UPDATE 2000", "error 54000", "sync", "UPDATE 1", "sync", "UPDATE 1", "sync", "SELECT 1 2", "sync"}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Fatalf("pipelined answers %q, want %q", got, want)
			}
			requireStatus(t, conn, 'T', "after the pipeline")
			ns := log.belayNotices()
			if len(ns) != 2 || !strings.Contains(ns[0].Message, " is held: 1 row changed") || !strings.Contains(ns[1].Message, " is held: 2 rows changed") {
				t.Fatalf("want two held notices (1 row, then 2), got %s", describeNotices(ns))
			}
			if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
				t.Fatal(err)
			}
			if n, capped := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note = 'p'"), directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note = 'cap'"); n != 2 || capped != 0 {
				t.Fatalf("%d rows p and %d rows cap after COMMIT, want 2 and 0", n, capped)
			}
		})
	}
}

// TestHoldPgxDisconnect: a client that goes away with a held change
// leaves nothing behind; the hold is counted as a disconnect.
func TestHoldPgxDisconnect(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := holdTable(t, 10)
	conn, log := holdConn(t, p, pgx.QueryExecModeCacheStatement)
	pid := holdBackendPID(t, conn)
	execTag(ctx, t, conn, "DELETE 3", "DELETE FROM "+tbl+" WHERE id <= $1", 3)
	requireHeldNotice(t, log, 3, "public."+tbl+": 3 deleted")
	waitMetric(t, p, "belay_holds_open", 1, 5*time.Second)

	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitBackendGone(t, upstreamDSN(upstreamDatabase), pid, 10*time.Second)
	if n := directInt(t, "SELECT count(*) FROM "+tbl); n != 10 {
		t.Fatalf("%d rows after the client left with its DELETE held, want 10", n)
	}
	requireUnlocked(t, tbl, 1)
	waitMetric(t, p, holdsOutcome("disconnect"), 1, 5*time.Second)
	waitMetric(t, p, "belay_holds_open", 0, time.Second)
	body := metricsBody(t, p)
	if v := metricValue(body, "belay_hold_rows_count"); v != 1 {
		t.Errorf("belay_hold_rows_count %v, want 1 (one hold ended)", v)
	}
	if v := metricValue(body, "belay_hold_rows_sum"); v != 3 {
		t.Errorf("belay_hold_rows_sum %v, want 3", v)
	}
	if v := metricValue(body, "belay_hold_duration_seconds_count"); v != 1 {
		t.Errorf("belay_hold_duration_seconds_count %v, want 1", v)
	}
}

// TestHoldMetricsOutcomes: each way a hold ends is counted.
func TestHoldMetricsOutcomes(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := holdTable(t, 2000)
	conn, _ := holdConn(t, p, pgx.QueryExecModeSimpleProtocol)
	run := func(sql string) error { _, err := conn.Exec(ctx, sql); return err }
	steps := []struct {
		sql  string
		code string
	}{
		{"UPDATE " + tbl + " SET note = 'c' WHERE id = 1", ""},
		{"COMMIT", ""},
		{"UPDATE " + tbl + " SET note = 'r' WHERE id = 2", ""},
		{"ROLLBACK", ""},
		{"UPDATE " + tbl + " SET note = 'cap' WHERE id > 0", "54000"},
		{"/* belay:expect 1 */ UPDATE " + tbl + " SET note = 'e' WHERE id IN (3, 4)", "21000"},
		{"UPDATE " + tbl + " SET note = 'l' WHERE id IN (5, 6) LIMIT 1", "21000"},
	}
	for _, s := range steps {
		if err := run(s.sql); sqlState(err) != s.code || (s.code == "" && err != nil) {
			t.Fatalf("%s: %v, want %q", s.sql, errText(err), s.code)
		}
	}
	body := metricsBody(t, p)
	for outcome, want := range map[string]float64{"committed": 1, "rolled_back": 1, "cap": 1, "expect": 1, "limit": 1} {
		if got := metricValue(body, holdsOutcome(outcome)); got != want {
			t.Errorf("%s = %v, want %v", holdsOutcome(outcome), got, want)
		}
	}
	if got := metricValue(body, "belay_holds_open"); got != 0 {
		t.Errorf("belay_holds_open = %v, want 0", got)
	}
	if t.Failed() {
		t.Logf("hold metrics:\n%s", grepLines(body, "belay_hold"))
	}
	if n := notesNot(t, tbl); n != 1 {
		t.Fatalf("%d rows changed, want 1 (only the committed one)", n)
	}
}

// TestHoldApplicationsNotHeld: sessions of the applications profile (no
// application_name of an interactive tool) are never held: a write is
// applied at once, at any size, with no NOTICE.
func TestHoldApplicationsNotHeld(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := holdTable(t, 2000)
	log := &noticeLog{}
	conn := connectWith(t, p.DSN(upstreamDatabase, upstreamUser), func(c *pgx.ConnConfig) {
		c.OnNotice = log.add // and no application_name
	})
	for _, mode := range execModes {
		tag, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = $1 WHERE id = $2", mode, mode.String(), 1)
		if err != nil || tag.String() != "UPDATE 1" {
			t.Fatalf("%v: %q, %v", mode, tag, errText(err))
		}
		requireStatus(t, conn, 'I', mode.String())
		if got := noteOf(t, tbl, 1); got != mode.String() {
			t.Fatalf("%v: row 1 is %q on PostgreSQL, want %q at once", mode, got, mode)
		}
	}
	tag, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = 'all' WHERE id > 0")
	if err != nil || tag.String() != "UPDATE 2000" {
		t.Fatalf("2000 rows: %q, %v", tag, errText(err))
	}
	requireStatus(t, conn, 'I', "after 2000 rows")
	requireNoBelayNotice(t, log, "applications profile")
	if n := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note = 'all'"); n != 2000 {
		t.Fatalf("%d rows changed, want 2000", n)
	}
	if v := metricValue(metricsBody(t, p), "belay_holds_open"); v != 0 {
		t.Fatalf("belay_holds_open %v, want 0", v)
	}

	// psql with an application_name no interactive glob matches.
	out, errOut, err := runPsql(t, p.DSN(upstreamDatabase, upstreamUser)+" application_name=nightly-job",
		"-c", "UPDATE "+tbl+" SET note = 'job' WHERE id = 2")
	if err != nil || strings.TrimSpace(out) != "UPDATE 1" || strings.Contains(errOut, "belay:") {
		t.Fatalf("psql as nightly-job: out %q, stderr %q, %v", out, errOut, err)
	}
	if got := noteOf(t, tbl, 2); got != "job" {
		t.Fatalf("row 2 is %q, want job", got)
	}
}

// TestHoldPgxSetExpect: SET belay.expect_rows holds for the next write in
// every protocol mode (in the extended ones PostgreSQL also keeps it, as
// a harmless custom setting), and a wrong count rolls the write back.
func TestHoldPgxSetExpect(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := holdTable(t, 5)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		conn, _ := holdConn(t, p, mode)
		if _, err := conn.Exec(ctx, "SET belay.expect_rows = 2"); err != nil {
			t.Fatalf("%v: SET: %v", mode, err)
		}
		_, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = $1 WHERE id <= $2", "three", 3)
		requirePgError(t, err, "21000", "belay: expected 2 rows, the statement changed 3; it was rolled back")
		if st := conn.PgConn().TxStatus(); st != 'I' {
			t.Fatalf("%v: status %c, want I", mode, st)
		}
		// Used once: the next write is held without an expectation.
		if _, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = $1 WHERE id <= $2", "three", 3); err != nil {
			t.Fatalf("%v: second write: %v", mode, err)
		}
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		if n := notesNot(t, tbl); n != 0 {
			t.Fatalf("%v: %d rows changed", mode, n)
		}
	}
}
