package test

// Helpers shared by the hold tests (hold_psql_test.go, hold_pgx_test.go,
// hold_kill_test.go): belay started with configs/belay.yaml and a hold
// timeout of the test's choosing, tables of numbered rows created directly
// on PostgreSQL, and checks made directly on PostgreSQL, never through belay.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// holdTimeoutShort is the hold_timeout of the timeout tests.
	holdTimeoutShort = "2s"
	// holdTimeoutLong is the hold_timeout of every other test: long enough
	// that no hold expires while a slow (race-built) belay is tested.
	holdTimeoutLong = "1m"
	// holdRowCap is the interactive profile's row_cap in configs/belay.yaml.
	holdRowCap = 1000
)

// holdConfigOpts changes configs/belay.yaml for a hold test.
type holdConfigOpts struct {
	HoldTimeout string // the interactive profile's hold_timeout; "" keeps 2m
	NoEventLoop bool   // event_loop: false: the goroutine relay
	// TableRowCaps is added to the interactive profile (table: N lines).
	TableRowCaps map[string]int
	// Capture keeps the interactive profile's capture and its drop-table:
	// quarantine, as shipped. Without it both are off: the hold tests'
	// tables carry no capture triggers, and their writes would be refused.
	Capture bool
}

// holdConfig is configs/belay.yaml with the changes in o. It fails the test
// when the file no longer has the lines it edits.
func holdConfig(t testing.TB, o holdConfigOpts) string {
	t.Helper()
	cfg := guardedConfig(t)
	replace := func(old, new string) {
		t.Helper()
		if !strings.Contains(cfg, old) {
			t.Fatalf("configs/belay.yaml has no %q: update holdConfig", old)
		}
		cfg = strings.Replace(cfg, old, new, 1)
	}
	// The interactive profile is the only one that holds, with the cap the
	// tests count on.
	for _, want := range []string{"      hold: true\n", fmt.Sprintf("      row_cap: %d ", holdRowCap)} {
		if !strings.Contains(cfg, want) {
			t.Fatalf("configs/belay.yaml has no %q: update holdConfig", want)
		}
	}
	if o.HoldTimeout != "" {
		replace("      hold_timeout: 2m ", "      hold_timeout: "+o.HoldTimeout+" ")
	}
	if o.NoEventLoop {
		replace("event_loop: true ", "event_loop: false ")
	}
	if !o.Capture {
		replace("      capture: true\n", "      capture: false\n")
		replace("      uncaptured: refuse ", "      # uncaptured: refuse ")
		replace("        drop-table: quarantine ", "        # drop-table: quarantine ")
	}
	if len(o.TableRowCaps) > 0 {
		var b strings.Builder
		b.WriteString("      table_row_caps:\n")
		for table, n := range o.TableRowCaps {
			fmt.Fprintf(&b, "        %s: %d\n", table, n)
		}
		replace("      hold_timeout:", b.String()+"      hold_timeout:")
	}
	return cfg
}

// startHoldBelay starts belay with holdConfig(o). Holds are belay's alone,
// so the test skips in direct mode.
func startHoldBelay(t *testing.T, o holdConfigOpts) *belayProc {
	t.Helper()
	requireBelay(t)
	return startBelay(t, belayOpts{ConfigYAML: holdConfig(t, o)})
}

// relays are the two ways belay relays a plain-TCP session.
var relays = []struct {
	name        string
	noEventLoop bool
}{{"loop", false}, {"goroutines", true}}

// holdTable creates, directly on PostgreSQL, a table (id int PRIMARY KEY,
// note text) with rows 1..rows whose note is 'a'. It is dropped when the
// test ends.
func holdTable(t *testing.T, rows int) string {
	t.Helper()
	name := tableName(t)
	directExec(t, fmt.Sprintf(
		"CREATE TABLE %[1]s (id int PRIMARY KEY, note text NOT NULL); INSERT INTO %[1]s SELECT g, 'a' FROM generate_series(1, %[2]d) g",
		name, rows))
	return name
}

// directExec runs sql directly on PostgreSQL.
func directExec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := connectDirect(t, upstreamDatabase).Exec(ctx, sql, args...); err != nil {
		t.Fatalf("direct: %s: %v", sql, err)
	}
}

