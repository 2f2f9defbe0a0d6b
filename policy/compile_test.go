package policy

import (
	"strings"
	"testing"
	"time"
)

func TestCompileErrors(t *testing.T) {
	zero, neg := time.Duration(0), -time.Second
	type want struct{ path, msg string }
	tests := []struct {
		name   string
		modify func(*Spec)
		want   []want
	}{
		{"unknown rule with suggestion", func(s *Spec) { s.Profiles[1].Rules["no-wher"] = "block" },
			[]want{{"profiles[1].rules.no-wher", `unknown rule "no-wher"; did you mean no-where?`}}},
		{"unknown rule, case", func(s *Spec) { s.Profiles[0].Rules["Set-Role"] = "audit" },
			[]want{{"profiles[0].rules.Set-Role", "did you mean set-role?"}}},
		{"unknown rule without suggestion", func(s *Spec) { s.Profiles[0].Rules["everything"] = "audit" },
			[]want{{"profiles[0].rules.everything", `unknown rule "everything" (docs/rules.md`}}},
		{"unknown action", func(s *Spec) { s.Profiles[1].Rules["no-where"] = "deny" },
			[]want{{"profiles[1].rules.no-where", `unknown action "deny": want allow, audit, block`}}},
		{"unknown default action", func(s *Spec) { s.Profiles[0].DefaultAction = "Block" },
			[]want{{"profiles[0].default_action", `unknown action "Block"`}}},
		{"missing default action", func(s *Spec) { s.Profiles[0].DefaultAction = "" },
			[]want{{"profiles[0].default_action", "is required"}}},
		{"missing name", func(s *Spec) { s.Profiles[0].Name = "" },
			[]want{{"profiles[0].name", "is required"}}},
		{"duplicate names", func(s *Spec) { s.Profiles[0].Name = "applications" },
			[]want{{"profiles[1].name", `duplicate profile name "applications" (also profiles[0])`}}},
		{"default names no profile", func(s *Spec) { s.DefaultProfile = "apps" },
			[]want{{"default_profile", `no profile is named "apps"`}}},
		{"default missing", func(s *Spec) { s.DefaultProfile = "" },
			[]want{{"default_profile", "is required"}}},
		{"no profiles", func(s *Spec) { s.Profiles = nil; s.DefaultProfile = "" },
			[]want{{"profiles", "at least one profile"}}},
		{"bad globs", func(s *Spec) {
			s.Profiles[0].Match.ApplicationNames = []string{"psql", "pgAdmin[", "DBeaver*"}
			s.Profiles[0].Match.Users = []string{`x\`}
		}, []want{
			{"profiles[0].match.users[0]", `bad pattern "x\\": syntax error in pattern`},
			{"profiles[0].match.application_names[1]", `bad pattern "pgAdmin["`},
		}},
		{"bad database glob", func(s *Spec) { s.Profiles[0].Match.Databases = []string{"[z-"} },
			[]want{{"profiles[0].match.databases[0]", "bad pattern"}}},
		{"bad addresses", func(s *Spec) {
			s.Profiles[0].Match.ClientAddrs = []string{"10.0.0.0/8", "10.0.0.0/33", "localhost", "fe80::1%eth0", "2001:db8::/32"}
		}, []want{
			{"profiles[0].match.client_addrs[1]", `"10.0.0.0/33" is not an IP address or CIDR`},
			{"profiles[0].match.client_addrs[2]", `"localhost"`},
			{"profiles[0].match.client_addrs[3]", `"fe80::1%eth0"`},
		}},
		{"empty list", func(s *Spec) { s.Profiles[0].Match.Users = []string{} },
			[]want{{"profiles[0].match.users", "an empty list matches no session"}}},
		{"empty address list", func(s *Spec) { s.Profiles[0].Match.ClientAddrs = []string{} },
			[]want{{"profiles[0].match.client_addrs", "an empty list matches no session"}}},
		{"negative row cap", func(s *Spec) { s.Profiles[0].RowCap = -1 },
			[]want{{"profiles[0].row_cap", "must not be negative"}}},
		{"zero hold timeout", func(s *Spec) { s.Profiles[0].HoldTimeout = &zero },
			[]want{{"profiles[0].hold_timeout", "must be positive"}}},
		{"negative hold timeout", func(s *Spec) { s.Profiles[1].HoldTimeout = &neg },
			[]want{{"profiles[1].hold_timeout", "must be positive"}}},
		{"unreachable profile", func(s *Spec) { s.Profiles[0], s.Profiles[1] = s.Profiles[1], s.Profiles[0] },
			[]want{{"profiles[1].name", `profile "interactive" is never matched: profile "applications" before it`}}},
		{"every error at once", func(s *Spec) {
			s.DefaultProfile = "nope"
			s.Profiles[0].Rules["truncat"] = "block"
			s.Profiles[0].RowCap = -5
			s.Profiles[1].DefaultAction = "hold"
			s.Profiles[1].Match.ClientAddrs = []string{"300.1.1.1"}
		}, []want{
			{"profiles[0].rules.truncat", "did you mean truncate?"},
			{"profiles[0].row_cap", "must not be negative"},
			{"profiles[1].match.client_addrs[0]", "300.1.1.1"},
			{"profiles[1].default_action", `unknown action "hold"`},
			{"default_profile", `no profile is named "nope"`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := guarded()
			tc.modify(s)
			p, errs := Compile(s)
			if p != nil {
				t.Error("Compile returned a policy together with errors")
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(tc.want), errs)
			}
			for i, w := range tc.want {
				if got := errs[i].Path.String(); got != w.path || !strings.Contains(errs[i].Message, w.msg) {
					t.Errorf("error %d = %q, want path %s and message containing %q", i, errs[i].Error(), w.path, w.msg)
				}
			}
		})
	}
}

func TestCompileAcceptsAddressForms(t *testing.T) {
	s := guarded()
	s.Profiles[0].Match.ClientAddrs = []string{"10.1.2.3/8", "192.0.2.7", "::1", "2001:db8::/32", "::ffff:172.16.0.0/108"}
	p := mustCompile(t, s)
	for _, a := range []string{"10.200.0.1", "192.0.2.7", "::1", "2001:db8::9", "172.16.5.5"} {
		sess := Session{ApplicationName: "psql", ClientAddr: mustAddr(t, a)}
		if got := p.Match(sess).Name; got != "interactive" {
			t.Errorf("client %s matched %s, want interactive", a, got)
		}
	}
}

func TestClosestRule(t *testing.T) {
	tests := map[string]string{
		"no-wher":          "no-where",
		"nowhere":          "no-where",
		"drop_table":       "drop-table",
		"vacum-full":       "vacuum-full",
		"unknown-prepare":  "unknown-prepared",
		"truncate-table":   "",
		"select":           "",
		"x":                "",
		"create-index-now": "create-index",
	}
	for in, want := range tests {
		if got := string(closestRule(in)); got != want {
			t.Errorf("closestRule(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPathString(t *testing.T) {
	if got := (Path{"profiles", 2, "match", "users", 0}).String(); got != "profiles[2].match.users[0]" {
		t.Errorf("Path.String() = %q", got)
	}
	if got := (Error{Message: "x"}).Error(); got != "x" {
		t.Errorf("Error() = %q", got)
	}
}
