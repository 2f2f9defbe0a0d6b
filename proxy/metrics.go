package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
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

	allowSimple, allowExtended prometheus.Counter
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
			Name: "belay_statements_total", Help: "Statements (Query and Parse messages) seen, by decision and protocol.",
		}, []string{"decision", "protocol"}),
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
	}
	reg.MustRegister(m.ConnectionsOpen, m.ConnectionsTotal, m.ConnectionsRejected, m.Statements,
		m.BytesClientToServer, m.BytesServerToClient, m.UpstreamErrors, m.CancelRequests, m.ConfigReloads)
	m.resolve()
	return m
}

// resolve pre-binds the label values used on the hot path, so counting a
// statement is one atomic add, not a label lookup.
func (m *Metrics) resolve() {
	m.allowSimple = m.Statements.WithLabelValues("allow", "simple")
	m.allowExtended = m.Statements.WithLabelValues("allow", "extended")
}
