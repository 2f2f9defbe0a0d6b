package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// TestShippedPolicies checks that the policies in configs/ say what their
// comments say.
func TestShippedPolicies(t *testing.T) {
	cfg, err := Load("../configs/belay.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Policy()
	if p.Default().Name != "applications" {
		t.Errorf("default profile = %s, want applications", p.Default().Name)
	}
	for app, want := range map[string]string{
		"psql": "interactive", "PSQL": "interactive", "pgAdmin 4 - CONN:1": "interactive",
		"DBeaver 24.0.1 - Main <shop>": "interactive", "DataGrip 2024.1": "interactive", "usql": "interactive",
		"": "applications", "billing-api": "applications", "psql-wrapper": "applications",
	} {
		if got := p.Match(policy.Session{User: "postgres", ApplicationName: app}).Name; got != want {
			t.Errorf("application_name %q: profile %s, want %s", app, got, want)
		}
	}
	interactive, apps := p.Profile("interactive"), p.Profile("applications")
	if !interactive.Hold || interactive.RowCap != 1000 || interactive.TableRowCaps != nil || interactive.HoldTimeout != 2*time.Minute ||
		interactive.HoldLockTimeout != 3*time.Second || interactive.HoldStatementTimeout != 30*time.Second {
		t.Errorf("interactive hold %v row_cap %d table_row_caps %v hold_timeout %v hold_lock_timeout %v hold_statement_timeout %v",
			interactive.Hold, interactive.RowCap, interactive.TableRowCaps, interactive.HoldTimeout, interactive.HoldLockTimeout, interactive.HoldStatementTimeout)
	}
	if !interactive.Capture || interactive.AllowUncaptured || interactive.PreviewValues {
		t.Errorf("interactive capture %v, allow uncaptured %v, preview values %v; want capture, refuse, names only",
			interactive.Capture, interactive.AllowUncaptured, interactive.PreviewValues)
	}
	if apps.Hold || apps.RowCap != 0 || apps.Capture {
		t.Errorf("applications hold %v row_cap %d, want no hold", apps.Hold, apps.RowCap)
	}
	appsBlock := map[rules.RuleID]bool{rules.RuleNoWhere: true, rules.RuleConstantWhere: true, rules.RuleUnparsable: true,
		rules.RuleTooComplex: true, rules.RuleUnknownStatement: true, rules.RuleUnknownPrepared: true, rules.RuleProtectedSchema: true}
	for _, id := range rules.All() {
		want := policy.Block
		switch id {
		case rules.RuleOpaqueCode, rules.RuleSetRole:
			want = policy.Audit
		case rules.RuleDropTable:
			want = policy.Quarantine
		}
		if got := interactive.Action(id); got != want {
			t.Errorf("interactive %s = %v, want %v", id, got, want)
		}
		want = policy.Audit
		if appsBlock[id] {
			want = policy.Block
		}
		if got := apps.Action(id); got != want {
			t.Errorf("applications %s = %v, want %v", id, got, want)
		}
	}

	cfg, err = Load("../configs/audit-only.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pr := cfg.Policy().Match(policy.Session{ApplicationName: "psql"})
	if pr.Name != "audit-only" || len(cfg.Policy().Profiles()) != 1 || pr.Hold {
		t.Errorf("audit-only.yaml: matched %s of %d profiles, hold %v", pr.Name, len(cfg.Policy().Profiles()), pr.Hold)
	}
	for _, id := range rules.All() {
		if a := pr.Action(id); a != policy.Audit {
			t.Errorf("audit-only.yaml: %s = %v, want audit", id, a)
		}
	}
}

func TestNoPolicySectionIsAuditOnly(t *testing.T) {
	cfg, err := Parse(strings.NewReader("listen: 127.0.0.1:7000\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PolicySpec != nil || cfg.Policy() != policy.AuditOnly() {
		t.Error("a file without a policy section does not get the built-in audit-only policy")
	}
	if Default().Policy() != policy.AuditOnly() {
		t.Error("Default().Policy() is not the audit-only policy")
	}
}

func TestOverridesKeepPolicy(t *testing.T) {
	cfg, err := Load("../configs/belay.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Overrides{Listen: ":7000"}.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Policy() != cfg.Policy() {
		t.Error("Apply lost the compiled policy")
	}
}

const goodPolicy = `policy:
  default_profile: apps
  profiles:
    - name: people
      match:
        application_names: [psql]
      default_action: block
    - name: apps
      default_action: audit
`

func TestPolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []wantErr
	}{
		{"unknown rule", strings.Replace(goodPolicy, "default_action: audit\n", "default_action: audit\n      rules:\n        no-wher: block\n", 1),
			[]wantErr{{11, 9, "policy.profiles[1].rules.no-wher", `unknown rule "no-wher"; did you mean no-where?`}}},
		{"unknown action", strings.Replace(goodPolicy, "default_action: block", "default_action: deny", 1),
			[]wantErr{{7, 7, "policy.profiles[0].default_action", `unknown action "deny": want allow, audit, quarantine, block`}}},
		{"unknown action in rules", goodPolicy + "      rules: {truncate: audit, merge: nope}\n",
			[]wantErr{{10, 32, "policy.profiles[1].rules.merge", `unknown action "nope"`}}},
		{"duplicate names", strings.Replace(goodPolicy, "name: people", "name: apps", 1),
			[]wantErr{{8, 7, "policy.profiles[1].name", `duplicate profile name "apps"`}}},
		{"default names no profile", strings.Replace(goodPolicy, "default_profile: apps", "default_profile: app", 1),
			[]wantErr{{2, 3, "policy.default_profile", `no profile is named "app"`}}},
		{"default missing", strings.Replace(goodPolicy, "  default_profile: apps\n", "", 1),
			[]wantErr{{1, 1, "policy.default_profile", "is required"}}},
		{"bad glob", strings.Replace(goodPolicy, "[psql]", "[psql, \"pgAdmin[\"]", 1),
			[]wantErr{{6, 35, "policy.profiles[0].match.application_names[1]", `bad pattern "pgAdmin["`}}},
		{"bad cidr and ip", strings.Replace(goodPolicy, "      default_action: audit\n", "      match:\n        client_addrs:\n          - 10.0.0.0/8\n          - 10.0.0.0/40\n          - db.internal\n      default_action: audit\n", 1),
			[]wantErr{
				{12, 13, "policy.profiles[1].match.client_addrs[1]", `"10.0.0.0/40" is not an IP address or CIDR`},
				{13, 13, "policy.profiles[1].match.client_addrs[2]", `"db.internal"`},
			}},
		{"negative row_cap, zero hold_timeout", goodPolicy + "      hold: true\n      row_cap: -1\n      hold_timeout: 0s\n",
			[]wantErr{
				{11, 7, "policy.profiles[1].row_cap", "must not be negative"},
				{12, 7, "policy.profiles[1].hold_timeout", "must be positive"},
			}},
		{"hold keys without hold: true", goodPolicy + "      row_cap: 100\n      table_row_caps: {orders: 1}\n      hold_lock_timeout: 3s\n",
			[]wantErr{
				{10, 7, "policy.profiles[1].row_cap", "applies only to a profile that holds: add hold: true, or remove row_cap"},
				{11, 7, "policy.profiles[1].table_row_caps", "applies only to a profile that holds"},
				{12, 7, "policy.profiles[1].hold_lock_timeout", "applies only to a profile that holds"},
			}},
		{"hold: false is no hold", goodPolicy + "      hold: false\n      hold_timeout: 5m\n",
			[]wantErr{{11, 7, "policy.profiles[1].hold_timeout", "applies only to a profile that holds"}}},
		{"bad hold values", goodPolicy + "      hold: true\n      hold_timeout: 48h\n      hold_lock_timeout: -1s\n      hold_statement_timeout: 2500us\n",
			[]wantErr{
				{11, 7, "policy.profiles[1].hold_timeout", "must be at most 24h"},
				{12, 7, "policy.profiles[1].hold_lock_timeout", "must not be negative"},
				{13, 7, "policy.profiles[1].hold_statement_timeout", "must be whole milliseconds, not 2.5ms"},
			}},
		{"a timeout without a unit", goodPolicy + "      hold: true\n      hold_lock_timeout: 0\n",
			[]wantErr{{11, 7, "policy.profiles[1].hold_lock_timeout", "cannot unmarshal !!int `0` into time.Duration"}}},
		{"bad table_row_caps", goodPolicy + "      hold: true\n      table_row_caps:\n        orders: 10\n        '\"Orders\"': 5\n        public.ORDERS: 1\n        shop.public.x: 1\n        audit_log: -1\n",
			[]wantErr{
				{14, 9, "policy.profiles[1].table_row_caps.public.ORDERS", `names the same table as "orders" (public.orders)`},
				{15, 9, "policy.profiles[1].table_row_caps.shop.public.x", `"shop.public.x" is not a table name: more than schema and table`},
				{16, 9, "policy.profiles[1].table_row_caps.audit_log", "must not be negative"},
			}},
		{"table_row_caps not a mapping", goodPolicy + "      hold: true\n      table_row_caps: [orders]\n",
			[]wantErr{{11, 7, "policy.profiles[1].table_row_caps", "cannot unmarshal !!seq"}}},
		{"hold not a boolean", goodPolicy + "      hold: maybe\n",
			[]wantErr{{10, 7, "policy.profiles[1].hold", "cannot unmarshal"}}},
		{"every error, in file order", "policy:\n  default_profile: x\n  profiles:\n    - name: a\n      default_action: allow\n      rules:\n        truncat: block\n        drop-tabel: audit\n        merge: maybe\n",
			[]wantErr{
				{2, 3, "policy.default_profile", `no profile is named "x"`},
				{7, 9, "policy.profiles[0].rules.truncat", "did you mean truncate?"},
				{8, 9, "policy.profiles[0].rules.drop-tabel", "did you mean drop-table?"},
				{9, 9, "policy.profiles[0].rules.merge", `unknown action "maybe"`},
			}},
		{"with other errors", "listen: nowhere\n" + strings.Replace(goodPolicy, "default_action: audit", "default_action: loud", 1),
			[]wantErr{
				{1, 1, "listen", "want host:port"},
				{10, 7, "policy.profiles[1].default_action", `unknown action "loud"`},
			}},
		{"unknown keys", strings.Replace(goodPolicy, "application_names", "application_name", 1) + "      rows_cap: 5\n",
			[]wantErr{
				{6, 9, "policy.profiles[0].match.application_name", "unknown key"},
				{10, 7, "policy.profiles[1].rows_cap", "unknown key"},
			}},
		{"unknown key in policy", "policy:\n  profile: x\n",
			[]wantErr{{2, 3, "policy.profile", "unknown key"}}},
		{"wrong type", goodPolicy + "      row_cap: lots\n",
			[]wantErr{{10, 7, "policy.profiles[1].row_cap", "cannot unmarshal"}}},
		{"rules not a mapping", goodPolicy + "      rules: [no-where]\n",
			[]wantErr{{10, 7, "policy.profiles[1].rules", "cannot unmarshal !!seq"}}},
		{"no profiles", "policy: {default_profile: x}\n",
			[]wantErr{
				{1, 1, "policy.profiles", "at least one profile"},
				{1, 10, "policy.default_profile", `no profile is named "x"`},
			}},
		{"error in an anchor points at the anchor", "policy:\n  default_profile: b\n  profiles:\n    - name: a\n      match: {users: [alice]}\n      default_action: block\n      rules: &r\n        no-wehre: block\n    - name: b\n      default_action: audit\n      rules: *r\n",
			[]wantErr{
				{8, 9, "policy.profiles[0].rules.no-wehre", "did you mean no-where?"},
				{8, 9, "policy.profiles[1].rules.no-wehre", "did you mean no-where?"},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(tc.doc), "bad.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded, want errors %v\n%s", tc.want, tc.doc)
			}
			if cfg != nil {
				t.Error("Parse returned a config together with an error")
			}
			var ce *Errors
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not *Errors", err, err)
			}
			if len(ce.List) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v\n%s", len(ce.List), len(tc.want), err, tc.doc)
			}
			for i, w := range tc.want {
				g := ce.List[i]
				if g.Line != w.line || g.Column != w.col || g.Field != w.field || !strings.Contains(g.Message, w.msg) {
					t.Errorf("error %d = %+v, want line %d column %d field %q message containing %q",
						i, g, w.line, w.col, w.field, w.msg)
				}
			}
		})
	}
}

