package proxy

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belay-proxy/belay/audit"
	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

func blockingPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, errs := policy.Compile(&policy.Spec{DefaultProfile: "strict", Profiles: []policy.ProfileSpec{{Name: "strict", DefaultAction: "block"}}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return p
}

// Blocks are counted by rule and profile; by user only when the
// configuration opts in (user names are unbounded and may be sensitive).
func TestGuardCountsBlocks(t *testing.T) {
	for _, perUser := range []bool{false, true} {
		m := NewMetrics(prometheus.NewRegistry())
		off, err := audit.Open("off")
		if err != nil {
			t.Fatal(err)
		}
		g := &Guard{Classifier: rules.NewClassifier(rules.Options{}), Policy: blockingPolicy(t), Audit: off, Metrics: m, PerUser: perUser}
		ts := startServerWith(t, nil, g)
		conn := ts.connect(t)
		if _, err := conn.Exec(context.Background(), "DELETE FROM anything", pgx.QueryExecModeSimpleProtocol); err == nil {
			t.Fatal("DELETE without WHERE passed a blocking policy")
		}
		if got := testutil.ToFloat64(m.Blocked.WithLabelValues("no-where", "strict")); got != 1 {
			t.Fatalf("belay_blocked_total{no-where,strict} = %v, want 1", got)
		}
		series := testutil.CollectAndCount(m.BlockedByUser)
		if perUser && (series != 1 || testutil.ToFloat64(m.BlockedByUser.WithLabelValues("no-where", "postgres")) != 1) {
			t.Fatalf("per_user on: %d series, want the block counted for postgres", series)
		}
		if !perUser && series != 0 {
			t.Fatalf("per_user off: %d per-user series, want none", series)
		}
	}
}

// A session whose profile captures starts upstream with capture on; other
// sessions start as their client asked.
func TestGuardStartsCapturingSessions(t *testing.T) {
	p, errs := policy.Compile(&policy.Spec{DefaultProfile: "apps", Profiles: []policy.ProfileSpec{
		{Name: "people", Match: policy.MatchSpec{ApplicationNames: []string{"psql"}}, DefaultAction: "audit", Hold: true, Capture: true},
		{Name: "apps", DefaultAction: "audit"},
	}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	off, err := audit.Open("off")
	if err != nil {
		t.Fatal(err)
	}
	g := &Guard{Classifier: rules.NewClassifier(rules.Options{}), Policy: p, Audit: off, Metrics: NewMetrics(prometheus.NewRegistry())}
	ts := startServerWith(t, nil, g)
	for app, want := range map[string]string{"psql": "on", "nightly": ""} {
		conn := ts.connect(t, func(c *pgx.ConnConfig) { c.RuntimeParams["application_name"] = app })
		var got string
		if err := conn.QueryRow(context.Background(), "SELECT coalesce(current_setting('belay.capture', true), '')").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%s: belay.capture = %q, want %q", app, got, want)
		}
	}
}
