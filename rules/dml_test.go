package rules

import (
	"strings"
	"testing"
)

// dmlAnalyzeOne analyses sql, which must hold exactly one statement.
func dmlAnalyzeOne(t *testing.T, sql string) Analyzed {
	t.Helper()
	stmts := utAnalyze(t, sql)
	if len(stmts) != 1 {
		t.Fatalf("Analyze(%q): %d statements, want 1", sql, len(stmts))
	}
	return stmts[0]
}

// dmlFinding returns the finding of rule r, or nil.
func dmlFinding(fs []Finding, r RuleID) *Finding {
	for i := range fs {
		if fs[i].Rule == r {
			return &fs[i]
		}
	}
	return nil
}

// ruleCase is a statement and whether a rule must fire on it; target,
// when set, is the finding's expected Target.
type ruleCase struct {
	sql    string
	fires  bool
	target string
}

func runRuleCases(t *testing.T, rule RuleID, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			got := utFindings(t, tc.sql, rule)
			if tc.fires != (len(got) > 0) {
				t.Fatalf("%s fired %v, want %v: %+v", rule, len(got) > 0, tc.fires, utAnalyze(t, tc.sql))
			}
			for _, f := range got {
				if f.Detail == "" {
					t.Fatalf("%s without detail: %+v", rule, f)
				}
			}
			if !tc.fires || tc.target == "" {
				return
			}
			for _, f := range got {
				if f.Target == tc.target {
					return
				}
			}
			t.Fatalf("no %s finding with target %q: %+v", rule, tc.target, got)
		})
	}
}

func TestNoWhere(t *testing.T) {
	runRuleCases(t, RuleNoWhere, []ruleCase{
		{"DELETE FROM t", true, "t"},
		{"UPDATE t SET x = 1", true, "t"},
		{"delete from t", true, "t"},
		{"dElEtE fRoM T", true, "t"},
		{`DELETE FROM "T"`, true, "T"},
		{`DELETE FROM U&"t\0061"`, true, "ta"},
		{"DELETE FROM ONLY t", true, "t"},
		{"UPDATE ONLY t SET x = 1", true, "t"},
		{"DELETE FROM public.t", true, "public.t"},
		{`UPDATE "Public"."My Table" SET x = 1`, true, "Public.My Table"},
		{"DELETE /* x */ FROM t -- y", true, "t"},
		{"DELETE\nFROM\tt\n;", true, "t"},
		{"DELETE FROM t RETURNING *", true, "t"},
		{"DELETE FROM t AS x", true, "t"},
		{"WITH x AS (DELETE FROM t RETURNING *) SELECT 1", true, "t"},
		{"WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x", true, "t"},
		{"WITH x AS (SELECT 1) DELETE FROM t", true, "t"},
		{"WITH t AS (SELECT 1) DELETE FROM t", true, "t"},
		{"WITH RECURSIVE r AS (SELECT 1) UPDATE t SET a = 1", true, "t"},
		{"WITH a AS (SELECT 1), b AS (DELETE FROM t RETURNING 1) INSERT INTO log SELECT * FROM b", true, "t"},
		{"SELECT * FROM (WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d) s", true, "t"},
		{"INSERT INTO log WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", true, "t"},
		{"EXPLAIN ANALYZE DELETE FROM t", true, "t"},
		{"EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1", true, "t"},
		{"EXPLAIN (ANALYZE true) DELETE FROM t", true, "t"},
		{"EXPLAIN (ANALYZE on) DELETE FROM t", true, "t"},
		{"EXPLAIN (ANALYZE 1) DELETE FROM t", true, "t"},
		{"EXPLAIN ANALYZE VERBOSE DELETE FROM t", true, "t"},
		{"PREPARE p AS DELETE FROM t", true, "t"},
		{"PREPARE p (int) AS UPDATE t SET a = $1", true, "t"},
		// The WHERE does not restrict the target.
		{"UPDATE t SET a = 1 FROM u", true, "t"},
		{"DELETE FROM t USING u WHERE u.id = 1", true, "t"},
		{"DELETE FROM t USING u AS x WHERE x.id = 1", true, "t"},
		{"UPDATE t SET a = u.a FROM u WHERE u.id = 1", true, "t"},
		{"UPDATE t AS x SET a = 1 FROM u WHERE u.b = 2", true, "t"},
		{"UPDATE t SET a = 1 FROM t AS t2 WHERE t2.id = 2", true, "t"},
		{"DELETE FROM t USING u JOIN v ON u.id = v.id WHERE v.x = 1 AND u.y = 2", true, "t"},
		{"DELETE FROM t USING (SELECT id FROM u) s WHERE s.id = 1", true, "t"},
		{"DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.flag)", true, "t"},
		{"DELETE FROM t WHERE (SELECT count(*) FROM u WHERE u.x = 1) > 0", true, "t"},
		{"DELETE FROM t WHERE $1", true, "t"},
		{"UPDATE t SET a = 1 WHERE now() > $1", true, "t"},
	})
}