func TestGoodPolicyParses(t *testing.T) {
	cfg, err := Parse(strings.NewReader(goodPolicy), "good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Policy().Match(policy.Session{ApplicationName: "psql"}).Name; got != "people" {
		t.Errorf("psql matched %s, want people", got)
	}
}

func TestHoldPolicyParses(t *testing.T) {
	doc := goodPolicy + `      hold: true
      row_cap: 500
      table_row_caps:
        orders: 10
        billing.Invoices: 20
        '"AuditLog"': 0
      hold_timeout: 90s
      hold_lock_timeout: 0s
      hold_statement_timeout: 1500ms
`
	cfg, err := Parse(strings.NewReader(doc), "hold.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pr := cfg.Policy().Profile("apps")
	if !pr.Hold || pr.RowCap != 500 || pr.HoldTimeout != 90*time.Second || pr.HoldLockTimeout != 0 || pr.HoldStatementTimeout != 1500*time.Millisecond {
		t.Errorf("apps = %+v", pr)
	}
	for name, want := range map[string]int{"public.orders": 10, "billing.invoices": 20, "public.AuditLog": 0} {
		if got, ok := pr.TableCap(name); !ok || got != want {
			t.Errorf("TableCap(%q) = %d, %v, want %d", name, got, ok, want)
		}
	}
	if people := cfg.Policy().Profile("people"); people.Hold {
		t.Error("people holds without hold: true")
	}
}

// classify: false would turn a blocking policy off in silence: refused.
func TestClassifyOffNeedsAuditOnlyPolicy(t *testing.T) {
	yml := "classify: false\npolicy:\n  default_profile: p\n  profiles:\n    - name: p\n      default_action: block\n"
	_, err := Parse(strings.NewReader(yml), "x.yaml")
	if err == nil || !strings.Contains(err.Error(), "line 1,") || !strings.Contains(err.Error(), "classify") {
		t.Fatalf("want an error at classify (line 1), got %v", err)
	}
	// Holds, too: without parsing no write can be told from a read.
	yml = "classify: false\npolicy:\n  default_profile: p\n  profiles:\n    - name: p\n      default_action: audit\n      hold: true\n"
	_, err = Parse(strings.NewReader(yml), "x.yaml")
	if err == nil || !strings.Contains(err.Error(), "line 1,") || !strings.Contains(err.Error(), "holds would never apply") {
		t.Fatalf("want an error about holds at classify (line 1), got %v", err)
	}
	if _, err := Parse(strings.NewReader("classify: false\n"), "y.yaml"); err != nil {
		t.Fatalf("classify: false without a policy: %v", err)
	}
}
