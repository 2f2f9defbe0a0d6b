package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/belay-proxy/belay/config"
	"github.com/belay-proxy/belay/internal/testpg"
	"github.com/belay-proxy/belay/policy"
)

// holder is an Inspector whose profile holds every statement that mentions
// UPDATE, so these tests exercise the relay's hold machine without the
// classifier.
type holder struct{ profile *policy.Profile }

func (h holder) Inspect(_ *SessionInfo, st *Statement) Verdict {
	plan := HoldPlan{Profile: h.profile, Expect: -1, Limit: -1}
	text := strings.ToUpper(string(st.Text))
	plan.Watch = strings.Contains(text, "UPDATE")
	plan.Estimate = strings.HasPrefix(text, "UPDATE")
	plan.Rollback = text == "ROLLBACK"
	plan.EndsTransaction = text == "COMMIT"
	return Verdict{Action: Allow, Hold: plan}
}

func holdingProfile(timeout time.Duration) *policy.Profile {
	return &policy.Profile{Name: "test", Hold: true, RowCap: 5, HoldTimeout: timeout, HoldLockTimeout: time.Second, HoldStatementTimeout: 10 * time.Second}
}

// holdTable creates a table of ten rows, note 'n', visible to other
// sessions (a temporary table would not be).
func holdTable(t *testing.T, name string) *pgx.Conn {
	t.Helper()
	return holdTableIn(t, "postgres", name)
}

// holdTableIn is holdTable in another database.
func holdTableIn(t *testing.T, database, name string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	direct, err := pgx.Connect(ctx, testpg.DSN(testpg.Upstream(t), database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = direct.Exec(ctx, "DROP TABLE IF EXISTS "+name)
		direct.Close(ctx)
	})
	if _, err := direct.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %[1]s; CREATE TABLE %[1]s (id int PRIMARY KEY, note text); INSERT INTO %[1]s SELECT g, 'n' FROM generate_series(1, 10) g", name)); err != nil {
		t.Fatal(err)
	}
	return direct
}

func changedRows(t *testing.T, direct *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := direct.QueryRow(context.Background(), "SELECT count(*) FROM "+table+" WHERE note <> 'n'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func tableName(t *testing.T, tweak func(*config.Config)) string {
	c := config.Default()
	tweak(c)
	name := "hold_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	if c.EventLoop {
		return name + "_l"
	}
	return name + "_g"
}

func TestHeldWriteWaitsForCommit(t *testing.T) { transports(t, testHeldWriteWaitsForCommit) }

func testHeldWriteWaitsForCommit(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	direct := holdTable(t, table)
	ts := startServerWith(t, tweak, holder{holdingProfile(time.Minute)})
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec} {
		var mu sync.Mutex
		var notices []string
		conn := ts.connect(t, func(c *pgx.ConnConfig) {
			c.DefaultQueryExecMode = mode
			c.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { mu.Lock(); notices = append(notices, n.Message); mu.Unlock() }
		})
		ctx := context.Background()
		tag, err := conn.Exec(ctx, "UPDATE "+table+" SET note = 'x' WHERE id = $1", 1)
		if err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%v: held update: %v %v", mode, tag, err)
		}
		if st := conn.PgConn().TxStatus(); st != 'T' {
			t.Fatalf("%v: status %c after a held write, want T", mode, st)
		}
		if n := changedRows(t, direct, table); n != 0 {
			t.Fatalf("%v: %d rows changed before COMMIT", mode, n)
		}
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			t.Fatal(err)
		}
		if n := changedRows(t, direct, table); n != 1 {
			t.Fatalf("%v: %d rows changed after COMMIT, want 1", mode, n)
		}
		mu.Lock()
		got := strings.Join(notices, "\n")
		mu.Unlock()
		if !strings.Contains(got, "is held: 1 row changed (public."+table+": 1 updated)") || !strings.Contains(got, "committed: 1 row applied") {
			t.Fatalf("%v: notices %q", mode, got)
		}
		// Nothing written: an ordinary autocommit statement, no hold.
		if _, err := conn.Exec(ctx, "UPDATE "+table+" SET note = 'y' WHERE id = $1", 99); err != nil {
			t.Fatal(err)
		}
		if st := conn.PgConn().TxStatus(); st != 'I' {
			t.Fatalf("%v: status %c after a write that wrote nothing, want I", mode, st)
		}
		if _, err := direct.Exec(ctx, "UPDATE "+table+" SET note = 'n'"); err != nil {
			t.Fatal(err)
		}
	}
}

