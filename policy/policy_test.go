package policy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/belay-proxy/belay/rules"
)

func mustCompile(t testing.TB, s *Spec) *Policy {
	t.Helper()
	p, errs := Compile(s)
	if errs != nil {
		t.Fatalf("Compile: %v", errs)
	}
	return p
}

// guarded is the policy of configs/belay.yaml, shortened.
func guarded() *Spec {
	return &Spec{
		DefaultProfile: "applications",
		Profiles: []ProfileSpec{
			{Name: "interactive", Match: MatchSpec{ApplicationNames: []string{"psql", "pgAdmin*", "DBeaver*"}},
				DefaultAction: "block", Rules: map[string]string{"opaque-code": "audit", "set-role": "audit"}, Hold: true},
			{Name: "applications", DefaultAction: "audit",
				Rules: map[string]string{"no-where": "block", "unparsable": "block"}},
		},
	}
}

func TestMatch(t *testing.T) {
	spec := &Spec{
		DefaultProfile: "fallback",
		Profiles: []ProfileSpec{
			{Name: "ops-from-vpn", DefaultAction: "allow", Match: MatchSpec{
				Users: []string{"ops_*", "root"}, ClientAddrs: []string{"10.8.0.0/16", "2001:db8::/32", "192.0.2.7"}}},
			{Name: "reporting", DefaultAction: "audit", Match: MatchSpec{
				Databases: []string{"reports", "analytics_*"}}},
			{Name: "interactive", DefaultAction: "block", Match: MatchSpec{
				ApplicationNames: []string{"psql", "pgAdmin*", "DBeaver*"}}},
			{Name: "fallback", DefaultAction: "audit", Match: MatchSpec{Users: []string{"nobody-matches-this"}}},
		},
	}
	p := mustCompile(t, spec)
	addr := netip.MustParseAddr
	tests := []struct {
		name string
		s    Session
		want string
	}{
		{"nothing matches: default", Session{User: "app", Database: "shop", ApplicationName: "shop-api"}, "fallback"},
		{"empty session: default", Session{}, "fallback"},
		{"user glob and cidr", Session{User: "ops_alice", ClientAddr: addr("10.8.3.4")}, "ops-from-vpn"},
		{"user literal and single ip", Session{User: "root", ClientAddr: addr("192.0.2.7")}, "ops-from-vpn"},
		{"single ip is exact", Session{User: "root", ClientAddr: addr("192.0.2.8")}, "fallback"},
		{"ipv6 cidr", Session{User: "ops_bob", ClientAddr: addr("2001:db8:1::5")}, "ops-from-vpn"},
		{"ipv4-mapped client", Session{User: "ops_bob", ClientAddr: addr("::ffff:10.8.0.1")}, "ops-from-vpn"},
		{"user matches, address does not: all criteria must hold", Session{User: "ops_alice", ClientAddr: addr("10.9.0.1")}, "fallback"},
		{"unix socket: no address matches a cidr", Session{User: "ops_alice"}, "fallback"},
		{"users are case-sensitive", Session{User: "OPS_alice", ClientAddr: addr("10.8.0.1")}, "fallback"},
		{"database glob", Session{Database: "analytics_eu"}, "reporting"},
		{"databases are case-sensitive", Session{Database: "Reports"}, "fallback"},
		{"app names are case-insensitive", Session{ApplicationName: "PSQL"}, "interactive"},
		{"app name glob", Session{ApplicationName: "DBeaver 24.0.1 - Main <shop>"}, "interactive"},
		{"app name glob, other case", Session{ApplicationName: "pgadmin 4 - CONN:1"}, "interactive"},
		{"app name is whole-string", Session{ApplicationName: "psql-wrapper"}, "fallback"},
		{"first match wins", Session{User: "ops_x", ClientAddr: addr("10.8.0.1"), Database: "reports", ApplicationName: "psql"}, "ops-from-vpn"},
		{"first match wins, second", Session{Database: "reports", ApplicationName: "psql"}, "reporting"},
		{"default profile matched by its criteria", Session{User: "nobody-matches-this"}, "fallback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Match(tc.s).Name; got != tc.want {
				t.Errorf("Match(%+v) = %s, want %s", tc.s, got, tc.want)
			}
		})
	}
}

func TestMatchNoCriteriaMatchesEveryone(t *testing.T) {
	p := mustCompile(t, guarded())
	if got := p.Match(Session{User: "postgres", ApplicationName: "billing"}).Name; got != "applications" {
		t.Errorf("Match = %s, want applications", got)
	}
	if got := p.Match(Session{ApplicationName: "psql"}).Name; got != "interactive" {
		t.Errorf("Match(psql) = %s, want interactive", got)
	}
}

func finding(r rules.RuleID) rules.Finding {
	return rules.Finding{Rule: r, Target: "t", Detail: string(r) + " fired"}
}

