package policy

import (
	"strings"
	"testing"
	"time"
)

func TestCompileErrors(t *testing.T) {
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
			[]want{{"profiles[1].rules.no-where", `unknown action "deny": want allow, audit, quarantine, block`}}},
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
		{"negative row cap", func(s *Spec) { s.Profiles[0].RowCap = new(-1) },
			[]want{{"profiles[0].row_cap", "must not be negative (0 is no cap)"}}},
		{"zero hold timeout", func(s *Spec) { s.Profiles[0].HoldTimeout = new(time.Duration(0)) },
			[]want{{"profiles[0].hold_timeout", "must be positive"}}},
		{"negative hold timeout", func(s *Spec) { s.Profiles[0].HoldTimeout = new(-time.Second) },
			[]want{{"profiles[0].hold_timeout", "must be positive"}}},
		{"hold timeout over a day", func(s *Spec) { s.Profiles[0].HoldTimeout = new(25 * time.Hour) },
			[]want{{"profiles[0].hold_timeout", "must be at most 24h, not 25h0m0s"}}},
		{"quarantine for another rule", func(s *Spec) { s.Profiles[0].Rules["truncate"] = "quarantine" },
			[]want{{"profiles[0].rules.truncate", "quarantine is for drop-table only"}}},
		{"quarantine without capture", func(s *Spec) { s.Profiles[0].Rules["drop-table"] = "quarantine" },
			[]want{{"profiles[0].rules.drop-table", "quarantine needs a profile with hold: true and capture: true"}}},
		{"preview values without capture", func(s *Spec) { s.Profiles[0].PreviewValues = true },
			[]want{{"profiles[0].preview_values", "needs capture: true"}}},
		{"uncaptured allow without capture", func(s *Spec) { s.Profiles[0].Uncaptured = "allow" },
			[]want{{"profiles[0].uncaptured", "needs capture: true"}}},
		{"uncaptured neither refuse nor allow", func(s *Spec) { s.Profiles[0].Capture, s.Profiles[0].Uncaptured = true, "Allow" },
			[]want{{"profiles[0].uncaptured", `must be refuse or allow, not "Allow"`}}},
		{"quarantine as the default", func(s *Spec) { s.Profiles[0].DefaultAction = "quarantine" },
			[]want{{"profiles[0].default_action", "quarantine is for drop-table only"}}},
		{"negative estimate factor", func(s *Spec) { s.Profiles[0].HoldEstimateFactor = new(-1.0) },
			[]want{{"profiles[0].hold_estimate_factor", "must be between 0 (no estimate) and 1e9, not -1"}}},
		{"negative lock timeout", func(s *Spec) { s.Profiles[0].HoldLockTimeout = new(-time.Millisecond) },
			[]want{{"profiles[0].hold_lock_timeout", "must not be negative (0s leaves PostgreSQL's setting)"}}},
		{"sub-millisecond lock timeout", func(s *Spec) { s.Profiles[0].HoldLockTimeout = new(500 * time.Microsecond) },
			[]want{{"profiles[0].hold_lock_timeout", "must be whole milliseconds, not 500µs"}}},
		{"fractional milliseconds", func(s *Spec) { s.Profiles[0].HoldStatementTimeout = new(1500 * time.Microsecond) },
			[]want{{"profiles[0].hold_statement_timeout", "must be whole milliseconds, not 1.5ms"}}},
		{"negative statement timeout", func(s *Spec) { s.Profiles[0].HoldStatementTimeout = new(-30 * time.Second) },
			[]want{{"profiles[0].hold_statement_timeout", "must not be negative"}}},
		{"statement timeout over PostgreSQL's limit", func(s *Spec) { s.Profiles[0].HoldStatementTimeout = new(30 * 24 * time.Hour) },
			[]want{{"profiles[0].hold_statement_timeout", "must be at most 596h31m23.647s, PostgreSQL's limit"}}},
		{"negative table cap", func(s *Spec) { s.Profiles[0].TableRowCaps = map[string]int{"orders": -1, "audit_log": 0} },
			[]want{{"profiles[0].table_row_caps.orders", "must not be negative (0: no row of the table may change)"}}},
		{"bad table names", func(s *Spec) {
			s.Profiles[0].TableRowCaps = map[string]int{
				"": 1, "shop.public.orders": 1, "public.": 1, ".orders": 1, "my table": 1, "1orders": 1, "ord-ers": 1,
				`"Orders`: 1, `""`: 1, `"a.b"`: 1, `"a"b`: 1, `public."x"y`: 1, strings.Repeat("t", 64): 1,
			}
		}, []want{ // in key order
			{"profiles[0].table_row_caps.", `"" is not a table name: an empty name (write table, schema.table, or a name in double quotes to keep its case)`},
			{`profiles[0].table_row_caps.""`, "an empty quoted name"},
			{`profiles[0].table_row_caps."Orders`, "a double quote is not closed"},
			{`profiles[0].table_row_caps."a"b`, `want a dot or the end after "a"`},
			{`profiles[0].table_row_caps."a.b"`, `a name with a dot in it ("a.b") is not supported`},
			{"profiles[0].table_row_caps..orders", "an empty name"},
			{"profiles[0].table_row_caps.1orders", `"1orders" is not a plain name (quote it to write it as it is)`},
			{"profiles[0].table_row_caps.my table", `"my table" is not a plain name`},
			{"profiles[0].table_row_caps.ord-ers", `"ord-ers" is not a plain name`},
			{"profiles[0].table_row_caps.public.", "an empty name"},
			{`profiles[0].table_row_caps.public."x"y`, `want a dot or the end after "x"`},
			{"profiles[0].table_row_caps.shop.public.orders", "more than schema and table"},
			{"profiles[0].table_row_caps." + strings.Repeat("t", 64), "longer than PostgreSQL's 63-byte limit"},
		}},
		{"two keys for one table", func(s *Spec) {
			s.Profiles[0].TableRowCaps = map[string]int{"Orders": 5, "public.orders": 10, `"Orders"`: 1, `public."orders"`: 2}
		}, []want{ // in key order: "Orders" is another table
			{`profiles[0].table_row_caps.public."orders"`, `names the same table as "Orders" (public.orders)`},
			{"profiles[0].table_row_caps.public.orders", `names the same table as "Orders" (public.orders)`},
		}},
		{"hold keys in a profile that does not hold", func(s *Spec) {
			a := &s.Profiles[1]
			a.RowCap, a.TableRowCaps, a.HoldTimeout = new(0), map[string]int{}, new(time.Minute)
			a.HoldLockTimeout, a.HoldStatementTimeout = new(time.Duration(0)), new(time.Second)
			a.Capture, a.Uncaptured = true, "refuse"
		}, []want{
			{"profiles[1].capture", "applies only to a profile that holds: add hold: true, or remove capture"},
			{"profiles[1].uncaptured", "applies only to a profile that holds: add hold: true, or remove uncaptured"},
			{"profiles[1].row_cap", "applies only to a profile that holds: add hold: true, or remove row_cap"},
			{"profiles[1].table_row_caps", "remove table_row_caps"},
			{"profiles[1].hold_timeout", "remove hold_timeout"},
			{"profiles[1].hold_lock_timeout", "remove hold_lock_timeout"},
			{"profiles[1].hold_statement_timeout", "remove hold_statement_timeout"},
		}},
		{"bad values in a profile that does not hold: both problems", func(s *Spec) {
			s.Profiles[0].Hold = false
			s.Profiles[0].RowCap, s.Profiles[0].TableRowCaps = new(-1), map[string]int{"a.b.c": 1}
		}, []want{
			{"profiles[0].row_cap", "applies only to a profile that holds"},
			{"profiles[0].row_cap", "must not be negative"},
			{"profiles[0].table_row_caps", "applies only to a profile that holds"},
			{"profiles[0].table_row_caps.a.b.c", "more than schema and table"},
		}},
		{"unreachable profile", func(s *Spec) { s.Profiles[0], s.Profiles[1] = s.Profiles[1], s.Profiles[0] },
			[]want{{"profiles[1].name", `profile "interactive" is never matched: profile "applications" before it`}}},
		{"every error at once", func(s *Spec) {
			s.DefaultProfile = "nope"
			s.Profiles[0].Rules["truncat"] = "block"
			s.Profiles[0].RowCap = new(-5)
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

func TestCompileHold(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*ProfileSpec)
		check  func(*testing.T, *Profile)
	}{
		{"defaults", func(*ProfileSpec) {}, func(t *testing.T, pr *Profile) {
			if !pr.Hold || pr.RowCap != 0 || pr.TableRowCaps != nil || pr.HoldTimeout != 2*time.Minute ||
				pr.HoldLockTimeout != 3*time.Second || pr.HoldStatementTimeout != 30*time.Second || pr.HoldEstimateFactor != 10 {
				t.Errorf("profile = %+v", pr)
			}
		}},
		{"every key", func(s *ProfileSpec) {
			s.RowCap, s.TableRowCaps = new(1000), map[string]int{"orders": 10, "audit_log": 0}
			s.HoldTimeout, s.HoldLockTimeout, s.HoldStatementTimeout = new(24*time.Hour), new(time.Millisecond), new(time.Hour)
		}, func(t *testing.T, pr *Profile) {
			if pr.RowCap != 1000 || len(pr.TableRowCaps) != 2 || pr.HoldTimeout != 24*time.Hour ||
				pr.HoldLockTimeout != time.Millisecond || pr.HoldStatementTimeout != time.Hour {
				t.Errorf("profile = %+v", pr)
			}
		}},
		{"capture", func(s *ProfileSpec) { s.Capture = true }, func(t *testing.T, pr *Profile) {
			if !pr.Capture || pr.AllowUncaptured {
				t.Errorf("capture %v, allow uncaptured %v; want capture, refuse", pr.Capture, pr.AllowUncaptured)
			}
		}},
		{"capture, uncaptured refused", func(s *ProfileSpec) { s.Capture, s.Uncaptured = true, "refuse" }, func(t *testing.T, pr *Profile) {
			if !pr.Capture || pr.AllowUncaptured {
				t.Errorf("capture %v, allow uncaptured %v; want capture, refuse", pr.Capture, pr.AllowUncaptured)
			}
		}},
		{"capture, uncaptured allowed", func(s *ProfileSpec) { s.Capture, s.Uncaptured = true, "allow" }, func(t *testing.T, pr *Profile) {
			if !pr.Capture || !pr.AllowUncaptured {
				t.Errorf("capture %v, allow uncaptured %v; want capture, allow", pr.Capture, pr.AllowUncaptured)
			}
		}},
		{"estimate factor", func(s *ProfileSpec) { s.HoldEstimateFactor = new(2.5) }, func(t *testing.T, pr *Profile) {
			if pr.HoldEstimateFactor != 2.5 {
				t.Errorf("factor %v, want 2.5", pr.HoldEstimateFactor)
			}
		}},
		{"0s timeouts leave PostgreSQL's settings", func(s *ProfileSpec) {
			s.HoldLockTimeout, s.HoldStatementTimeout = new(time.Duration(0)), new(time.Duration(0))
		}, func(t *testing.T, pr *Profile) {
			if pr.HoldLockTimeout != 0 || pr.HoldStatementTimeout != 0 {
				t.Errorf("timeouts %v %v, want 0 0", pr.HoldLockTimeout, pr.HoldStatementTimeout)
			}
		}},
		{"the largest timeouts PostgreSQL takes", func(s *ProfileSpec) {
			s.HoldLockTimeout, s.HoldStatementTimeout = new(2147483647*time.Millisecond), new(2147483647*time.Millisecond)
		}, func(*testing.T, *Profile) {}},
		{"no table caps: an empty map", func(s *ProfileSpec) { s.TableRowCaps = map[string]int{} },
			func(t *testing.T, pr *Profile) {
				if _, ok := pr.TableCap("public.orders"); ok || len(pr.TableRowCaps) != 0 {
					t.Errorf("TableRowCaps = %v", pr.TableRowCaps)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := guarded()
			tc.modify(&s.Profiles[0])
			tc.check(t, mustCompile(t, s).Profile("interactive"))
		})
	}
}

func TestTableRowCapNames(t *testing.T) {
	s := guarded()
	s.Profiles[0].TableRowCaps = map[string]int{
		"orders": 1, "Audit_Log": 2, "billing.Invoices": 3, `"Customers"`: 4, `Sales."Q1"`: 5,
		`"My ""Quoted"" Table"`: 6, "ünïcode_Ä": 7, "t$1": 8, "public.orders_2024": 0,
	}
	pr := mustCompile(t, s).Profile("interactive")
	want := map[string]int{
		"public.orders": 1, "public.audit_log": 2, "billing.invoices": 3, "public.Customers": 4, "sales.Q1": 5,
		`public.My "Quoted" Table`: 6, "public.ünïcode_Ä": 7, "public.t$1": 8, "public.orders_2024": 0,
	}
	if len(pr.TableRowCaps) != len(want) {
		t.Errorf("TableRowCaps = %v, want %v", pr.TableRowCaps, want)
	}
	for name, n := range want {
		if got, ok := pr.TableCap(name); !ok || got != n {
			t.Errorf("TableCap(%q) = %d, %v, want %d, true", name, got, ok, n)
		}
	}
	// TableCap takes names as PostgreSQL reports them: not folded, not
	// defaulted to public.
	for _, name := range []string{"orders", "public.Orders", "public.customers", "other.orders", `public."Customers"`} {
		if got, ok := pr.TableCap(name); ok {
			t.Errorf("TableCap(%q) = %d, true, want not capped", name, got)
		}
	}
	if _, ok := mustCompile(t, guarded()).Profile("applications").TableCap("public.orders"); ok {
		t.Error("a profile without table_row_caps caps a table")
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