func TestNoWhereDoesNotFire(t *testing.T) {
	runRuleCases(t, RuleNoWhere, []ruleCase{
		{"DELETE FROM t WHERE id = 1", false, ""},
		{"UPDATE t SET x = 1 WHERE id = 1", false, ""},
		{"DELETE FROM t WHERE t.id = 1", false, ""},
		{"DELETE FROM public.t WHERE public.t.id = 1", false, ""},
		{"DELETE FROM t USING u WHERE t.uid = u.id", false, ""},
		{"DELETE FROM t AS x USING u WHERE x.uid = u.id", false, ""},
		{"DELETE FROM t USING u WHERE uid = u.id", false, ""},
		{"DELETE FROM s.t USING u WHERE s.t.uid = u.id", false, ""},
		{"UPDATE t SET a = u.a FROM u WHERE t.id = u.id", false, ""},
		{"UPDATE t SET a = 1 FROM u WHERE u.id = 1 AND t.uid = u.id", false, ""},
		{"DELETE FROM t USING u WHERE row(t.*) = row(u.*)", false, ""},
		{"DELETE FROM t USING u WHERE u.x = 1 AND addr.city = u.city", false, ""}, // addr: a composite column of t?
		{"DELETE FROM t WHERE CURRENT OF c", false, ""},
		{"UPDATE t SET a = 1 WHERE CURRENT OF c", false, ""},
		{"DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.tid = t.id)", false, ""},
		{"DELETE FROM t WHERE id IN (SELECT tid FROM u)", false, ""},
		{"DELETE FROM t WHERE 1 = 2", false, ""},
		{"DELETE FROM t WHERE false", false, ""},
		{"DELETE FROM t WHERE NULL", false, ""},
		{"DELETE FROM t WHERE 1 = 1", false, ""}, // constant-where's
		{"EXPLAIN DELETE FROM t", false, ""},
		{"EXPLAIN VERBOSE DELETE FROM t", false, ""},
		{"EXPLAIN (ANALYZE false) DELETE FROM t", false, ""},
		{"EXPLAIN (ANALYZE off, COSTS) DELETE FROM t", false, ""},
		{"EXPLAIN (ANALYZE 0) DELETE FROM t", false, ""},
		{"SELECT $$DELETE FROM t$$", false, ""},
		{"SELECT 'delete from t'", false, ""},
		{"SELECT * FROM t", false, ""},
		{"INSERT INTO t VALUES (1)", false, ""},
		{"INSERT INTO t SELECT * FROM u ON CONFLICT (id) DO UPDATE SET a = excluded.a", false, ""},
		{"MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", false, ""},
	})
}