func TestDecide(t *testing.T) {
	p := mustCompile(t, guarded())
	interactive, apps := p.Profile("interactive"), p.Profile("applications")
	tests := []struct {
		name     string
		pr       *Profile
		findings []rules.Finding
		want     Action
		deciding rules.RuleID
		audited  int
	}{
		{"no findings", interactive, nil, Allow, "", 0},
		{"no findings, empty slice", apps, []rules.Finding{}, Allow, "", 0},
		{"default action block", interactive, []rules.Finding{finding(rules.RuleTruncate)}, Block, rules.RuleTruncate, 0},
		{"per-rule override to audit", interactive, []rules.Finding{finding(rules.RuleOpaqueCode)}, Audit, rules.RuleOpaqueCode, 1},
		{"default action audit", apps, []rules.Finding{finding(rules.RuleTruncate)}, Audit, rules.RuleTruncate, 1},
		{"per-rule override to block", apps, []rules.Finding{finding(rules.RuleNoWhere)}, Block, rules.RuleNoWhere, 0},
		{"strictest wins", apps, []rules.Finding{finding(rules.RuleTruncate), finding(rules.RuleNoWhere), finding(rules.RuleSetRole)}, Block, rules.RuleNoWhere, 2},
		{"first of the strictest decides", interactive, []rules.Finding{finding(rules.RuleOpaqueCode), finding(rules.RuleTruncate), finding(rules.RuleDropTable)}, Block, rules.RuleTruncate, 1},
		{"first audit decides among audits", apps, []rules.Finding{finding(rules.RuleMerge), finding(rules.RuleTruncate)}, Audit, rules.RuleMerge, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.pr.Decide(tc.findings)
			if d.Action != tc.want || d.Finding.Rule != tc.deciding || d.Audited != tc.audited {
				t.Errorf("Decide = {%v %q %d}, want {%v %q %d}", d.Action, d.Finding.Rule, d.Audited, tc.want, tc.deciding, tc.audited)
			}
		})
	}
}

func TestDecideAllow(t *testing.T) {
	p := mustCompile(t, &Spec{DefaultProfile: "dba", Profiles: []ProfileSpec{
		{Name: "dba", DefaultAction: "allow", Rules: map[string]string{"drop-database": "block"}},
	}})
	pr := p.Default()
	if d := pr.Decide([]rules.Finding{finding(rules.RuleTruncate)}); d.Action != Allow || d.Audited != 0 || d.Finding.Rule != "" {
		t.Errorf("Decide(truncate) = %+v, want a bare Allow", d)
	}
	if d := pr.Decide([]rules.Finding{finding(rules.RuleTruncate), finding(rules.RuleDropDatabase)}); d.Action != Block || d.Finding.Rule != rules.RuleDropDatabase {
		t.Errorf("Decide = %+v, want block by drop-database", d)
	}
}

func TestProfileFields(t *testing.T) {
	s := guarded()
	s.Profiles[0].RowCap, s.Profiles[0].HoldTimeout = new(1000), new(30*time.Second)
	p := mustCompile(t, s)
	if pr := p.Profile("interactive"); !pr.Hold || pr.RowCap != 1000 || pr.HoldTimeout != 30*time.Second || pr.DefaultAction != Block {
		t.Errorf("interactive = %+v", pr)
	}
	if pr := p.Profile("applications"); pr.Hold || pr.RowCap != 0 || pr.HoldTimeout != DefaultHoldTimeout || p.Default() != pr {
		t.Errorf("applications = %+v, want the defaults and to be the default profile", pr)
	}
	if p.Profile("nope") != nil {
		t.Error(`Profile("nope") != nil`)
	}
	names := []string{}
	for _, pr := range p.Profiles() {
		names = append(names, pr.Name)
	}
	if len(names) != 2 || names[0] != "interactive" || names[1] != "applications" {
		t.Errorf("Profiles() = %v", names)
	}
}

func TestAuditOnly(t *testing.T) {
	p := AuditOnly()
	pr := p.Match(Session{User: "postgres", ApplicationName: "psql"})
	if pr.Name != "audit-only" || p.Default() != pr {
		t.Fatalf("AuditOnly matched %q", pr.Name)
	}
	for _, id := range rules.All() {
		if a := pr.Action(id); a != Audit {
			t.Errorf("audit-only: %s is %v, want audit", id, a)
		}
	}
	if d := pr.Decide([]rules.Finding{finding(rules.RuleDropDatabase), finding(rules.RuleNoWhere)}); d.Action != Audit || d.Audited != 2 {
		t.Errorf("Decide = %+v, want audit of 2", d)
	}
	// It holds nothing; the hold fields are the defaults, like a compiled
	// profile's that does not hold.
	if pr.Hold || pr.RowCap != 0 || pr.TableRowCaps != nil || pr.HoldTimeout != DefaultHoldTimeout ||
		pr.HoldLockTimeout != DefaultHoldLockTimeout || pr.HoldStatementTimeout != DefaultHoldStatementTimeout {
		t.Errorf("audit-only hold fields = %+v", pr)
	}
	if p.CanHold() {
		t.Error("audit-only CanHold")
	}
}

func TestActionString(t *testing.T) {
	for _, name := range ActionNames {
		a, ok := ParseAction(name)
		if !ok || a.String() != name {
			t.Errorf("ParseAction(%q) = %v, %v", name, a, ok)
		}
	}
	if _, ok := ParseAction("Block"); ok {
		t.Error(`ParseAction("Block") succeeded; actions are lower case`)
	}
	if !(Allow < Audit && Audit < Block) {
		t.Error("actions are not ordered by strictness")
	}
	if s := Action(0).String(); s != "Action(0)" {
		t.Errorf("Action(0) = %s", s)
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
