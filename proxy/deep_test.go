package proxy

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/belay-proxy/belay/audit"
	"github.com/belay-proxy/belay/config"
	"github.com/belay-proxy/belay/internal/testpg"
	"github.com/belay-proxy/belay/rules"
)

// A statement nested deep enough to overflow libpg_query's C stack must
// not kill belay: the classifier refuses it before parsing, and the
// session (and every other) goes on.
func TestDeeplyNestedStatementDoesNotCrashBelay(t *testing.T) {
	cfg := config.Default()
	cfg.Upstream.Address = testpg.Upstream(t)
	cfg.Upstream.SSLMode = "disable"
	al, err := audit.Open("off")
	if err != nil {
		t.Fatal(err)
	}
	insp := &AuditInspector{Classifier: rules.NewClassifier(rules.Options{}), Audit: al}
	srv, err := NewServer(cfg, insp, NewMetrics(prometheus.NewRegistry()), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Serve(ctx, ln) }()

	conn, err := pgx.Connect(ctx, testpg.DSN(ln.Addr().String(), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		"SELECT 1" + strings.Repeat("+1", 30000),
		"SELECT " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000),
	} {
		qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := conn.Exec(qctx, sql, pgx.QueryExecModeSimpleProtocol)
		qcancel()
		t.Logf("PostgreSQL's answer: %v", err) // it may refuse too; belay must survive
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("session unusable after deep input: %v", err)
	}
}
