package proxy

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/belay-proxy/belay/config"
	"github.com/belay-proxy/belay/internal/testpg"
)

// recorder is an Inspector that keeps copies of what it was shown.
type recorder struct {
	mu    sync.Mutex
	stmts []Statement
}

func (r *recorder) Inspect(_ *SessionInfo, st *Statement) Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *st
	c.Text = append([]byte(nil), st.Text...)
	r.stmts = append(r.stmts, c)
	return Verdict{Action: Allow}
}

func (r *recorder) seen(text string) []Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Statement
	for _, s := range r.stmts {
		if string(s.Text) == text {
			out = append(out, s)
		}
	}
	return out
}

type testServer struct {
	srv  *Server
	addr string
	rec  *recorder
}

// startServer runs an in-process belay in front of the test PostgreSQL, so
// the race detector sees the relay itself.
func startServer(t *testing.T, tweak func(*config.Config)) *testServer {
	t.Helper()
	rec := &recorder{}
	ts := startServerWith(t, tweak, rec)
	ts.rec = rec
	return ts
}

// startServerWith is startServer with a given Inspector.
func startServerWith(t *testing.T, tweak func(*config.Config), insp Inspector) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.Upstream.Address = testpg.Upstream(t)
	cfg.Upstream.SSLMode = "disable"
	if tweak != nil {
		tweak(cfg)
	}
	srv, err := NewServer(cfg, insp, NewMetrics(prometheus.NewRegistry()), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	})
	return &testServer{srv: srv, addr: ln.Addr().String()}
}