// directInt runs a one-integer query directly on PostgreSQL.
func directInt(t testing.TB, sql string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var n int
	if err := connectDirect(t, upstreamDatabase).QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("direct: %s: %v", sql, err)
	}
	return n
}

// notesNot counts, directly on PostgreSQL, the rows of table whose note is
// not 'a': the rows some test's write changed and committed.
func notesNot(t testing.TB, table string) int {
	t.Helper()
	return directInt(t, "SELECT count(*) FROM "+table+" WHERE note <> 'a'")
}

// noteOf is row id's note, read directly on PostgreSQL.
func noteOf(t testing.TB, table string, id int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var s string
	if err := connectDirect(t, upstreamDatabase).QueryRow(ctx, "SELECT note FROM "+table+" WHERE id = $1", id).Scan(&s); err != nil {
		t.Fatalf("direct: note of %s row %d: %v", table, id, err)
	}
	return s
}

// requireUnlocked proves, directly on PostgreSQL, that no transaction
// still holds the row (a held change that was really rolled back leaves
// none): an UPDATE of it with a short lock_timeout, rolled back.
func requireUnlocked(t testing.TB, table string, id int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tx, err := connectDirect(t, upstreamDatabase).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '500ms'"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE "+table+" SET note = note WHERE id = $1", id); err != nil {
		t.Fatalf("row %d of %s is still locked by a transaction (%v): the held change was not rolled back", id, table, err)
	}
}

// noticeLog collects the notices a pgx connection receives.
type noticeLog struct {
	mu      sync.Mutex
	notices []*pgconn.Notice
}

func (l *noticeLog) add(_ *pgconn.PgConn, n *pgconn.Notice) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notices = append(l.notices, n)
}

// take returns the notices received since the last take.
func (l *noticeLog) take() []*pgconn.Notice {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.notices
	l.notices = nil
	return out
}

// belayNotices returns the belay: notices received since the last take.
func (l *noticeLog) belayNotices() []*pgconn.Notice {
	var out []*pgconn.Notice
	for _, n := range l.take() {
		if strings.HasPrefix(n.Message, "belay: ") {
			out = append(out, n)
		}
	}
	return out
}

func describeNotices(ns []*pgconn.Notice) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, fmt.Sprintf("%s %q (hint %q)", n.Severity, n.Message, n.Hint))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// holdConn connects through belay as the interactive profile (the
// application_name psql sends) in exec mode mode, collecting notices.
func holdConn(t *testing.T, p *belayProc, mode pgx.QueryExecMode) (*pgx.Conn, *noticeLog) {
	t.Helper()
	log := &noticeLog{}
	conn := connectWith(t, p.DSN(upstreamDatabase, upstreamUser), func(c *pgx.ConnConfig) {
		c.RuntimeParams["application_name"] = "psql"
		c.DefaultQueryExecMode = mode
		c.OnNotice = log.add
	})
	return conn, log
}

// holdBackendPID is the PostgreSQL backend of a connection through belay.
func holdBackendPID(t testing.TB, conn *pgx.Conn) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()", pgx.QueryExecModeSimpleProtocol).Scan(&pid); err != nil {
		t.Fatalf("pg_backend_pid: %v", err)
	}
	return pid
}

// metricsBody is belay's /metrics.
func metricsBody(t *testing.T, p *belayProc) string {
	t.Helper()
	_, body := httpGet(t, p.AdminURL()+"/metrics")
	return body
}

// metricValue is the value of the sample named exactly series (name and
// labels as exposed, e.g. belay_holds_total{outcome="cap"}); -1 when absent.
func metricValue(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}

// holdsOutcome is series of belay_holds_total for outcome.
func holdsOutcome(outcome string) string {
	return `belay_holds_total{outcome="` + outcome + `"}`
}

// waitMetric waits up to within for a series to have value want, and fails
// the test otherwise, showing the hold metrics.
func waitMetric(t *testing.T, p *belayProc, series string, want float64, within time.Duration) {
	t.Helper()
	var body string
	if !waitFor(within, func() bool {
		body = metricsBody(t, p)
		return metricValue(body, series) == want
	}) {
		t.Fatalf("%s is %v after %v, want %v:\n%s", series, metricValue(body, series), within, want, grepLines(body, "belay_hold"))
	}
}

// writeScript writes a psql script into the test's temporary directory.
func writeScript(t *testing.T, script string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "script.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