// The gate: requests sent back to back reach PostgreSQL one at a time, so
// a COMMIT pipelined behind a write over the cap cannot apply it.
func TestPipelinedCommitWaitsForTheCheck(t *testing.T) {
	transports(t, testPipelinedCommitWaitsForTheCheck)
}

func testPipelinedCommitWaitsForTheCheck(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	direct := holdTable(t, table)
	ts := startServerWith(t, tweak, holder{holdingProfile(time.Minute)})
	fe, _ := rawSession(t, ts.addr)
	send(t, fe,
		&pgproto3.Query{String: "UPDATE " + table + " SET note = 'x' WHERE id <= 8"},
		&pgproto3.Query{String: "COMMIT"},
	)
	first := receiveUntilReady(t, fe)
	second := receiveUntilReady(t, fe)
	if !contains(first, "Error:"+sqlstateRowCap) || first[len(first)-1] != "ReadyForQuery" {
		t.Fatalf("first answer %v, want the row cap error", first)
	}
	if contains(second, "Error:"+sqlstateRowCap) {
		t.Fatalf("second answer %v", second)
	}
	if n := changedRows(t, direct, table); n != 0 {
		t.Fatalf("%d rows changed: the pipelined COMMIT applied a write over the cap", n)
	}
}

// An extended batch that fails before belay's Query: PostgreSQL skips the
// Query, nothing is held, the session goes on.
func TestFailedHeldBatch(t *testing.T) { transports(t, testFailedHeldBatch) }

func testFailedHeldBatch(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	direct := holdTable(t, table)
	ts := startServerWith(t, tweak, holder{holdingProfile(time.Minute)})
	fe, _ := rawSession(t, ts.addr)
	send(t, fe,
		&pgproto3.Parse{Query: "SELECT 1/0"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Name: "w", Query: "UPDATE " + table + " SET note = 'x' WHERE id = 1"},
		&pgproto3.Bind{PreparedStatement: "w"}, &pgproto3.Execute{},
		&pgproto3.Sync{},
	)
	got := receiveUntilReady(t, fe)
	if !contains(got, "Error:22012") {
		t.Fatalf("got %v, want division by zero", got)
	}
	send(t, fe, &pgproto3.Query{String: "SELECT 1"})
	if got := receiveUntilReady(t, fe); contains(got, "Error:22012") || got[len(got)-1] != "ReadyForQuery" {
		t.Fatalf("next request got %v", got)
	}
	if n := changedRows(t, direct, table); n != 0 {
		t.Fatalf("%d rows changed", n)
	}
}

// A held write idle past the hold timeout is rolled back; the next
// statement learns it and the client's ROLLBACK clears the failed state.
func TestHoldTimeout(t *testing.T) { transports(t, testHoldTimeout) }

func testHoldTimeout(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	direct := holdTable(t, table)
	ts := startServerWith(t, tweak, holder{holdingProfile(300 * time.Millisecond)})
	conn := ts.connect(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "UPDATE "+table+" SET note = 'x' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	// A read inside the hold restarts its idle time; it does not stop it.
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	// The rollback frees the row: a direct update does not wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var locked bool
		err := direct.QueryRow(ctx, "SELECT count(*) > 0 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = $1 AND l.pid <> pg_backend_pid()", table).Scan(&locked)
		if err != nil {
			t.Fatal(err)
		}
		if !locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the held transaction still holds its locks after the timeout")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err := conn.Exec(ctx, "SELECT 1")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != sqlstateHoldTimeout || !strings.Contains(pe.Message, "hold timeout") {
		t.Fatalf("after the timeout: %v, want %s", err, sqlstateHoldTimeout)
	}
	if st := conn.PgConn().TxStatus(); st != 'E' {
		t.Fatalf("status %c, want E", st)
	}
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("status %c after ROLLBACK, want I", st)
	}
	if n := changedRows(t, direct, table); n != 0 {
		t.Fatalf("%d rows changed", n)
	}
}

