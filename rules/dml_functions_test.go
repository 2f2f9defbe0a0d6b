package rules

import (
	"math/big"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

func TestOpaqueCode(t *testing.T) {
	runRuleCases(t, RuleOpaqueCode, []ruleCase{
		{"SELECT nextval('s')", true, "nextval"},
		{"SELECT pg_catalog.nextval('s')", true, "pg_catalog.nextval"},
		{"SELECT setval('s', 1)", true, "setval"},
		{"SELECT myfunc(1)", true, "myfunc"},
		{"SELECT app.audit_log('x')", true, "app.audit_log"},
		{"SELECT public.lower('a')", true, "public.lower"}, // not pg_catalog's
		{`SELECT "LOWER"('a')`, true, "LOWER"},
		{"SELECT * FROM t WHERE id = f()", true, "f"},
		{"SELECT * FROM f()", true, "f"},
		{"SELECT * FROM ROWS FROM (generate_series(1, 2), g())", true, "g"},
		{"SELECT count(*) FILTER (WHERE f(x)) FROM t", true, "f"},
		{"SELECT a FROM t ORDER BY f(a)", true, "f"},
		{"SELECT a FROM t GROUP BY a HAVING f(count(*))", true, "f"},
		{"SELECT CASE WHEN a THEN f() END FROM t", true, "f"},
		{"SELECT ARRAY[f()]", true, "f"},
		{"SELECT (f()).x", true, "f"},
		{"SELECT 1 FROM t LIMIT f()", true, "f"},
		{"VALUES (f())", true, "f"},
		{"UPDATE t SET a = f() WHERE id = 1", true, "f"},
		{"INSERT INTO t VALUES (f())", true, "f"},
		{"INSERT INTO t VALUES (1) RETURNING f(a)", true, "f"},
		{"DELETE FROM t WHERE id = 1 RETURNING f(id)", true, "f"},
		{"WITH x AS (SELECT f()) SELECT 1", true, "f"},
		{"SELECT pg_terminate_backend(123)", true, "pg_terminate_backend"},
		{"SELECT pg_cancel_backend(123)", true, "pg_cancel_backend"},
		{"SELECT pg_reload_conf()", true, "pg_reload_conf"},
		{"SELECT lo_unlink(1)", true, "lo_unlink"},
		{"SELECT lo_import('/etc/passwd')", true, "lo_import"},
		{"SELECT pg_create_logical_replication_slot('s', 'pgoutput')", true, "pg_create_logical_replication_slot"},
		{"SELECT pg_drop_replication_slot('s')", true, "pg_drop_replication_slot"},
		{"SELECT pg_switch_wal()", true, "pg_switch_wal"},
		{"SELECT pg_file_write('f', 'x', false)", true, "pg_file_write"},
		{"SELECT query_to_xml('DELETE FROM t', true, false, '')", true, "query_to_xml"},
		{"SELECT table_to_xml('t', true, false, '')", true, "table_to_xml"},
		{"SELECT set_config('search_path', 'public', false)", true, "set_config"},
		{"SELECT pg_notify('c', 'x')", true, "pg_notify"},
		{"SELECT dblink_exec('c', 'DELETE FROM t')", true, "dblink_exec"},
		{"CREATE TABLE x AS SELECT nextval('s')", true, "nextval"},
		{"SELECT nextval('s') INTO x", true, "nextval"},
		{"EXPLAIN ANALYZE SELECT f()", true, "f"},
		{"PREPARE p AS SELECT f()", true, "f"},
		{"EXECUTE p(f())", true, "f"},
		{"CALL proc(f())", true, "f"},
		{"COPY (SELECT f()) TO STDOUT", true, "f"},
		{"DECLARE c CURSOR FOR SELECT f()", true, "f"},
		// Reads.
		{"SELECT count(*), sum(a), row_number() OVER () FROM t", false, ""},
		{"SELECT now(), random(), lower('A'), pg_catalog.upper('a')", false, ""},
		{"SELECT extract(year FROM now()), trim(' a '), overlay('abc' PLACING 'x' FROM 2), position('b' IN 'abc')", false, ""},
		{"SELECT now() AT TIME ZONE 'utc', 'a' IS NORMALIZED, collation for ('a')", false, ""},
		{`SELECT "lower"('A')`, false, ""},
		{"SELECT * FROM generate_series(1, 3)", false, ""},
		{"SELECT pg_sleep(0), pg_advisory_xact_lock(1)", false, ""},
		{"SELECT json_agg(t), jsonb_agg(t), array_agg(a ORDER BY a), percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM t", false, ""},
		{"SELECT lag(a) OVER w, first_value(a) OVER w, ntile(2) OVER w FROM t WINDOW w AS (ORDER BY a)", false, ""},
		{"SELECT current_setting('search_path'), version(), pg_backend_pid()", false, ""},
		{"SELECT any_value(a) FROM t", false, ""},
		// Stored, not run now.
		{"CREATE TABLE x (id bigint DEFAULT nextval('s'))", false, ""},
		{"CREATE VIEW v AS SELECT nextval('s')", false, ""},
		{"CREATE MATERIALIZED VIEW mv AS SELECT f() WITH NO DATA", false, ""},
		{"CREATE INDEX ON t (f(a))", false, ""},
		{"ALTER TABLE t ADD CONSTRAINT c CHECK (f(a))", false, ""},
		{"CREATE POLICY p ON t USING (f(a))", false, ""},
		{"EXPLAIN SELECT f()", false, ""},
		{"SELECT 'nextval(1)', $$f()$$", false, ""},
	})
}

func TestFunctionsListed(t *testing.T) {
	tests := []struct {
		sql  string
		want []string
	}{
		{"SELECT count(*) FROM t", []string{"count"}},
		{"SELECT lower(a), upper(b), lower(c) FROM t", []string{"lower", "upper"}},
		{"SELECT pg_catalog.now(), s.f(x)", []string{"pg_catalog.now", "s.f"}},
		{"SELECT extract(day FROM now())", []string{"extract", "now"}},
		{"WITH x AS (SELECT f()) SELECT g() FROM x", []string{"f", "g"}},
		{"SELECT 1", nil},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			got := dmlAnalyzeOne(t, tc.sql).Functions
			if len(got) != len(tc.want) {
				t.Fatalf("functions %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("functions %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestMayWrite(t *testing.T) {
	for sql, want := range map[string]bool{
		"SELECT nextval('s')":             true,
		"SELECT f()":                      true,
		"UPDATE t SET a = 1 WHERE id = 1": false,
		"SELECT count(*) FROM t":          false,
		"DELETE FROM t":                   false,
	} {
		if got := dmlAnalyzeOne(t, sql).MayWrite; got != want {
			t.Errorf("%s: MayWrite %v, want %v", sql, got, want)
		}
	}
}

func TestReplicationRoleSetConfig(t *testing.T) {
	runRuleCases(t, RuleReplicationRole, []ruleCase{
		{"SELECT set_config('session_replication_role', 'replica', false)", true, "session_replication_role"},
		{"SELECT pg_catalog.set_config('SESSION_REPLICATION_ROLE', 'replica', true)", true, "session_replication_role"},
		{"SELECT set_config('session_replication_role'::text, 'replica', false)", true, "session_replication_role"},
		{"SELECT set_config(setting_name => 'session_replication_role', new_value => 'replica', is_local => false)", true, "session_replication_role"},
		{"SELECT set_config(new_value => 'replica', setting_name => 'session_replication_role', is_local => false)", true, "session_replication_role"},
		{"SELECT 1 FROM t WHERE set_config('session_replication_role', 'replica', false) IS NOT NULL", true, "session_replication_role"},
		{"UPDATE t SET a = set_config('session_replication_role', 'replica', true) WHERE id = 1", true, "session_replication_role"},
		{"SELECT set_config('search_path', 'public', false)", false, ""},
		{"SELECT set_config($1, 'replica', false)", false, ""},
		{"SELECT current_setting('session_replication_role')", false, ""},
		{"SELECT app.set_config('session_replication_role', 'replica', false)", false, ""},
		{"SELECT 'set_config(''session_replication_role'', ''replica'', false)'", false, ""},
	})
}

func TestDblinkExec(t *testing.T) {
	runRuleCases(t, RuleDblinkExec, []ruleCase{
		{"SELECT dblink_exec('dbname=x', 'DELETE FROM t')", true, "dblink_exec"},
		{"SELECT ext.dblink_exec('c', 'DROP TABLE t')", true, "ext.dblink_exec"},
		{"SELECT * FROM dblink('c', 'SELECT 1') AS x(a int)", true, "dblink"},
		{"SELECT * FROM public.dblink('c', 'DELETE FROM t RETURNING 1') AS x(a int)", true, "public.dblink"},
		{"SELECT dblink_send_query('c', 'DELETE FROM t')", true, "dblink_send_query"},
		{"SELECT dblink_connect('c', 'dbname=x')", false, ""},
		{"SELECT 'dblink_exec(1)'", false, ""},
		{"CREATE VIEW v AS SELECT dblink_exec('c', 'x')", false, ""},
	})
}

func TestReadOnlyFunction(t *testing.T) {
	for parts, want := range map[[2]string]bool{
		{"", "count"}:                true,
		{"pg_catalog", "count"}:      true,
		{"public", "count"}:          false,
		{"", "nextval"}:              false,
		{"", "set_config"}:           false,
		{"", "random"}:               true,
		{"", "lo_get"}:               false,
		{"", "dblink_fetch"}:         false,
		{"", "pg_stat_reset"}:        false,
		{"", "pg_stat_get_numscans"}: true,
		{"", "schema_to_xml"}:        false,
		{"", "no_such_function"}:     false,
	} {
		p := []string{parts[1]}
		if parts[0] != "" {
			p = []string{parts[0], parts[1]}
		}
		if got := readOnlyFunction(p); got != want {
			t.Errorf("readOnlyFunction(%q) = %v, want %v", p, got, want)
		}
	}
	if readOnlyFunction(nil) || readOnlyFunction([]string{"a", "b", "count"}) {
		t.Error("odd names read-only")
	}
	if len(catalogReadOnly) < 2000 {
		t.Errorf("generated catalog list has %d names", len(catalogReadOnly))
	}
}

// The analysis must not panic on trees the parser does not build: every
// field of a protobuf message may be nil.
func TestDMLNilSafety(t *testing.T) {
	nodes := []*pg_query.Node{
		nil,
		{},
		{Node: &pg_query.Node_SelectStmt{}},
		{Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{LockingClause: []*pg_query.Node{nil, {}}, WithClause: &pg_query.WithClause{Ctes: []*pg_query.Node{nil, {}}}}}},
		{Node: &pg_query.Node_InsertStmt{InsertStmt: &pg_query.InsertStmt{}}},
		{Node: &pg_query.Node_UpdateStmt{UpdateStmt: &pg_query.UpdateStmt{Relation: &pg_query.RangeVar{}}}},
		{Node: &pg_query.Node_DeleteStmt{DeleteStmt: &pg_query.DeleteStmt{Relation: &pg_query.RangeVar{Relname: "t"}, WhereClause: &pg_query.Node{}}}},
		{Node: &pg_query.Node_DeleteStmt{DeleteStmt: &pg_query.DeleteStmt{Relation: &pg_query.RangeVar{Relname: "t"}, UsingClause: []*pg_query.Node{nil}, WhereClause: pg_query.MakeAExprNode(pg_query.A_Expr_Kind_AEXPR_OP, nil, nil, nil, 0)}}},
		{Node: &pg_query.Node_MergeStmt{MergeStmt: &pg_query.MergeStmt{MergeWhenClauses: []*pg_query.Node{nil, {}}}}},
		{Node: &pg_query.Node_DeallocateStmt{}},
		{Node: &pg_query.Node_ExecuteStmt{}},
		{Node: &pg_query.Node_FuncCall{FuncCall: &pg_query.FuncCall{Funcname: []*pg_query.Node{nil}}}},
		{Node: &pg_query.Node_FuncCall{FuncCall: &pg_query.FuncCall{Funcname: []*pg_query.Node{pg_query.MakeStrNode("set_config")}, Args: []*pg_query.Node{nil}}}},
	}
	for i, n := range nodes {
		var f Facts
		analyzeDML(n, &f)
		finishFacts(n, &f)
		for _, fd := range f.Findings {
			if fd.Rule == "" {
				t.Errorf("node %d: finding without rule", i)
			}
		}
	}
	var fo folder
	for _, n := range []*pg_query.Node{nil, {}, {Node: &pg_query.Node_AExpr{}}, {Node: &pg_query.Node_BoolExpr{}},
		{Node: &pg_query.Node_TypeCast{TypeCast: &pg_query.TypeCast{Arg: pg_query.MakeAConstStrNode("t", 0)}}},
		{Node: &pg_query.Node_NullTest{}}, {Node: &pg_query.Node_BooleanTest{}}, {Node: &pg_query.Node_AConst{}}} {
		fo.truth(n)
	}
}

func TestParseBoolLikePostgres(t *testing.T) {
	for s, want := range map[string]int{ // 1 true, 0 false, -1 invalid
		"t": 1, "TRUE": 1, " tr ": 1, "y": 1, "yes": 1, "on": 1, "1": 1,
		"f": 0, "fal": 0, "no": 0, "n": 0, "off": 0, "of": 0, "0": 0,
		"o": -1, "": -1, "truex": -1, "2": -1, "maybe": -1, "onn": -1,
	} {
		v, ok := parseBool(s)
		got := -1
		if ok {
			got = boolInt(v)
		}
		if got != want {
			t.Errorf("parseBool(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for s, ok := range map[string]bool{
		"1": true, "1.5": true, ".5": true, "1e10": true, "1_000": true, "0x1F": true, "-0b101": true, "0o17": true,
		"1e100000": false, "": false, "NaN": false, "Infinity": false, "abc": false, "0x": false,
	} {
		if _, got := parseNumber(s); got != ok {
			t.Errorf("parseNumber(%q) ok = %v, want %v", s, got, ok)
		}
	}
	if r, _ := parseNumber("0x1F"); r.Cmp(mustRat(t, "31")) != 0 {
		t.Errorf("0x1F = %v", r)
	}
}

func mustRat(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("bad rat %q", s)
	}
	return r
}
