package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belay-proxy/belay/internal/capturetest"
)

// statsFor is a Stats reading conn's database as role, on a clock the test
// moves, with the errors it reports.
func statsFor(t *testing.T, conn *pgx.Conn, role string) (*Stats, *fakeClock, *reports) {
	t.Helper()
	cfg := conn.Config()
	url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", role, cfg.Host, cfg.Port, cfg.Database)
	r := &reports{}
	s, err := NewStats(url, r.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	clock := &fakeClock{at: time.Unix(1e9, 0)}
	s.now = clock.now
	return s, clock, r
}

type fakeClock struct{ at time.Time }

func (c *fakeClock) now() time.Time          { return c.at }
func (c *fakeClock) advance(d time.Duration) { c.at = c.at.Add(d) }

// reports keeps what Stats reported: an error starting a failure streak,
// nil ending one.
type reports struct {
	mu   sync.Mutex
	list []error
}

func (r *reports) add(err error) { r.mu.Lock(); r.list = append(r.list, err); r.mu.Unlock() }

func (r *reports) get() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.list...)
}

const statsHeader = `
# HELP belay_capture_stats_up 1 when belay's last read of its records (capture.stats_database_url) succeeded, 0 when it failed.
# TYPE belay_capture_stats_up gauge
# HELP belay_changes Recorded changes by status: applied, undone, expired (belay.changes).
# TYPE belay_changes gauge
# HELP belay_quarantined_tables Tables in belay_quarantine that belay purge has not dropped yet.
# TYPE belay_quarantined_tables gauge
# HELP belay_undo_attempts_total belay undo runs by outcome: applied, conflicts, declined, failed (belay.undo_attempts).
# TYPE belay_undo_attempts_total counter
`

func wantStats(up int, applied, undone, expired, quarantined, attemptsApplied, attemptsFailed int) string {
	if up == 0 {
		return statsHeader + "belay_capture_stats_up 0\n"
	}
	return statsHeader + fmt.Sprintf(`belay_capture_stats_up 1
belay_changes{status="applied"} %d
belay_changes{status="undone"} %d
belay_changes{status="expired"} %d
belay_quarantined_tables %d
belay_undo_attempts_total{outcome="applied"} %d
belay_undo_attempts_total{outcome="conflicts"} 0
belay_undo_attempts_total{outcome="declined"} 0
belay_undo_attempts_total{outcome="failed"} %d
`, applied, undone, expired, quarantined, attemptsApplied, attemptsFailed)
}

var statsNames = []string{"belay_capture_stats_up", "belay_changes", "belay_quarantined_tables", "belay_undo_attempts_total"}

func compareStats(t *testing.T, s *Stats, want string) {
	t.Helper()
	if err := testutil.CollectAndCompare(s, strings.NewReader(want), statsNames...); err != nil {
		t.Fatal(err)
	}
}

func schemaBytes(t *testing.T, s *Stats) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "belay_capture_schema_bytes" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// The collector reads belay's records as a member of belay_undo, keeps a
// read for 15 s, and counts changes by status, undo attempts by outcome,
// the tables waiting in the quarantine and the size of belay's schemas.
func TestStats(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	role := testRole(t, conn, "stats", "IN ROLE belay_undo")
	s, clock, reports := statsFor(t, conn, role)

	compareStats(t, s, wantStats(1, 0, 0, 0, 0, 0, 0))
	if n := schemaBytes(t, s); n <= 0 {
		t.Fatalf("belay_capture_schema_bytes %v, want the size of belay's tables", n)
	}

	undone := capturetest.Commit(t, conn, "UPDATE parent SET note = 'x' WHERE id = 1")
	capturetest.Commit(t, conn, "SELECT belay.quarantine('child')")
	plan, err := Undo(ctx, conn, undone, UndoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []error{nil, errors.New("no change 999")} {
		if _, err := RecordUndoAttempt(ctx, conn, undone, plan, e); err != nil {
			t.Fatal(err)
		}
	}
	compareStats(t, s, wantStats(1, 0, 0, 0, 0, 0, 0)) // the last read, cached
	clock.advance(15 * time.Second)
	// undone, the quarantine's change and the undo's own record
	compareStats(t, s, wantStats(1, 2, 1, 0, 1, 1, 1))
	if r := reports.get(); len(r) != 0 {
		t.Fatalf("reported %v", r)
	}
}

// A read that fails (no rights, a lock held too long) sets
// belay_capture_stats_up to 0 and leaves the rest out, without failing the
// scrape; it is reported once per streak, and the end of the streak too.
func TestStatsFailures(t *testing.T) {
	conn := capturedDatabase(t)
	ctx := context.Background()
	role := testRole(t, conn, "nobody", "")
	s, clock, reports := statsFor(t, conn, role)
	s.timeout = 300 * time.Millisecond

	compareStats(t, s, wantStats(0, 0, 0, 0, 0, 0, 0))
	clock.advance(time.Minute)
	compareStats(t, s, wantStats(0, 0, 0, 0, 0, 0, 0))
	if r := reports.get(); len(r) != 1 || !strings.Contains(r[0].Error(), "42501") {
		t.Fatalf("reported %v, want one permission denied", r)
	}
	if _, err := conn.Exec(ctx, "GRANT belay_undo TO "+role); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	compareStats(t, s, wantStats(1, 0, 0, 0, 0, 0, 0))
	if r := reports.get(); len(r) != 2 || r[1] != nil {
		t.Fatalf("reported %v, want the streak's end", r)
	}

	// A query that waits for a lock gives up after the timeout.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "LOCK TABLE belay.undo_attempts IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	start := time.Now()
	compareStats(t, s, wantStats(0, 0, 0, 0, 0, 0, 0))
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a scrape waited %v", took)
	}
	if r := reports.get(); len(r) != 3 || r[2] == nil {
		t.Fatalf("reported %v, want a new streak", r)
	}
}

// The password is neither in the target belay logs nor in the error for
// a URL that cannot be read.
func TestStatsKeepsThePassword(t *testing.T) {
	s, err := NewStats("postgres://stats:hunter2@db.internal:5433/shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Target(); strings.Contains(got, "hunter2") || !strings.Contains(got, "db.internal") || !strings.Contains(got, "database=shop") {
		t.Fatalf("target %q", got)
	}
	if _, err := NewStats("postgres://stats:hunter2@db.internal:nope/shop", nil); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}