func TestHoldMessagesParse(t *testing.T) {
	for tag, want := range map[string]int64{"UPDATE 3": 3, "DELETE 0": 0, "INSERT 0 12": 12, "MERGE 2": 2, "COPY 7": 7, "SELECT 1": -1, "BEGIN": -1} {
		got, ok := dmlRows(tag)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("dmlRows(%q) = %d, want %d", tag, got, want)
		}
	}
	row, _ := (&pgproto3.DataRow{Values: [][]byte{[]byte("731"), []byte(`[["public.a", 1, 2, 3], ["s.b", 0, 5, 0]]`)}}).Encode(nil)
	c, err := parseCheckRow(row)
	if err != nil || c.xid != "731" || c.total() != 11 || len(c.tables) != 2 || c.tables[1].name != "s.b" {
		t.Fatalf("parseCheckRow = %+v, %v", c, err)
	}
	base := checkResult{tables: []tableCount{{name: "public.a", inserted: 1, updated: 1}}}
	if d := c.since(base); d.total() != 9 || len(d.tables) != 2 {
		t.Fatalf("since = %+v", d)
	}
	empty, _ := (&pgproto3.DataRow{Values: [][]byte{nil, []byte(`[]`)}}).Encode(nil)
	if c, err := parseCheckRow(empty); err != nil || c.xid != "" || c.total() != 0 {
		t.Fatalf("nothing written: %+v, %v", c, err)
	}
	desc, _ := (&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte(holdMarker)}}}).Encode(nil)
	other, _ := (&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte("id")}}}).Encode(nil)
	if !isHoldMarker(desc) || isHoldMarker(other) {
		t.Fatal("marker recognition")
	}
	parse, _ := (&pgproto3.Parse{Name: "s1", Query: "UPDATE t SET a = 1 LIMIT 1", ParameterOIDs: []uint32{23}}).Encode(nil)
	var p pgproto3.Parse
	if err := p.Decode(rewriteParse(parse, []byte("UPDATE t SET a = 1"))[headerLen:]); err != nil || p.Name != "s1" || p.Query != "UPDATE t SET a = 1" || len(p.ParameterOIDs) != 1 {
		t.Fatalf("rewriteParse: %+v %v", p, err)
	}
	q, n := heldQuery(holdingProfile(time.Minute), true, true, false, []byte("UPDATE t"))
	if n != 4 || !bytes.HasPrefix(q[headerLen:], []byte("BEGIN; SET LOCAL lock_timeout = '1000ms'; SET LOCAL statement_timeout = '10000ms'; SELECT")) {
		t.Fatalf("heldQuery = %q, %d", q, n)
	}
	if got := tableSummary([]tableCount{{name: "public.a", inserted: 2, deleted: 1}}); got != "public.a: 2 inserted, 1 deleted" {
		t.Fatalf("tableSummary = %q", got)
	}
}

// A client that pipelines (several Syncs in flight, as GUI tools and pgx's
// pipeline mode do) gets every answer in order; the held write's batch
// ends in status T and its successors run inside the hold.
func TestPipelinedClientAndHold(t *testing.T) { transports(t, testPipelinedClientAndHold) }