func (ts *testServer) connect(t *testing.T, opts ...func(*pgx.ConnConfig)) *pgx.Conn {
	t.Helper()
	cc, err := pgx.ParseConfig(testpg.DSN(ts.addr, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(cc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatalf("connect through belay: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// transports runs a test on the event loop and on goroutines (the path TLS
// sessions take), so both relays meet the same expectations.
func transports(t *testing.T, test func(t *testing.T, tweak func(*config.Config))) {
	for _, loop := range []bool{true, false} {
		name := "goroutines"
		if loop {
			name = "event_loop"
		}
		t.Run(name, func(t *testing.T) {
			test(t, func(c *config.Config) { c.EventLoop = loop })
		})
	}
}

func TestSeamSeesEveryQueryAndParse(t *testing.T) { transports(t, testSeamSeesEveryQueryAndParse) }

func testSeamSeesEveryQueryAndParse(t *testing.T, tweak func(*config.Config)) {
	ts := startServer(t, tweak)
	conn := ts.connect(t)
	ctx := context.Background()

	if _, err := conn.Exec(ctx, "SELECT 1 AS simple_one", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Prepare(ctx, "named_stmt", "SELECT $1::int AS prepared_one"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "named_stmt", 7).Scan(&n); err != nil || n != 7 {
		t.Fatalf("prepared: %d, %v", n, err)
	}
	if got := ts.rec.seen("SELECT 1 AS simple_one"); len(got) != 1 || got[0].Protocol != Simple {
		t.Errorf("simple query seen %v", got)
	}
	got := ts.rec.seen("SELECT $1::int AS prepared_one")
	if len(got) != 1 || got[0].Protocol != Extended || got[0].Name != "named_stmt" {
		t.Errorf("Parse seen %+v, want one extended statement named named_stmt", got)
	}
}

func TestPipelinedBatchKeepsOrder(t *testing.T) { transports(t, testPipelinedBatchKeepsOrder) }

func testPipelinedBatchKeepsOrder(t *testing.T, tweak func(*config.Config)) {
	ts := startServer(t, tweak)
	conn := ts.connect(t)
	ctx := context.Background()
	b := &pgx.Batch{}
	const n = 200
	for i := 0; i < n; i++ {
		b.Queue("SELECT $1::int * 2", i)
	}
	br := conn.SendBatch(ctx, b)
	for i := 0; i < n; i++ {
		var v int
		if err := br.QueryRow().Scan(&v); err != nil || v != 2*i {
			t.Fatalf("batch row %d: %d, %v", i, v, err)
		}
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownClosesIdleSessionsAndWaitsForTransactions(t *testing.T) {
	transports(t, testShutdownClosesIdleSessionsAndWaitsForTransactions)
}

func testShutdownClosesIdleSessionsAndWaitsForTransactions(t *testing.T, tweak func(*config.Config)) {
	ts := startServer(t, tweak)
	ctx := context.Background()
	idle := ts.connect(t)
	busy := ts.connect(t)
	if _, err := busy.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}

	shutdownDone := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		shutdownDone <- ts.srv.Shutdown(sctx)
	}()

	// The idle session is ended at once with 57P01.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := idle.Exec(ctx, "SELECT 1")
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code != "57P01" {
				t.Fatalf("idle session got %v, want 57P01 or a closed connection", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle session still served after shutdown")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The open transaction may still finish its work and commit.
	if _, err := busy.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("transaction cut short by shutdown: %v", err)
	}
	select {
	case err := <-shutdownDone:
		t.Fatalf("shutdown returned (%v) while a transaction was open", err)
	default:
	}
	if _, err := busy.Exec(ctx, "COMMIT"); err != nil {
		t.Fatalf("commit during drain: %v", err)
	}
	select {
	case err := <-shutdownDone:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not finish after the last transaction ended")
	}
}

func TestForgedCancelKeyCancelsNothing(t *testing.T) {
	transports(t, testForgedCancelKeyCancelsNothing)
}

func testForgedCancelKeyCancelsNothing(t *testing.T, tweak func(*config.Config)) {
	ts := startServer(t, tweak)
	conn := ts.connect(t)
	pc := conn.PgConn()
	secret := binary.BigEndian.Uint32(pc.SecretKey())
	errc := make(chan error, 1)
	go func() {
		_, err := conn.Exec(context.Background(), "SELECT pg_sleep(1.5)")
		errc <- err
	}()
	waitForRunning(t, "SELECT pg_sleep(1.5)")
	// A key belay never issued: the right pid with a wrong secret.
	sendRawCancel(t, ts.addr, pc.PID(), secret+1)
	if err := <-errc; err != nil {
		t.Fatalf("query with a forged cancel: %v", err)
	}
	// The real key does cancel.
	go func() {
		_, err := conn.Exec(context.Background(), "SELECT pg_sleep(20)")
		errc <- err
	}()
	waitForRunning(t, "SELECT pg_sleep(20)")
	sendRawCancel(t, ts.addr, pc.PID(), secret)
	select {
	case err := <-errc:
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Fatalf("cancelled query: %v, want 57014", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not reach PostgreSQL")
	}
}

func TestMaxConnectionsRefusesWithSQLSTATE(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Limits.MaxConnections = 1 })
	ts.connect(t)
	_, err := pgx.Connect(context.Background(), testpg.DSN(ts.addr, "postgres"))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "53300" || !strings.HasPrefix(pe.Message, "belay:") {
		t.Fatalf("second connection: %v, want belay's 53300", err)
	}
}

func TestUpstreamDownGivesClearError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	ts := startServer(t, func(c *config.Config) { c.Upstream.Address = dead })
	_, err = pgx.Connect(context.Background(), testpg.DSN(ts.addr, "postgres"))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "08006" || pe.Hint == "" {
		t.Fatalf("connect with upstream down: %v, want belay's 08006 with a hint", err)
	}
}

// waitForRunning waits until PostgreSQL is running query, so that a cancel
// sent next has something to cancel even on a loaded machine.
func waitForRunning(t *testing.T, query string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testpg.DSN(testpg.Upstream(t), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = $1", query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%q never started", query)
}

func testMetrics() *Metrics { return NewMetrics(prometheus.NewRegistry()) }