func TestConstantWhere(t *testing.T) {
	runRuleCases(t, RuleConstantWhere, []ruleCase{
		{"DELETE FROM t WHERE true", true, "t"},
		{"DELETE FROM t WHERE TRUE", true, "t"},
		{"DELETE FROM t WHERE 't'::bool", true, "t"},
		{"DELETE FROM t WHERE 'yes'::boolean", true, "t"},
		{"DELETE FROM t WHERE CAST('on' AS boolean)", true, "t"},
		{"DELETE FROM t WHERE 't'", true, "t"},
		{"DELETE FROM t WHERE 1::bool", true, "t"},
		{"DELETE FROM t WHERE 1=1", true, "t"},
		{"DELETE FROM t WHERE 1 = 1", true, "t"},
		{"DELETE FROM t WHERE 'a'='a'", true, "t"},
		{"DELETE FROM t WHERE 'abc'::text = 'abc'", true, "t"},
		{"DELETE FROM t WHERE 1<2", true, "t"},
		{"DELETE FROM t WHERE 1 <> 2", true, "t"},
		{"DELETE FROM t WHERE 2 >= 2", true, "t"},
		{"DELETE FROM t WHERE 1.0 = 1", true, "t"},
		{"DELETE FROM t WHERE '1' = 1", true, "t"},
		{"DELETE FROM t WHERE 1::int = 1", true, "t"},
		{"DELETE FROM t WHERE 1::bigint = '1'::int", true, "t"},
		{"DELETE FROM t WHERE 1+1 = 2", true, "t"},
		{"DELETE FROM t WHERE -1 < 0", true, "t"},
		{"DELETE FROM t WHERE 99999999999999999999 = 99999999999999999999", true, "t"},
		{"DELETE FROM t WHERE 0x10 = 16", true, "t"},
		{"DELETE FROM t WHERE true = 't'", true, "t"},
		{"DELETE FROM t WHERE NOT false", true, "t"},
		{"DELETE FROM t WHERE NOT NOT true", true, "t"},
		{"DELETE FROM t WHERE NOT (1 = 2)", true, "t"},
		{"DELETE FROM t WHERE x = x", true, "t"},
		{"DELETE FROM t WHERE t.x = t.x", true, "t"},
		{"DELETE FROM t WHERE x <= x", true, "t"},
		{"DELETE FROM t WHERE x IS NOT DISTINCT FROM x", true, "t"},
		{"DELETE FROM t WHERE 1 IS NOT DISTINCT FROM 1", true, "t"},
		{"DELETE FROM t WHERE NULL IS NOT DISTINCT FROM NULL", true, "t"},
		{"DELETE FROM t WHERE 1 IS DISTINCT FROM 2", true, "t"},
		{"DELETE FROM t WHERE x IS NULL OR x IS NOT NULL", true, "t"},
		{"DELETE FROM t WHERE x IS NOT NULL OR id = 3 OR x IS NULL", true, "t"},
		{"DELETE FROM t WHERE id = 5 OR true", true, "t"},
		{"DELETE FROM t WHERE id = 5 OR 1 = 1", true, "t"},
		{"DELETE FROM t WHERE id = 5 OR NULL OR 'a' = 'a'", true, "t"},
		{"DELETE FROM t WHERE (1=1) AND (2=2)", true, "t"},
		{"DELETE FROM t WHERE ((1 = 1))", true, "t"},
		{"DELETE FROM t WHERE (1 = 1) = true", true, "t"},
		{"DELETE FROM t WHERE (1=1) IS TRUE", true, "t"},
		{"DELETE FROM t WHERE NULL IS UNKNOWN", true, "t"},
		{"DELETE FROM t WHERE false IS NOT TRUE", true, "t"},
		{"DELETE FROM t WHERE NULL IS NULL", true, "t"},
		{"DELETE FROM t WHERE 1 IS NOT NULL", true, "t"},
		{"DELETE FROM t WHERE coalesce(true, x)", true, "t"},
		{"DELETE FROM t WHERE coalesce(NULL, true, x)", true, "t"},
		{"DELETE FROM t WHERE 1 IN (1, 2)", true, "t"},
		{"DELETE FROM t WHERE 3 NOT IN (1, 2)", true, "t"},
		{"DELETE FROM t WHERE 2 BETWEEN 1 AND 3", true, "t"},
		{"DELETE FROM t WHERE 2 BETWEEN SYMMETRIC 3 AND 1", true, "t"},
		{"DELETE FROM t WHERE 5 NOT BETWEEN 1 AND 3", true, "t"},
		{"DELETE FROM t WHERE name LIKE '%'", true, "t"},
		{"DELETE FROM t WHERE name ILIKE '%%'", true, "t"},
		{"DELETE FROM t WHERE x = x AND 1 = 1", true, "t"},
		{"dElEtE fRoM T wHeRe 1=1", true, "t"},
		{"DELETE FROM t WHERE /* harmless */ 1 = 1 -- really", true, "t"},
		{"UPDATE t SET a = 1 WHERE 1=1", true, "t"},
		{"UPDATE public.t SET a = 1 WHERE true", true, "public.t"},
		{"WITH d AS (DELETE FROM t WHERE 1=1 RETURNING *) SELECT 1", true, "t"},
		{"EXPLAIN ANALYZE DELETE FROM t WHERE 1 = 1", true, "t"},
		{"PREPARE p AS DELETE FROM t WHERE 1 = 1", true, "t"},
		{"DELETE FROM t USING u WHERE u.x = u.x", true, "t"},
		{"MERGE INTO t USING u ON true WHEN MATCHED THEN DELETE", true, "t"},
		{"MERGE INTO t USING u ON 1=1 WHEN MATCHED THEN UPDATE SET a = 1", true, "t"},
		{"MERGE INTO t USING u ON t.id = t.id WHEN MATCHED THEN DELETE", true, "t"},
	})
}

