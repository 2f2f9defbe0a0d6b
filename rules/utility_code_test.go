package rules

import (
	"strings"
	"testing"
)

// utDetailCase: rule must fire with a detail containing detail (or must
// not fire, when detail is "").
type utDetailCase struct {
	name   string
	sql    string
	rule   RuleID
	detail string
}

func utRunDetailCases(t *testing.T, cases []utDetailCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := utFindings(t, c.sql, c.rule)
			if c.detail == "" {
				if len(got) > 0 {
					t.Fatalf("%s fired: %+v", c.rule, got)
				}
				return
			}
			for _, f := range got {
				if strings.Contains(f.Detail, c.detail) {
					return
				}
			}
			t.Fatalf("no %s finding with %q in its detail: %+v", c.rule, c.detail, utAnalyze(t, c.sql))
		})
	}
}

func TestUtilityDoBlocks(t *testing.T) {
	utRunDetailCases(t, []utDetailCase{
		{"plain", "DO $$BEGIN DELETE FROM t; END$$", RuleNoWhere, "inside DO"},
		{"nested BEGIN", "DO $$BEGIN BEGIN BEGIN DELETE FROM t; END; END; END$$", RuleNoWhere, "inside DO"},
		{"IF", "DO $$BEGIN IF now() > '2020-01-01' THEN NULL; ELSIF true THEN UPDATE t SET a = 1; END IF; END$$", RuleNoWhere, "inside DO"},
		{"LOOP", "DO $$BEGIN LOOP DELETE FROM t; EXIT; END LOOP; END$$", RuleNoWhere, "inside DO"},
		{"WHILE", "DO $$DECLARE i int := 0; BEGIN WHILE i < 3 LOOP i := i + 1; DELETE FROM t; END LOOP; END$$", RuleNoWhere, "inside DO"},
		{"FOR over a query", "DO $$DECLARE r record; BEGIN FOR r IN SELECT id FROM u LOOP TRUNCATE t; END LOOP; END$$", RuleTruncate, "inside DO"},
		{"FOR over integers", "DO $$BEGIN FOR i IN 1..10 LOOP DROP TABLE t; END LOOP; END$$", RuleDropTable, "inside DO"},
		{"CASE", "DO $$BEGIN CASE 1 WHEN 1 THEN DELETE FROM t; ELSE NULL; END CASE; END$$", RuleNoWhere, "inside DO"},
		{"exception handler", "DO $$BEGIN PERFORM 1; EXCEPTION WHEN others THEN DELETE FROM t; END$$", RuleNoWhere, "inside DO"},
		{"labelled block", "DO $$<<outer>> DECLARE x int; BEGIN DELETE FROM t; END outer$$", RuleNoWhere, "inside DO"},
		{"single-quoted body", "DO 'BEGIN DELETE FROM t; END'", RuleNoWhere, "inside DO"},
		{"language given", "DO LANGUAGE plpgsql $$BEGIN DELETE FROM t; END$$", RuleNoWhere, "inside DO"},
		{"language after body", "do $body$ begin delete from t; end $body$ language plpgsql", RuleNoWhere, "inside DO"},
		{"tag in the body", "DO $x$BEGIN RAISE NOTICE '$belay$'; DELETE FROM t; END$x$", RuleNoWhere, "inside DO"},
		{"body ends like the tag", "DO $x$BEGIN DELETE FROM t; END -- $belay\n$x$", RuleNoWhere, "inside DO"},
		{"multi-statement string", "SELECT 1; DO $$BEGIN DELETE FROM t; END$$", RuleNoWhere, "inside DO"},
		{"constant WHERE", "DO $$BEGIN DELETE FROM t WHERE 1 = 1; END$$", RuleConstantWhere, "inside DO"},
		{"SET inside", "DO $$BEGIN SET LOCAL session_replication_role = replica; END$$", RuleReplicationRole, "inside DO"},
		{"set_config in PERFORM", "DO $$BEGIN PERFORM set_config('session_replication_role', 'replica', true); END$$", RuleReplicationRole, "inside DO"},
		{"set_config in an assignment", "DO $$DECLARE x text; BEGIN x := set_config('session_replication_role', 'replica', true); END$$", RuleReplicationRole, "inside DO"},
		{"set_config in a condition", "DO $$BEGIN IF set_config('session_replication_role', 'replica', true) = 'x' THEN NULL; END IF; END$$", RuleReplicationRole, "inside DO"},
		{"set_config in a default", "DO $$DECLARE x text := set_config('session_replication_role', 'replica', true); BEGIN NULL; END$$", RuleReplicationRole, "inside DO"},
		{"writing CTE", "DO $$DECLARE x int; BEGIN WITH d AS (DELETE FROM t RETURNING 1) SELECT 1 INTO STRICT x; END$$", RuleNoWhere, "inside DO"},
		{"CALL inside", "DO $$BEGIN CALL p(); END$$", RuleOpaqueCode, "CALL runs procedure p"},
		{"nested DO", "DO $a$BEGIN DO $b$BEGIN DELETE FROM t; END$b$; END$a$", RuleNoWhere, "inside DO: inside DO"},
		{"belay's schema", "DO $$BEGIN UPDATE belay.changes SET x = 1 WHERE id = 1; END$$", RuleProtectedSchema, "inside DO"},
		// libpg_query cannot tell these variables are composite: belay
		// declares them record and compiles again.
		{"row type field assignment", "DO $$DECLARE r t%ROWTYPE; BEGIN r.a := 1; DELETE FROM t; END$$", RuleNoWhere, "inside DO"},
		{"table type field assignment", "DO $$DECLARE n int := 0; r s.t; q \"T\"; BEGIN r.a = 1; q.b.c := 2; DELETE FROM t; END$$", RuleNoWhere, "inside DO"},
		{"nested block declaration", "DO $$BEGIN DECLARE r t; BEGIN r.a := 1; TRUNCATE t; END; END$$", RuleTruncate, "inside DO"},
		{"function variable", "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$DECLARE r t%rowtype; BEGIN r.a := 1; DELETE FROM t; END$$", RuleNoWhere, "inside function f"},
		{"safe", "DO $$BEGIN UPDATE t SET a = 1 WHERE id = 2; END$$", RuleNoWhere, ""},
		{"comment only", "DO $$BEGIN -- DELETE FROM t;\n NULL; END$$", RuleNoWhere, ""},
		{"string only", "DO $$BEGIN RAISE NOTICE 'DELETE FROM t'; END$$", RuleNoWhere, ""},
	})
	// The set_config cases rely on the expression being checked at all:
	// make them fire for real.
	for _, sql := range []string{
		"DO $$BEGIN PERFORM set_config('session_replication_role', 'replica', true); END$$",
		"DO $$DECLARE x text; BEGIN x := set_config('session_replication_role', 'replica', true); END$$",
		"DO $$DECLARE x text; BEGIN x[1] := set_config('session_replication_role', 'replica', true); END$$",
		"DO $$BEGIN IF set_config('session_replication_role', 'replica', true) = 'x' THEN NULL; END IF; END$$",
		"DO $$DECLARE x text := set_config('session_replication_role', 'replica', true); BEGIN NULL; END$$",
		"DO $$BEGIN RAISE NOTICE '%', set_config('session_replication_role', 'replica', true); END$$",
	} {
		t.Run(sql, func(t *testing.T) {
			if len(utFindings(t, sql, RuleReplicationRole)) == 0 {
				t.Fatalf("replication-role not found: %+v", utAnalyze(t, sql))
			}
		})
	}
}

