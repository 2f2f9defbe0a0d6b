package proxy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/belay-proxy/belay/config"
)

// blocker blocks every statement that mentions "blockme", so these tests
// exercise the relay's blocking without depending on any rule.
type blocker struct{}

func (blocker) Inspect(_ *SessionInfo, st *Statement) Verdict {
	if bytes.Contains(st.Text, []byte("blockme")) {
		return Verdict{Action: Block, Refusal: &Refusal{SQLState: "42501", Message: "test-rule: blocked", Detail: "what was seen", Hint: "how to do it"}}
	}
	return Verdict{Action: Allow}
}

func requireBelayError(t *testing.T, err error) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("want belay's error, got %v", err)
	}
	if pe.Code != "42501" || !strings.HasPrefix(pe.Message, "belay: test-rule") || pe.Detail != "what was seen" || pe.Hint != "how to do it" {
		t.Fatalf("want belay's 42501 with detail and hint, got %s %q %q %q", pe.Code, pe.Message, pe.Detail, pe.Hint)
	}
	if pe.Where != "" || pe.SchemaName != "" {
		t.Fatalf("PostgreSQL's raise shows through: CONTEXT %q, schema %q", pe.Where, pe.SchemaName)
	}
}

func blockTable(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), "CREATE TEMP TABLE kept (v int)"); err != nil {
		t.Fatal(err)
	}
}

func countKept(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM kept").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBlockedSimpleQuery(t *testing.T) { transports(t, testBlockedSimpleQuery) }

func testBlockedSimpleQuery(t *testing.T, tweak func(*config.Config)) {
	ts := startServerWith(t, tweak, blocker{})
	conn := ts.connect(t)
	ctx := context.Background()
	blockTable(t, conn)

	// Outside a transaction: belay answers alone; the whole string is refused.
	_, err := conn.Exec(ctx, "INSERT INTO kept VALUES (1); SELECT 'blockme'", pgx.QueryExecModeSimpleProtocol)
	requireBelayError(t, err)
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("status %c after a refused statement, want I", st)
	}
	if n := countKept(t, conn); n != 0 {
		t.Fatalf("%d rows: part of a refused string ran", n)
	}

	// Inside one: PostgreSQL raises belay's error, so both sides agree the
	// transaction failed.
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO kept VALUES (2)", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "SELECT 'blockme'", pgx.QueryExecModeSimpleProtocol)
	requireBelayError(t, err)
	if st := conn.PgConn().TxStatus(); st != 'E' {
		t.Fatalf("status %c after a refused statement in a transaction, want E", st)
	}
	_, err = conn.Exec(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "25P02" {
		t.Fatalf("server does not see the transaction failed: %v", err)
	}
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if n := countKept(t, conn); n != 0 {
		t.Fatalf("%d rows after ROLLBACK", n)
	}
}

func TestBlockedExtended(t *testing.T) { transports(t, testBlockedExtended) }

func testBlockedExtended(t *testing.T, tweak func(*config.Config)) {
	ts := startServerWith(t, tweak, blocker{})
	conn := ts.connect(t)
	ctx := context.Background()
	blockTable(t, conn)

	// Alone: belay answers, skipping to Sync.
	var s string
	err := conn.QueryRow(ctx, "SELECT $1::text || 'blockme'", "x").Scan(&s)
	requireBelayError(t, err)
	if err := conn.QueryRow(ctx, "SELECT $1::text", "after").Scan(&s); err != nil || s != "after" {
		t.Fatalf("session unusable after a refused Parse: %q %v", s, err)
	}

	// In the middle of a batch: the batch's implicit transaction fails on
	// the server too, so the INSERT before the refused statement is undone,
	// as PostgreSQL does for an error anywhere in a batch.
	b := &pgx.Batch{}
	b.Queue("INSERT INTO kept VALUES ($1)", 1)
	b.Queue("SELECT $1::text || 'blockme'", "x")
	b.Queue("SELECT $1::int", 3)
	err = conn.SendBatch(ctx, b).Close()
	requireBelayError(t, err)
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("status %c after a refused batch, want I", st)
	}
	if n := countKept(t, conn); n != 0 {
		t.Fatalf("%d rows: the batch's INSERT survived its failure", n)
	}

	// In an explicit transaction: failed on both sides.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = tx.QueryRow(ctx, "SELECT $1::text || 'blockme'", "x").Scan(&s)
	requireBelayError(t, err)
	if st := conn.PgConn().TxStatus(); st != 'E' {
		t.Fatalf("status %c after a refused Parse in a transaction, want E", st)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT 'ok'").Scan(&s); err != nil || s != "ok" {
		t.Fatalf("after rollback: %q %v", s, err)
	}

	// In a transaction already failed: PostgreSQL answers belay's raise
	// with its own 25P02, and the raise's ReadyForQuery must still not
	// reach the client, or every later answer is one request late.
	if tx, err = conn.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1/0"); err == nil {
		t.Fatal("1/0 passed")
	}
	err = tx.QueryRow(ctx, "SELECT $1::text || 'blockme'", "x").Scan(&s)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "25P02" {
		t.Fatalf("a refused Parse in a failed transaction: %v, want PostgreSQL's 25P02", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		var n int
		if err := conn.QueryRow(ctx, "SELECT $1::int", i).Scan(&n); err != nil || n != i {
			t.Fatalf("answer %d after the failed transaction: %d %v (out of step)", i, n, err)
		}
	}
}

// The exact message sequence a client sees for a refused Parse inside a
// batch: no ParseComplete or ReadyForQuery of belay's injected statement,
// one ErrorResponse, one ReadyForQuery — and a large Bind after the refused
// Parse is dropped, not relayed.
func TestBlockedParseMessageSequence(t *testing.T) { transports(t, testBlockedParseMessageSequence) }

func testBlockedParseMessageSequence(t *testing.T, tweak func(*config.Config)) {
	ts := startServerWith(t, tweak, blocker{})
	fe, _ := rawSession(t, ts.addr)
	big := bytes.Repeat([]byte("x"), 1<<20)

	send(t, fe,
		&pgproto3.Parse{Query: "SELECT 1"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "SELECT $1::text || 'blockme'"},
		&pgproto3.Bind{Parameters: [][]byte{big}}, &pgproto3.Execute{},
		&pgproto3.Sync{})
	got := receiveTypes(t, fe)
	want := "ParseComplete BindComplete DataRow CommandComplete ErrorResponse ReadyForQuery"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v\nwant %s", got, want)
	}

	// An earlier error in the batch: PostgreSQL skips to Sync, belay's own
	// Query included; the client sees that first error only, as without belay.
	send(t, fe,
		&pgproto3.Parse{Query: "SELECT 1/0"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: "SELECT 'blockme'"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Sync{})
	if got := strings.Join(receiveTypes(t, fe), " "); got != "ParseComplete ErrorResponse ReadyForQuery" { // 1/0 fails when planned, at Bind
		t.Fatalf("refused Parse after an error: got %s", got)
	}

	send(t, fe, &pgproto3.Parse{Query: "SELECT 'blockme'"}, &pgproto3.Bind{Parameters: [][]byte{big}}, &pgproto3.Execute{}, &pgproto3.Sync{})
	if got := strings.Join(receiveTypes(t, fe), " "); got != "ErrorResponse ReadyForQuery" {
		t.Fatalf("refused Parse alone: got %s", got)
	}
	send(t, fe, &pgproto3.Query{String: "SELECT 'still here'"})
	if got := strings.Join(receiveTypes(t, fe), " "); got != "RowDescription DataRow CommandComplete ReadyForQuery" {
		t.Fatalf("after: got %s", got)
	}
}
