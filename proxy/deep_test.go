package proxy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/audit"
	"github.com/belay-proxy/belay/internal/testpg"
	"github.com/belay-proxy/belay/rules"
)

// A statement nested deep enough to overflow libpg_query's C stack must
// not kill belay: the classifier refuses it before parsing, and the
// session (and every other) goes on.
func TestDeeplyNestedStatementDoesNotCrashBelay(t *testing.T) {
	al, err := audit.Open("off")
	if err != nil {
		t.Fatal(err)
	}
	ts := startServerWith(t, nil, &Guard{Classifier: rules.NewClassifier(rules.Options{}), Audit: al, Metrics: testMetrics()})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testpg.DSN(ts.addr, "postgres"))
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