func TestConstantWhereDoesNotFire(t *testing.T) {
	runRuleCases(t, RuleConstantWhere, []ruleCase{
		{"DELETE FROM t WHERE id = 1", false, ""},
		{"DELETE FROM t WHERE 1 = 2", false, ""},
		{"DELETE FROM t WHERE 1 = 1 AND id = 4", false, ""},
		{"DELETE FROM t WHERE x = y", false, ""},
		{"DELETE FROM t WHERE x = 1 OR y = 2", false, ""},
		{"DELETE FROM t WHERE false OR id = 3", false, ""},
		{"DELETE FROM t WHERE id = id + 0", false, ""}, // arithmetic identities are not folded
		{"DELETE FROM t WHERE x + 1 = x + 2", false, ""},
		{"DELETE FROM t WHERE x <> x", false, ""},
		{"DELETE FROM t WHERE x < x", false, ""},
		{"DELETE FROM t WHERE x IS DISTINCT FROM x", false, ""},
		{"DELETE FROM t WHERE x = y.x", false, ""},
		{"DELETE FROM t WHERE false", false, ""},
		{"DELETE FROM t WHERE NOT true", false, ""},
		{"DELETE FROM t WHERE NULL", false, ""},
		{"DELETE FROM t WHERE NULL = NULL", false, ""},
		{"DELETE FROM t WHERE 1 = NULL", false, ""},
		{"DELETE FROM t WHERE true AND NULL", false, ""},
		{"DELETE FROM t WHERE 'f'::bool", false, ""},
		{"DELETE FROM t WHERE 'no'", false, ""},
		{"DELETE FROM t WHERE 'maybe'::bool", false, ""},
		{"DELETE FROM t WHERE 'a' < 'b'", false, ""}, // depends on the collation
		{"DELETE FROM t WHERE 'a' = 'a' COLLATE \"C\"", false, ""},
		{"DELETE FROM t WHERE 1.5::float8 = 1.5", false, ""}, // floats are not computed
		{"DELETE FROM t WHERE 1.5::int = 2", false, ""},      // a fraction cast to int rounds
		{"DELETE FROM t WHERE '1e5'::int = 100000", false, ""},
		{"DELETE FROM t WHERE 'a '::char(2) = 'a'", false, ""},
		{"DELETE FROM t WHERE random() = random()", false, ""},
		{"DELETE FROM t WHERE f(x) = f(x)", false, ""},
		{"DELETE FROM t WHERE (SELECT 1) = (SELECT 1)", false, ""},
		{"DELETE FROM t WHERE 1 IN (2, 3)", false, ""},
		{"DELETE FROM t WHERE 1 NOT IN (1, 2)", false, ""},
		{"DELETE FROM t WHERE 1 IN (2, NULL)", false, ""},
		{"DELETE FROM t WHERE id IN (1, 2)", false, ""},
		{"DELETE FROM t WHERE 5 BETWEEN 1 AND 3", false, ""},
		{"DELETE FROM t WHERE name LIKE 'a%'", false, ""},
		{"DELETE FROM t WHERE name NOT LIKE '%'", false, ""},
		{"DELETE FROM t WHERE name LIKE ''", false, ""},
		{"DELETE FROM t WHERE x IS NULL OR y IS NOT NULL", false, ""},
		{"DELETE FROM t WHERE x IS NULL", false, ""},
		{"DELETE FROM t WHERE coalesce(x, true)", false, ""},
		{"DELETE FROM t WHERE nullif(1, 1) IS NULL", false, ""},
		{"DELETE FROM t WHERE 1 = ANY('{1}')", false, ""},
		{"DELETE FROM t WHERE '2020-01-01'::date = '2020-01-01'::date", false, ""},
		{"DELETE FROM t WHERE 1e100000 = 1e100000", false, ""},
		{"DELETE FROM t WHERE CURRENT OF c", false, ""},
		{"SELECT * FROM t WHERE 1 = 1", false, ""}, // reads are not checked
		{"MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", false, ""},
		{"MERGE INTO t USING u ON false WHEN NOT MATCHED THEN INSERT VALUES (1)", false, ""},
		{"EXPLAIN DELETE FROM t WHERE 1 = 1", false, ""},
	})
}

func TestMerge(t *testing.T) {
	tests := []struct {
		sql     string
		detail  []string // substrings of the merge finding's Detail
		tables  []TableUse
		onTrue  bool
		literal bool
	}{
		{
			sql:    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)",
			detail: []string{"MERGE into t", "WHEN MATCHED THEN UPDATE", "WHEN NOT MATCHED THEN INSERT"},
			tables: []TableUse{{"", "t", AccessWrite}, {"", "s", AccessRead}},
		},
		{
			sql:    "merge into public.t as x using (select * from s where s.ok) y on x.id = y.id when matched and y.gone then delete when matched then do nothing",
			detail: []string{"MERGE into public.t", "WHEN MATCHED AND … THEN DELETE", "WHEN MATCHED THEN DO NOTHING"},
			tables: []TableUse{{"public", "t", AccessWrite}, {"", "s", AccessRead}},
		},
		{
			sql:    "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
			detail: []string{"true for every row", "WHEN MATCHED THEN DELETE"},
			tables: []TableUse{{"", "t", AccessWrite}, {"", "s", AccessRead}},
			onTrue: true,
		},
		{
			sql:     "MERGE INTO t USING s ON 1 = 1 WHEN MATCHED THEN UPDATE SET a = 1",
			detail:  []string{"true for every row", "THEN UPDATE"},
			tables:  []TableUse{{"", "t", AccessWrite}, {"", "s", AccessRead}},
			onTrue:  true,
			literal: true,
		},
		{
			sql:    "MERGE INTO t USING s ON false WHEN NOT MATCHED BY SOURCE THEN DELETE",
			detail: []string{"matches no row", "WHEN NOT MATCHED BY SOURCE THEN DELETE"},
			tables: []TableUse{{"", "t", AccessWrite}, {"", "s", AccessRead}},
		},
		{
			sql:    "WITH m AS (MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE RETURNING t.*) SELECT * FROM m",
			detail: []string{"MERGE into t", "THEN DELETE"},
			tables: []TableUse{{"", "t", AccessWrite}, {"", "s", AccessRead}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			a := dmlAnalyzeOne(t, tc.sql)
			m := dmlFinding(a.Findings, RuleMerge)
			if m == nil {
				t.Fatalf("merge does not fire: %+v", a.Findings)
			}
			for _, d := range tc.detail {
				if !strings.Contains(m.Detail, d) {
					t.Errorf("detail %q lacks %q", m.Detail, d)
				}
			}
			if a.Kind != KindWrite {
				t.Errorf("kind %v, want write", a.Kind)
			}
			if (dmlFinding(a.Findings, RuleConstantWhere) != nil) != tc.onTrue {
				t.Errorf("constant-where fired %v, want %v", !tc.onTrue, tc.onTrue)
			}
			if a.LiteralSensitive != tc.literal {
				t.Errorf("LiteralSensitive %v, want %v", a.LiteralSensitive, tc.literal)
			}
			checkTables(t, a.Tables, tc.tables)
		})
	}
}

