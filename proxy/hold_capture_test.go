package proxy

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belay-proxy/belay/capture"
	"github.com/belay-proxy/belay/config"
	"github.com/belay-proxy/belay/internal/testpg"
)

// capturingHolder is holder for a profile that captures: sessions start
// with capture on, as the Guard starts them.
type capturingHolder struct{ holder }

func (capturingHolder) StartupParams(*SessionInfo) map[string]string {
	return map[string]string{captureSetting: "on"}
}

// A capturing profile records each held change in belay.changes (its id
// names the change) and keeps the before-images; a write to a table
// without capture triggers is rolled back.
func TestHoldCaptures(t *testing.T) { transports(t, testHoldCaptures) }

func testHoldCaptures(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	direct := holdTable(t, table)
	bare := holdTable(t, table+"_bare")
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(testpg.DSN(testpg.Upstream(t), "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := capture.Init(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := capture.Enable(ctx, db, []string{table}); err != nil {
		t.Fatal(err)
	}
	p := holdingProfile(time.Minute)
	p.Capture = true
	ts := startServerWith(t, tweak, capturingHolder{holder{p}})
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		var mu sync.Mutex
		var notices []string
		conn := ts.connect(t, func(c *pgx.ConnConfig) {
			c.DefaultQueryExecMode = mode
			c.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
				mu.Lock()
				notices = append(notices, n.Message+"\n"+n.Detail)
				mu.Unlock()
			}
		})
		if _, err := conn.Exec(ctx, "UPDATE "+table+" SET note = 'c' WHERE id <= $1", 2); err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		mu.Lock()
		m := regexp.MustCompile(`change (\d+) is held: 2 rows changed`).FindStringSubmatch(strings.Join(notices, "\n"))
		mu.Unlock()
		if m == nil || !strings.Contains(strings.Join(notices, "\n"), "First rows:\npublic."+table+" (1) updated: note\npublic."+table+" (2) updated: note") {
			t.Fatalf("%v: notices %q", mode, notices)
		}
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			t.Fatal(err)
		}
		var rows string
		var images int64
		err := direct.QueryRow(ctx, "SELECT c.rows::text, (SELECT sum(r.rows) FROM belay.row_images r WHERE r.xid = c.xid) FROM belay.changes c WHERE c.id = $1", m[1]).Scan(&rows, &images)
		if err != nil || !strings.Contains(rows, `"updated": 2`) || images != 2 {
			t.Fatalf("%v: change %s recorded %q with %d captured rows, %v", mode, m[1], rows, images, err)
		}
		if _, err := direct.Exec(ctx, "UPDATE "+table+" SET note = 'n'"); err != nil {
			t.Fatal(err)
		}

		// A table without capture triggers: refused, nothing changed.
		_, err = conn.Exec(ctx, "UPDATE "+table+"_bare SET note = 'c' WHERE id = $1", 1)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != sqlstateHoldFailed || !strings.Contains(pe.Message, "capture: 1 row changed in public."+table+"_bare, 0 of them captured") {
			t.Fatalf("%v: %v, want the capture refusal", mode, err)
		}
		if st := conn.PgConn().TxStatus(); st != 'I' {
			t.Fatalf("%v: status %c, want I", mode, st)
		}
		if n := changedRows(t, bare, table+"_bare"); n != 0 {
			t.Fatalf("%v: %d rows changed", mode, n)
		}
	}
	if got := testutil.ToFloat64(ts.srv.metrics.CapturedRows); got != 4 {
		t.Fatalf("belay_captured_rows_total = %v, want 4 (two rows in each mode)", got)
	}
}
