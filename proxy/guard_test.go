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