func checkTables(t *testing.T, got, want []TableUse) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("tables %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tables %+v, want %+v", got, want)
		}
	}
}

func TestKindAndTables(t *testing.T) {
	r := func(schema, name string) TableUse { return TableUse{schema, name, AccessRead} }
	w := func(schema, name string) TableUse { return TableUse{schema, name, AccessWrite} }
	l := func(schema, name string) TableUse { return TableUse{schema, name, AccessLock} }
	tests := []struct {
		sql    string
		kind   Kind
		tables []TableUse
	}{
		// pgbench's default script
		{"SELECT abalance FROM pgbench_accounts WHERE aid = 1", KindRead, []TableUse{r("", "pgbench_accounts")}},
		{"UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1", KindWrite, []TableUse{w("", "pgbench_accounts")}},
		{"UPDATE pgbench_tellers SET tbalance = tbalance + -4 WHERE tid = 7", KindWrite, []TableUse{w("", "pgbench_tellers")}},
		{"UPDATE pgbench_branches SET bbalance = bbalance + 5 WHERE bid = 1", KindWrite, []TableUse{w("", "pgbench_branches")}},
		{"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 2, 3, 4, CURRENT_TIMESTAMP)", KindWrite, []TableUse{w("", "pgbench_history")}},
		// reads
		{"SELECT 1", KindRead, nil},
		{"VALUES (1), (2)", KindRead, nil},
		{"TABLE t", KindRead, []TableUse{r("", "t")}},
		{"SELECT * FROM ONLY t", KindRead, []TableUse{r("", "t")}},
		{`SELECT * FROM "T", U&"\0074"`, KindRead, []TableUse{r("", "T"), r("", "t")}},
		{"SELECT * FROM a JOIN b ON a.id = b.id LEFT JOIN s.c USING (id)", KindRead, []TableUse{r("", "a"), r("", "b"), r("s", "c")}},
		{"SELECT * FROM db.s.t", KindRead, []TableUse{r("s", "t")}},
		{"SELECT * FROM t WHERE id IN (SELECT tid FROM u)", KindRead, []TableUse{r("", "t"), r("", "u")}},
		{"SELECT (SELECT max(x) FROM u), * FROM t, t AS t2", KindRead, []TableUse{r("", "u"), r("", "t")}},
		{"SELECT 1 UNION SELECT a FROM t EXCEPT SELECT b FROM u", KindRead, []TableUse{r("", "t"), r("", "u")}},
		{"SELECT * FROM t TABLESAMPLE SYSTEM (10)", KindRead, []TableUse{r("", "t")}},
		{"SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.id = t.id) s", KindRead, []TableUse{r("", "t"), r("", "u")}},
		{"SELECT * FROM generate_series(1, 3)", KindRead, nil},
		// CTEs are not tables, but a CTE's own name inside a plain WITH is
		{"WITH x AS (SELECT * FROM a) SELECT * FROM x, b", KindRead, []TableUse{r("", "a"), r("", "b")}},
		{"WITH x AS (SELECT * FROM x) SELECT * FROM x", KindRead, []TableUse{r("", "x")}},
		{"WITH a AS (SELECT * FROM b), b AS (SELECT * FROM a) SELECT * FROM b", KindRead, []TableUse{r("", "b")}},
		{"WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT * FROM r", KindRead, nil},
		{"WITH x AS (SELECT 1) SELECT * FROM public.x", KindRead, []TableUse{r("public", "x")}},
		{"SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) s, x", KindRead, []TableUse{r("", "x")}},
		// writes
		{"INSERT INTO t SELECT * FROM u", KindWrite, []TableUse{w("", "t"), r("", "u")}},
		{"INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = excluded.a + 1", KindWrite, []TableUse{w("", "t")}},
		{"UPDATE t SET a = 1 FROM t AS t2 WHERE t.id = t2.id", KindWrite, []TableUse{w("", "t")}},
		{"UPDATE t SET a = (SELECT b FROM u WHERE u.id = t.id) WHERE id = 1", KindWrite, []TableUse{w("", "t"), r("", "u")}},
		{"DELETE FROM s.t USING u WHERE s.t.id = u.id", KindWrite, []TableUse{w("s", "t"), r("", "u")}},
		{"WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d", KindWrite, []TableUse{w("", "t")}},
		{"WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) INSERT INTO arch SELECT * FROM d", KindWrite, []TableUse{w("", "t"), w("", "arch")}},
		{"WITH t AS (SELECT 1) DELETE FROM t WHERE id = 1", KindWrite, []TableUse{w("", "t")}},
		{"WITH x AS (SELECT 1) UPDATE x SET a = 1 FROM x AS y WHERE x.id = y.id", KindWrite, []TableUse{w("", "x")}},
		// SELECT … INTO creates a table
		{"SELECT * INTO newt FROM t", KindDDL, []TableUse{{"", "newt", AccessDDL}, r("", "t")}},
		// FOR UPDATE / SHARE: a read that locks rows
		{"SELECT * FROM t FOR UPDATE", KindRead, []TableUse{l("", "t")}},
		{"SELECT * FROM t WHERE id = 1 FOR NO KEY UPDATE SKIP LOCKED", KindRead, []TableUse{l("", "t")}},
		{"SELECT * FROM t JOIN u ON t.id = u.id FOR UPDATE OF t", KindRead, []TableUse{l("", "t"), r("", "u")}},
		{"SELECT * FROM t AS a, u FOR SHARE OF a", KindRead, []TableUse{l("", "t"), r("", "u")}},
		{"SELECT * FROM t, u FOR SHARE OF u FOR UPDATE OF t", KindRead, []TableUse{l("", "t"), l("", "u")}},
		{"SELECT * FROM t WHERE id IN (SELECT id FROM u) FOR UPDATE", KindRead, []TableUse{l("", "t"), r("", "u")}},
		{"SELECT * FROM (SELECT * FROM t) s FOR UPDATE", KindRead, []TableUse{l("", "t")}},
		{"SELECT * FROM (SELECT * FROM t) s, u FOR UPDATE OF s", KindRead, []TableUse{l("", "t"), r("", "u")}},
		{"SELECT * FROM (SELECT * FROM t) s, u FOR UPDATE OF u", KindRead, []TableUse{r("", "t"), l("", "u")}},
		{"WITH c AS (SELECT * FROM u) SELECT * FROM t, c FOR UPDATE", KindRead, []TableUse{r("", "u"), l("", "t")}},
		// EXPLAIN
		{"EXPLAIN UPDATE t SET a = 1", KindRead, []TableUse{r("", "t")}},
		{"EXPLAIN (COSTS off) WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d, u", KindRead, []TableUse{r("", "t"), r("", "u")}},
		{"EXPLAIN ANALYZE SELECT * FROM t", KindRead, []TableUse{r("", "t")}},
		{"EXPLAIN ANALYZE UPDATE t SET a = 1 WHERE id = 2", KindWrite, []TableUse{w("", "t")}},
		// prepared statements
		{"PREPARE p AS UPDATE t SET a = 1 WHERE id = $1", KindWrite, []TableUse{w("", "t")}},
		{"PREPARE q (int) AS SELECT * FROM t WHERE id = $1", KindRead, []TableUse{r("", "t")}},
		{"EXECUTE p(1)", KindUtility, nil},
		{"DEALLOCATE p", KindUtility, nil},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			a := dmlAnalyzeOne(t, tc.sql)
			if a.Kind != tc.kind {
				t.Errorf("kind %v, want %v", a.Kind, tc.kind)
			}
			checkTables(t, a.Tables, tc.tables)
		})
	}
}