func testPipelinedClientAndHold(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	direct := holdTable(t, table)
	ts := startServerWith(t, tweak, holder{holdingProfile(time.Minute)})
	conn := ts.connect(t)
	ctx := context.Background()
	p := conn.PgConn().StartPipeline(ctx)
	p.SendQueryParams("SELECT 1", nil, nil, nil, nil)
	p.SendPipelineSync()
	p.SendQueryParams("UPDATE "+table+" SET note = 'p' WHERE id = $1", [][]byte{[]byte("4")}, nil, nil, nil)
	p.SendPipelineSync()
	p.SendQueryParams("SELECT note FROM "+table+" WHERE id = $1", [][]byte{[]byte("4")}, nil, nil, nil)
	p.SendPipelineSync()
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 6; i++ {
		res, err := p.GetResults()
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		switch r := res.(type) {
		case *pgconn.ResultReader:
			rr := r.Read()
			if rr.Err != nil {
				t.Fatalf("result %d: %v", i, rr.Err)
			}
			line := rr.CommandTag.String()
			for _, row := range rr.Rows {
				line += " " + string(row[0])
			}
			got = append(got, line)
		case *pgconn.PipelineSync:
			got = append(got, "sync")
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	want := "SELECT 1 1,sync,UPDATE 1,sync,SELECT 1 p,sync"
	if strings.Join(got, ",") != want {
		t.Fatalf("pipeline answers %q, want %q", strings.Join(got, ","), want)
	}
	if st := conn.PgConn().TxStatus(); st != 'T' {
		t.Fatalf("status %c, want T (held)", st)
	}
	if n := changedRows(t, direct, table); n != 0 {
		t.Fatalf("%d rows changed before COMMIT", n)
	}
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
}

// An UPDATE the planner expects to change far more rows than the cap is
// refused before it runs.
func TestEstimateRefusesUpFront(t *testing.T) { transports(t, testEstimateRefusesUpFront) }

func testEstimateRefusesUpFront(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	direct := holdTable(t, table)
	ctx := context.Background()
	if _, err := direct.Exec(ctx, "ANALYZE "+table); err != nil {
		t.Fatal(err)
	}
	p := holdingProfile(time.Minute)
	p.HoldEstimateFactor = 1.5 // cap 5: more than 7.5 rows expected is refused
	ts := startServerWith(t, tweak, holder{p})
	conn := ts.connect(t, func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol })
	_, err := conn.Exec(ctx, "UPDATE "+table+" SET note = 'x' WHERE id > 0")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != sqlstateRowCap || !strings.Contains(pe.Message, "PostgreSQL estimates 10 rows") || pe.SchemaName != "" || pe.Where != "" {
		t.Fatalf("got %v, want the estimate's refusal without belay's marker", err)
	}
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("status %c, want I", st)
	}
	// A statement that does not plan fails with PostgreSQL's own error,
	// not EXPLAIN's.
	_, err = conn.Exec(ctx, "UPDATE "+table+" SET nosuchcolumn = 1 WHERE id = 1")
	if !errors.As(err, &pe) || pe.Code != "42703" || strings.Contains(pe.Where, "EXPLAIN") || strings.Contains(pe.InternalQuery, "EXPLAIN") {
		t.Fatalf("got %v (context %q), want PostgreSQL's 42703 for the statement itself", err, pe.Where)
	}
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("status %c after a failed statement, want I", st)
	}
	if _, err := conn.Exec(ctx, "UPDATE "+table+" SET note = 'x' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if n := changedRows(t, direct, table); n != 1 {
		t.Fatalf("%d rows changed, want 1", n)
	}
}

// The extended batch that opens a hold runs under the hold's timeouts
// already: they are set with the baseline, at the head of the batch.
func TestHoldFirstBatchTimeouts(t *testing.T) { transports(t, testHoldFirstBatchTimeouts) }

func testHoldFirstBatchTimeouts(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	direct := holdTable(t, table)
	p := holdingProfile(time.Minute)
	p.HoldStatementTimeout = 300 * time.Millisecond
	ts := startServerWith(t, tweak, holder{p})
	conn := ts.connect(t)
	ctx := context.Background()
	_, err := conn.Exec(ctx, "UPDATE "+table+" SET note = 'x' WHERE id = $1 AND pg_sleep(2) IS NOT NULL", 1)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("a 2 s UPDATE under a 300 ms hold_statement_timeout: %v, want 57014", err)
	}
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("status %c, want I", st)
	}
	// The batch's transaction ended: the setting did not outlive it.
	var timeout string
	if err := conn.QueryRow(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil || timeout != "0" {
		t.Fatalf("statement_timeout %q after the batch (%v), want PostgreSQL's 0", timeout, err)
	}
	if n := changedRows(t, direct, table); n != 0 {
		t.Fatalf("%d rows changed", n)
	}
}