func TestUtilityDoFacts(t *testing.T) {
	f := analyzeOne(t, "DO $$BEGIN PERFORM 1; END$$")
	if !f.MayWrite || !f.LiteralSensitive || f.Kind != KindUtility {
		t.Fatalf("%+v", f)
	}
	if !utHas(f, RuleOpaqueCode, "") {
		t.Fatalf("DO without opaque-code: %+v", f)
	}
	if f := analyzeOne(t, "DO $$BEGIN PERFORM my_fn(); END$$"); !utHas(f, RuleOpaqueCode, "my_fn") {
		t.Fatalf("function called in DO not reported: %+v", f)
	}
	for _, sql := range []string{
		"DO LANGUAGE plpython3u $$import os; os.system('x')$$",
		"DO $$print(1)$$ LANGUAGE plperl",
	} {
		f := analyzeOne(t, sql)
		if !f.MayWrite || !utHas(f, RuleOpaqueCode, "") {
			t.Fatalf("%s: %+v", sql, f)
		}
	}
}

func TestUtilityDynamicSQL(t *testing.T) {
	const dyn = "dynamic SQL inside DO cannot be checked"
	utRunDetailCases(t, []utDetailCase{
		{"EXECUTE text", "DO $$BEGIN EXECUTE 'DELETE FROM t'; END$$", RuleOpaqueCode, dyn},
		{"EXECUTE format", "DO $$BEGIN EXECUTE format('DROP TABLE %I', 't'); END$$", RuleOpaqueCode, dyn},
		{"EXECUTE in a loop", "DO $$DECLARE r record; BEGIN FOR r IN SELECT relname FROM pg_class LOOP EXECUTE 'TRUNCATE ' || r.relname; END LOOP; END$$", RuleOpaqueCode, dyn},
		{"FOR IN EXECUTE", "DO $$DECLARE r record; BEGIN FOR r IN EXECUTE 'SELECT 1' LOOP END LOOP; END$$", RuleOpaqueCode, dyn},
		{"OPEN FOR EXECUTE", "DO $$DECLARE c refcursor; BEGIN OPEN c FOR EXECUTE 'SELECT 1'; END$$", RuleOpaqueCode, dyn},
		{"in a function", "CREATE FUNCTION f() RETURNS SETOF int LANGUAGE plpgsql AS $$BEGIN RETURN QUERY EXECUTE 'SELECT 1'; END$$", RuleOpaqueCode, "dynamic SQL inside function f cannot be checked"},
	})
	if f := analyzeOne(t, "DO $$BEGIN EXECUTE 'x'; END$$"); !f.MayWrite {
		t.Fatalf("dynamic SQL without MayWrite")
	}
}