func TestNoFindings(t *testing.T) {
	for _, sql := range []string{
		"SELECT abalance FROM pgbench_accounts WHERE aid = 1",
		"UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1",
		"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 2, 3, 4, CURRENT_TIMESTAMP)",
		"SELECT $$DELETE FROM t$$",
		"SELECT $x$DELETE FROM t; DROP TABLE t$x$",
		"SELECT 'delete from t'",
		"SELECT E'DELETE FROM t\\n'",
		"SELECT count(*) FROM t WHERE note = 'delete from t'",
		"SELECT 1 -- DELETE FROM t",
		"/* DELETE FROM t */ SELECT 1",
		`SELECT "DELETE FROM t" FROM t`,
		"SELECT * FROM t WHERE 1 = 1",
		"SELECT * FROM t FOR UPDATE",
		"EXPLAIN DELETE FROM t",
		"EXPLAIN SELECT f()",
		"DELETE FROM t WHERE id = 1",
		"PREPARE p AS SELECT * FROM t WHERE id = $1",
		"EXECUTE p(1)",
		"DEALLOCATE ALL",
		"SELECT count(*), sum(a), avg(a), max(b), string_agg(c, ','), row_number() OVER (), rank() OVER (ORDER BY a) FROM t GROUP BY a",
		"SELECT now(), lower('A'), pg_catalog.upper('a'), extract(year FROM now()), trim(' a '), substring('abc' FROM 2), length('x')",
		"SELECT coalesce(a, 0), greatest(a, b), nullif(a, b) FROM t",
		"SELECT random(), pg_sleep(0), gen_random_uuid(), txid_current(), clock_timestamp(), pg_backend_pid(), timeofday()",
		"SELECT pg_advisory_lock(1), pg_try_advisory_xact_lock(2)",
		"SELECT * FROM generate_series(1, 3) g, unnest(ARRAY[1]) u",
		"SELECT jsonb_build_object('a', 1) -> 'a', to_char(now(), 'YYYY'), date_trunc('day', now())",
		`SELECT "lower"('A')`,
		"SELECT x FROM t WHERE x LIKE 'a!%' ESCAPE '!'",
		"SELECT currval('s'), pg_stat_get_numscans(1)",
	} {
		t.Run(sql, func(t *testing.T) {
			a := dmlAnalyzeOne(t, sql)
			if len(a.Findings) != 0 {
				t.Fatalf("findings %+v", a.Findings)
			}
			if a.MayWrite {
				t.Fatal("MayWrite set")
			}
		})
	}
}

