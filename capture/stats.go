package capture

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Stats is a prometheus Collector of belay's records in one database:
// changes by status, undo attempts by outcome, the size of belay's
// schemas and the tables waiting in the quarantine. It reads them when
// scraped, at most once per 15 s, through a role that is a member of
// belay_undo. A read that fails sets belay_capture_stats_up to 0 and
// leaves the other series out; the scrape itself never fails.
type Stats struct {
	pool   *pgxpool.Pool
	target string
	report func(error)

	ttl, timeout time.Duration
	now          func() time.Time

	mu      sync.Mutex
	readAt  time.Time
	last    statsSnapshot
	lastErr error
}

const (
	statsTTL          = 15 * time.Second
	statsQueryTimeout = 2 * time.Second
)

var (
	statsUpDesc = prometheus.NewDesc("belay_capture_stats_up",
		"1 when belay's last read of its records (capture.stats_database_url) succeeded, 0 when it failed.", nil, nil)
	changesDesc = prometheus.NewDesc("belay_changes",
		"Recorded changes by status: applied, undone, expired (belay.changes).", []string{"status"}, nil)
	undoAttemptsDesc = prometheus.NewDesc("belay_undo_attempts_total",
		"belay undo runs by outcome: applied, conflicts, declined, failed (belay.undo_attempts).", []string{"outcome"}, nil)
	schemaBytesDesc = prometheus.NewDesc("belay_capture_schema_bytes",
		"Size of the tables in belay's schemas (belay, belay_images, belay_quarantine), with their indexes and TOAST.", nil, nil)
	quarantinedDesc = prometheus.NewDesc("belay_quarantined_tables",
		"Tables in belay_quarantine that belay purge has not dropped yet.", nil, nil)
)

// statsSnapshot is one read of the records.
type statsSnapshot struct {
	changes     map[string]float64 // by status
	attempts    map[string]float64 // by outcome
	schemaBytes float64
	quarantined float64
}

// NewStats prepares a Collector that reads through connString, a URL or
// key=value string as libpq takes them; the password comes from it or
// from PGPASSFILE/.pgpass, read again at each connection. Nothing
// connects until the first scrape. report is called with the error that
// starts each run of failed reads, and with nil when a read succeeds
// again; it may be nil. Close releases the connection.
func NewStats(connString string, report func(error)) (*Stats, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgx's message may quote the text, password and all.
		return nil, errors.New("capture stats: the database URL cannot be read")
	}
	cfg.MaxConns = 1
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "belay stats"
	}
	// A rotated password in the password file is used at the next
	// connection, without a restart.
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		if fresh, err := pgconn.ParseConfig(connString); err == nil {
			cc.Password = fresh.Password
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("capture stats: %w", err)
	}
	c := cfg.ConnConfig
	return &Stats{
		pool:    pool,
		target:  fmt.Sprintf("user=%s host=%s port=%d database=%s", c.User, c.Host, c.Port, c.Database),
		report:  report,
		ttl:     statsTTL,
		timeout: statsQueryTimeout,
		now:     time.Now,
	}, nil
}

// Target names where Stats reads (user, host, port, database; never the
// password), for belay's log.
func (s *Stats) Target() string { return s.target }

// Close closes the connection, after a read under way.
func (s *Stats) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pool.Close()
}

// Describe implements prometheus.Collector.
func (s *Stats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{statsUpDesc, changesDesc, undoAttemptsDesc, schemaBytesDesc, quarantinedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads the records when the
// last read is older than the cache's 15 s, a failed read too, so that a
// database that is down is not asked at every scrape.
func (s *Stats) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readAt.IsZero() || s.now().Sub(s.readAt) >= s.ttl {
		snap, err := s.read()
		failing := s.lastErr != nil
		s.readAt, s.last, s.lastErr = s.now(), snap, err
		if s.report != nil && (err != nil) != failing {
			s.report(err)
		}
	}
	if s.lastErr != nil {
		ch <- prometheus.MustNewConstMetric(statsUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(statsUpDesc, prometheus.GaugeValue, 1)
	for _, status := range []string{"applied", "undone", "expired"} {
		ch <- prometheus.MustNewConstMetric(changesDesc, prometheus.GaugeValue, s.last.changes[status], status)
	}
	for _, o := range UndoOutcomes {
		ch <- prometheus.MustNewConstMetric(undoAttemptsDesc, prometheus.CounterValue, s.last.attempts[string(o)], string(o))
	}
	ch <- prometheus.MustNewConstMetric(schemaBytesDesc, prometheus.GaugeValue, s.last.schemaBytes)
	ch <- prometheus.MustNewConstMetric(quarantinedDesc, prometheus.GaugeValue, s.last.quarantined)
}

// read asks the database, each step under the query timeout.
func (s *Stats) read() (statsSnapshot, error) {
	snap := statsSnapshot{changes: map[string]float64{}, attempts: map[string]float64{}}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	conn, err := s.pool.Acquire(ctx)
	cancel()
	if err != nil {
		return snap, fmt.Errorf("capture stats: connect: %w", err)
	}
	defer conn.Release()
	for _, q := range []struct {
		what, sql string
		into      func(pgx.Rows) error
	}{
		{"belay.changes", "SELECT status, count(*)::float8 FROM belay.changes GROUP BY status", byLabel(snap.changes)},
		{"belay.undo_attempts", "SELECT outcome, count(*)::float8 FROM belay.undo_attempts GROUP BY outcome", byLabel(snap.attempts)},
		{"the size of belay's schemas", `
			SELECT coalesce(sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::float8
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname IN ('belay', 'belay_images', 'belay_quarantine') AND c.relkind IN ('r', 'm')`, one(&snap.schemaBytes)},
		{"belay.quarantined", `
			SELECT count(*)::float8 FROM belay.quarantined q JOIN pg_catalog.pg_class c ON c.oid = q.table_oid
			WHERE q.purged_at IS NULL AND c.relnamespace = 'belay_quarantine'::regnamespace`, one(&snap.quarantined)},
	} {
		if err := s.query(conn, q.sql, q.into); err != nil {
			return snap, fmt.Errorf("capture stats: read %s: %w", q.what, err)
		}
	}
	return snap, nil
}

func (s *Stats) query(conn *pgxpool.Conn, sql string, into func(pgx.Rows) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := into(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func byLabel(m map[string]float64) func(pgx.Rows) error {
	return func(r pgx.Rows) error {
		var label string
		var n float64
		if err := r.Scan(&label, &n); err != nil {
			return err
		}
		m[label] = n
		return nil
	}
}

func one(v *float64) func(pgx.Rows) error {
	return func(r pgx.Rows) error { return r.Scan(v) }
}