func TestUtilityCodeLimits(t *testing.T) {
	t.Run("unparsable body", func(t *testing.T) {
		// A DO block runs now: what belay cannot read is blocked.
		f := analyzeOne(t, "DO $$BEGIN DELETE FROM WHERE; END$$")
		if !utHas(f, RuleUnparsable, "") || !f.MayWrite {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("nested too deep", func(t *testing.T) {
		sql := "DELETE FROM t"
		for i := 0; i < maxCodeDepth+2; i++ {
			tag := "$t" + strings.Repeat("x", i) + "$"
			sql = "DO " + tag + "BEGIN " + sql + "; END" + tag
		}
		f := analyzeOne(t, sql)
		if len(utFindings(t, sql, RuleTooComplex)) == 0 {
			t.Fatalf("no too-complex: %+v", f)
		}
	})
	t.Run("deep expression inside a body", func(t *testing.T) {
		// The relay's depth meter sees a literal as one token: the body
		// is measured again before it reaches the parser.
		expr := strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000)
		if sql := "DO $$BEGIN PERFORM " + expr + "; END$$"; len(utFindings(t, sql, RuleTooComplex)) == 0 {
			t.Fatalf("no too-complex for %.40s…", sql)
		}
		// A function body runs later: opaque-code only.
		sql := "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT " + expr + "$$"
		if f := analyzeOne(t, sql); !utHas(f, RuleOpaqueCode, "") || utHas(f, RuleTooComplex, "") {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("many statements", func(t *testing.T) {
		body := strings.Repeat("PERFORM 1; ", maxCodeStatements+10)
		sql := "DO $$BEGIN " + body + "END$$"
		if len(utFindings(t, sql, RuleTooComplex)) == 0 {
			t.Fatalf("no too-complex")
		}
	})
}

func TestUtilityCall(t *testing.T) {
	runRuleCases(t, RuleOpaqueCode, []ruleCase{
		{sql: "CALL p()", fires: true, target: "p"},
		{sql: "call s.p(1, 'x')", fires: true, target: "s.p"},
		{sql: "SELECT 1; CALL p()", fires: true, target: "p"},
		{sql: "CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$", fires: false},
		{sql: "SELECT 'CALL p()'", fires: false},
	})
	if f := analyzeOne(t, "CALL p()"); !f.MayWrite || f.Kind != KindUtility {
		t.Fatalf("%+v", f)
	}
}

func TestUtilityFunctionBodies(t *testing.T) {
	utRunDetailCases(t, []utDetailCase{
		{"sql string body", "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM t'", RuleNoWhere, "inside function f"},
		{"sql dollar body", "CREATE OR REPLACE FUNCTION s.f(a int) RETURNS void AS $$ UPDATE t SET x = a; $$ LANGUAGE sql", RuleNoWhere, "inside function s.f"},
		{"sql multi-statement body", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; TRUNCATE t; SELECT 2 $$", RuleTruncate, "inside function f"},
		{"BEGIN ATOMIC", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC DELETE FROM t; SELECT 1; END", RuleNoWhere, "inside function f"},
		{"BEGIN ATOMIC procedure", "CREATE PROCEDURE p() BEGIN ATOMIC UPDATE t SET a = 1; END", RuleNoWhere, "inside procedure p"},
		{"plpgsql", "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$BEGIN DELETE FROM t; END$$", RuleNoWhere, "inside function f"},
		{"plpgsql with parameters", "CREATE FUNCTION f(a int, OUT b int) LANGUAGE plpgsql AS $$BEGIN a := a + 1; b := a; DELETE FROM t; END$$", RuleNoWhere, "inside function f"},
		{"trigger function", "CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.x := 1; DELETE FROM audit; RETURN NEW; END$$", RuleNoWhere, "inside function trg"},
		{"plpgsql procedure", "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$BEGIN COMMIT; TRUNCATE t; END$$", RuleTruncate, "inside procedure p"},
		{"plpgsql set-returning", "CREATE FUNCTION f() RETURNS SETOF int LANGUAGE plpgsql AS $$BEGIN RETURN QUERY SELECT 1; DROP TABLE t; END$$", RuleDropTable, "inside function f"},
		{"DO inside a function", "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $a$BEGIN DO $b$BEGIN DELETE FROM t; END$b$; END$a$", RuleNoWhere, "inside function f: inside DO"},
		{"SET inside", "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'SET session_replication_role = replica'", RuleReplicationRole, "inside function f"},
		{"unparsable plpgsql", "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$BEGIN DELETE FROM WHERE; END$$", RuleOpaqueCode, "the body of function f could not be parsed"},
		{"safe sql", "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a + 1'", RuleNoWhere, ""},
		{"safe plpgsql", "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$BEGIN UPDATE t SET a = 1 WHERE id = 2; END$$", RuleNoWhere, ""},
		{"RETURN expression", "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql RETURN a + 1", RuleNoWhere, ""},
		{"C function", "CREATE FUNCTION f() RETURNS int AS 'lib', 'sym' LANGUAGE c", RuleOpaqueCode, ""},
		{"other language", "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'return 1'", RuleOpaqueCode, ""},
		// Opaque where f is called, not where it is written.
		{"unknown function in the body", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT my_fn()'", RuleOpaqueCode, ""},
		{"CALL in the body", "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$BEGIN CALL q(); END$$", RuleOpaqueCode, ""},
	})
	f := analyzeOne(t, "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM t'")
	if f.Kind != KindDDL || !f.LiteralSensitive || f.MayWrite {
		t.Fatalf("%+v", f)
	}
}