func TestMultiStatement(t *testing.T) {
	sql := "SELECT 1; DELETE FROM t; UPDATE t SET a = 1 WHERE id = 2"
	stmts, err := Analyze(sql)
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 3 {
		t.Fatalf("%d statements", len(stmts))
	}
	if len(stmts[0].Findings) != 0 || stmts[0].Kind != KindRead {
		t.Errorf("first: %+v", stmts[0].Facts)
	}
	if dmlFinding(stmts[1].Findings, RuleNoWhere) == nil || stmts[1].Kind != KindWrite {
		t.Errorf("second: %+v", stmts[1].Facts)
	}
	if strings.TrimSpace(stmts[1].Text) != "DELETE FROM t" {
		t.Errorf("second text %q", stmts[1].Text)
	}
	if len(stmts[2].Findings) != 0 || stmts[2].Kind != KindWrite {
		t.Errorf("third: %+v", stmts[2].Facts)
	}
}

func TestPrepared(t *testing.T) {
	tests := []struct {
		sql  string
		want PreparedRef
		rule RuleID // a finding that must be there, or ""
	}{
		{"PREPARE p AS DELETE FROM t", PreparedRef{PrepareOp, "p"}, RuleNoWhere},
		{"PREPARE upd (int) AS UPDATE t SET a = 1 WHERE id = $1", PreparedRef{PrepareOp, "upd"}, ""},
		{"PREPARE f AS SELECT nextval('s')", PreparedRef{PrepareOp, "f"}, RuleOpaqueCode},
		{"EXECUTE p", PreparedRef{ExecuteOp, "p"}, ""},
		{"EXECUTE p(1, 'x')", PreparedRef{ExecuteOp, "p"}, ""},
		{"EXPLAIN ANALYZE EXECUTE p", PreparedRef{ExecuteOp, "p"}, ""},
		{"DEALLOCATE p", PreparedRef{DeallocateOp, "p"}, ""},
		{"DEALLOCATE PREPARE p", PreparedRef{DeallocateOp, "p"}, ""},
		{"DEALLOCATE ALL", PreparedRef{DeallocateAllOp, ""}, ""},
		{"DEALLOCATE PREPARE ALL", PreparedRef{DeallocateAllOp, ""}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			a := dmlAnalyzeOne(t, tc.sql)
			if a.Prepared == nil || *a.Prepared != tc.want {
				t.Fatalf("Prepared %+v, want %+v", a.Prepared, tc.want)
			}
			if tc.rule != "" && dmlFinding(a.Findings, tc.rule) == nil {
				t.Fatalf("no %s finding: %+v", tc.rule, a.Findings)
			}
			if tc.rule == "" && len(a.Findings) != 0 {
				t.Fatalf("findings %+v", a.Findings)
			}
		})
	}
	if a := dmlAnalyzeOne(t, "EXPLAIN EXECUTE p"); a.Prepared != nil || a.Kind != KindRead {
		t.Errorf("EXPLAIN EXECUTE: %+v", a.Facts)
	}
}

