package proxy

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// Metrics are the relay's Prometheus collectors, all prefixed belay_.
type Metrics struct {
	ConnectionsOpen     prometheus.Gauge
	ConnectionsTotal    prometheus.Counter
	ConnectionsRejected *prometheus.CounterVec
	Statements          *prometheus.CounterVec
	BytesClientToServer prometheus.Counter
	BytesServerToClient prometheus.Counter
	UpstreamErrors      *prometheus.CounterVec
	CancelRequests      *prometheus.CounterVec
	ConfigReloads       *prometheus.CounterVec
	Blocked             *prometheus.CounterVec
	BlockedByUser       *prometheus.CounterVec
	ParseSeconds        prometheus.Histogram
	HoldsOpen           prometheus.Gauge
	Holds               *prometheus.CounterVec
	HoldRows            prometheus.Histogram
	HoldSeconds         prometheus.Histogram
	CapturedRows        prometheus.Counter
	CapturedBytes       prometheus.Counter

	// statements[kind][action] pre-binds the hot path's label values.
	statements [rules.KindUtility + 1][policy.Block + 1]prometheus.Counter
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ConnectionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "belay_connections_open", Help: "Client connections currently open.",
		}),
		ConnectionsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belay_connections_total", Help: "Client connections accepted.",
		}),
		ConnectionsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belay_connections_rejected_total", Help: "Client connections refused or ended by belay, by reason.",
		}, []string{"reason"}),
		Statements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belay_statements_total", Help: "Statements seen (each statement of a Query string, each Parse), by kind and decision.",
		}, []string{"kind", "decision"}),
		Blocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belay_blocked_total", Help: "Query strings and Parse messages blocked, by the deciding rule and the policy profile.",
		}, []string{"rule", "profile"}),
		BlockedByUser: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belay_blocked_by_user_total", Help: "Blocked query strings and Parse messages by rule and user; counted only with metrics.per_user.",
		}, []string{"rule", "user"}),
		ParseSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "belay_parse_duration_seconds", Help: "Time to parse and classify a statement the cache did not know.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 2.5, 10),
		}),
		BytesClientToServer: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belay_client_to_upstream_bytes_total", Help: "Bytes relayed from clients to PostgreSQL.",
		}),
		BytesServerToClient: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belay_upstream_to_client_bytes_total", Help: "Bytes relayed from PostgreSQL to clients.",
		}),
		UpstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belay_upstream_errors_total", Help: "Failures talking to PostgreSQL, by stage.",
		}, []string{"stage"}),
		CancelRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belay_cancel_requests_total", Help: "CancelRequests received, by outcome.",
		}, []string{"outcome"}),
		ConfigReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belay_config_reloads_total", Help: "Configuration reloads (SIGHUP), by result.",
		}, []string{"result"}),
		HoldsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "belay_holds_open", Help: "Held changes waiting for COMMIT or ROLLBACK.",
		}),
		Holds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belay_holds_total", Help: "Held changes by outcome: committed, rolled_back, timeout, disconnect, cap, estimate (refused before running), expect, limit, uncaptured, error.",
		}, []string{"outcome"}),
		HoldRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "belay_hold_rows", Help: "Rows a held change had changed when it ended.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		HoldSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "belay_hold_duration_seconds", Help: "How long held changes stayed open.",
			Buckets: prometheus.ExponentialBuckets(0.05, 3, 10),
		}),
		CapturedRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belay_captured_rows_total", Help: "Rows whose before-image (or, for inserts, image) held writes kept, counted as each write is checked; a change rolled back later keeps none.",
		}),
		CapturedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belay_captured_bytes_total", Help: "Size on disk of the images held writes kept (pg_total_relation_size of each image table), counted like belay_captured_rows_total.",
		}),
	}
	reg.MustRegister(m.HoldsOpen, m.Holds, m.HoldRows, m.HoldSeconds, m.CapturedRows, m.CapturedBytes)
	reg.MustRegister(m.ConnectionsOpen, m.ConnectionsTotal, m.ConnectionsRejected, m.Statements,
		m.BytesClientToServer, m.BytesServerToClient, m.UpstreamErrors, m.CancelRequests, m.ConfigReloads, m.Blocked, m.BlockedByUser, m.ParseSeconds)
	m.resolve()
	return m
}

// resolve pre-binds the label values used on the hot path, so counting a
// statement is one atomic add, not a label lookup.
func (m *Metrics) resolve() {
	for k := range m.statements {
		for _, a := range []policy.Action{policy.Allow, policy.Audit, policy.Quarantine, policy.Block} {
			m.statements[k][a] = m.Statements.WithLabelValues(rules.Kind(k).String(), a.String())
		}
	}
}

func (m *Metrics) countStatement(k rules.Kind, a policy.Action) {
	if int(k) < len(m.statements) && int(a) < len(m.statements[k]) && m.statements[k][a] != nil {
		m.statements[k][a].Inc()
	}
}

func (m *Metrics) countBlocked(rule rules.RuleID, profile, user string) {
	m.Blocked.WithLabelValues(string(rule), profile).Inc()
	if user != "" {
		m.BlockedByUser.WithLabelValues(string(rule), user).Inc()
	}
}

// ObserveParse feeds the parse-time histogram (rules.Options.ObserveParse).
func (m *Metrics) ObserveParse(d time.Duration) { m.ParseSeconds.Observe(d.Seconds()) }

// RegisterCacheStats exports the classifier's cache hits and misses.
func RegisterCacheStats(reg prometheus.Registerer, stats func() (hits, misses uint64)) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belay_statement_cache_hits_total", Help: "Statements classified from the cache.",
		}, func() float64 { h, _ := stats(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belay_statement_cache_misses_total", Help: "Statements the cache did not know, parsed.",
		}, func() float64 { _, m := stats(); return float64(m) }),
	)
}
