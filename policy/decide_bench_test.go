package policy

import (
	"testing"

	"github.com/belay-proxy/belay/rules"
)

// Decide runs for every statement: it must not allocate.
func BenchmarkDecide(b *testing.B) {
	pr := mustCompile(b, guarded()).Profile("applications")
	for _, bc := range []struct {
		name     string
		findings []rules.Finding
	}{
		{"0findings", nil},
		{"2findings", []rules.Finding{finding(rules.RuleTruncate), finding(rules.RuleNoWhere)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = pr.Decide(bc.findings)
			}
		})
	}
}

// TestDecideDoesNotAllocate keeps the benchmark's promise in the ordinary
// test run.
func TestDecideDoesNotAllocate(t *testing.T) {
	pr := mustCompile(t, guarded()).Profile("applications")
	two := []rules.Finding{finding(rules.RuleTruncate), finding(rules.RuleNoWhere)}
	for _, f := range [][]rules.Finding{nil, two} {
		if n := testing.AllocsPerRun(100, func() { _ = pr.Decide(f) }); n != 0 {
			t.Errorf("Decide(%d findings) allocates %v times", len(f), n)
		}
	}
}