func TestProtectedSchema(t *testing.T) {
	runRuleCases(t, RuleProtectedSchema, []ruleCase{
		{"DELETE FROM belay.holds WHERE id = 1", true, "belay.holds"},
		{`UPDATE "belay".approvals SET ok = true WHERE id = 1`, true, "belay.approvals"},
		{"INSERT INTO belay.audit VALUES (1)", true, "belay.audit"},
		{"INSERT INTO BELAY.audit VALUES (1)", true, "belay.audit"},
		{"SELECT * FROM belay.holds FOR UPDATE", true, "belay.holds"},
		{"WITH d AS (DELETE FROM belay.x WHERE id = 1 RETURNING *) SELECT 1", true, "belay.x"},
		{"SELECT * INTO belay.copy FROM t", true, "belay.copy"},
		{"MERGE INTO belay.t USING s ON belay.t.id = s.id WHEN MATCHED THEN DELETE", true, "belay.t"},
		{"EXPLAIN ANALYZE DELETE FROM belay.x WHERE id = 1", true, "belay.x"},
		{"PREPARE p AS DELETE FROM belay.x WHERE id = $1", true, "belay.x"},
		{"SELECT * FROM belay.holds", false, ""},
		{"SELECT * FROM belay.holds h JOIN t ON h.id = t.id", false, ""},
		{"DELETE FROM t WHERE id IN (SELECT id FROM belay.x)", false, ""},
		{"INSERT INTO t SELECT * FROM belay.x", false, ""},
		{"EXPLAIN DELETE FROM belay.x WHERE id = 1", false, ""},
		{`DELETE FROM "BELAY".x WHERE id = 1`, false, ""}, // another schema: PostgreSQL does not fold quoted names
		{"DELETE FROM belay_x.t WHERE id = 1", false, ""},
		// belay's other schemas and its functions.
		{"DELETE FROM belay_images.x WHERE id = 1", true, "belay_images.x"},
		{"UPDATE belay_quarantine.t_9 SET a = 1 WHERE id = 1", true, "belay_quarantine.t_9"},
		{"SELECT belay.record_change('psql', '', 'x', '{}')", true, "belay.record_change"},
		{"select BELAY.purge('1 day')", true, "belay.purge"},
		{"SELECT * FROM t WHERE id = (SELECT belay.mark_undone(1, 2)::int)", true, "belay.mark_undone"},
		{"SELECT record_change('a', 'b', 'c', '{}')", false, ""},
		{`SELECT "BELAY".purge('1 day')`, false, ""},
		{"DELETE FROM x.belay WHERE id = 1", false, ""},
	})
}

func TestLiteralSensitive(t *testing.T) {
	tests := []struct {
		sql  string
		want bool
	}{
		{"DELETE FROM t WHERE 1=1", true},
		{"DELETE FROM t WHERE 1=2", true},
		{"DELETE FROM t WHERE 't'::bool", true},
		{"DELETE FROM t WHERE 't'", true},
		{"DELETE FROM t WHERE id = 1 OR 1 = 2", true},
		{"UPDATE t SET a = 1 WHERE name LIKE 'a%'", true},
		{"DELETE FROM t WHERE x + 1 = x + 1", true},
		{"DELETE FROM t WHERE 1 IN (1, 2)", true},
		{"MERGE INTO t USING s ON 1 = 1 WHEN MATCHED THEN DELETE", true},
		{"SELECT set_config('search_path', 'x', false)", true},
		{"SELECT set_config('session_replication_role', 'replica', false)", true},
		{"DELETE FROM t WHERE id = 1", false},
		{"DELETE FROM t WHERE id = 1 AND b IN (1, 2)", false},
		{"DELETE FROM t WHERE x = x", false},
		{"DELETE FROM t WHERE true", false},
		{"DELETE FROM t WHERE false OR id = 3", false},
		{"DELETE FROM t", false},
		{"SELECT * FROM t WHERE 1 = 1", false},
		{"UPDATE t SET a = 1 + 1 WHERE id = 2", false},
		{"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", false},
		{"SELECT set_config($1, 'x', false)", false},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			if got := dmlAnalyzeOne(t, tc.sql).LiteralSensitive; got != tc.want {
				t.Fatalf("LiteralSensitive %v, want %v", got, tc.want)
			}
		})
	}
}

// Facts are cached by shape: two texts of one shape must get the same
// facts unless the facts say they depend on literals.
func TestFactsAgreeAcrossLiterals(t *testing.T) {
	pairs := [][2]string{
		{"DELETE FROM t WHERE id = 1", "DELETE FROM t WHERE id = 2"},
		{"DELETE FROM t WHERE 1 = 1", "DELETE FROM t WHERE 1 = 2"},
		{"DELETE FROM t WHERE 't'::bool", "DELETE FROM t WHERE 'f'::bool"},
		{"DELETE FROM t WHERE x LIKE '%'", "DELETE FROM t WHERE x LIKE 'a%'"},
		{"DELETE FROM t WHERE x + 1 = x + 1", "DELETE FROM t WHERE x + 1 = x + 2"},
		{"DELETE FROM t USING u WHERE u.x LIKE '%'", "DELETE FROM t USING u WHERE u.x LIKE 'b'"},
		{"DELETE FROM t WHERE x IS NULL OR x IS NOT NULL AND 1 = 1", "DELETE FROM t WHERE x IS NULL OR x IS NOT NULL AND 1 = 2"},
		{"UPDATE t SET a = 'x' WHERE id IN (1, 2)", "UPDATE t SET a = 'y' WHERE id IN (3, 4)"},
		{"MERGE INTO t USING s ON 1 = 1 WHEN MATCHED THEN DELETE", "MERGE INTO t USING s ON 1 = 0 WHEN MATCHED THEN DELETE"},
		{"SELECT set_config('session_replication_role', 'replica', false)", "SELECT set_config('search_path', 'replica', false)"},
		{"SELECT count(*) FROM t WHERE note = 'delete from t'", "SELECT count(*) FROM t WHERE note = 'x'"},
		{"SELECT $$DELETE FROM t$$", "SELECT $$SELECT 1$$"},
	}
	requireFactsAgreeAcrossLiterals(t, pairs)
}
