package rules

import (
	"strings"
	"testing"
)

func TestSplitLimitGuard(t *testing.T) {
	cases := []struct {
		sql      string
		stripped string
		limit    int64
	}{
		{"DELETE FROM t WHERE id < 10 LIMIT 1", "DELETE FROM t WHERE id < 10        ", 1},
		{"UPDATE t SET a = 1 WHERE b = 2 LIMIT 5", "UPDATE t SET a = 1 WHERE b = 2        ", 5},
		{"delete from t where x limit 100;", "delete from t where x          ;", 100},
		{"DeLeTe FrOm t WhErE x LiMiT 3 ; ", "DeLeTe FrOm t WhErE x         ; ", 3},
		{"DELETE FROM t WHERE x LIMIT 1;;", "DELETE FROM t WHERE x        ;;", 1},
		{";; DELETE FROM t WHERE x LIMIT 1", ";; DELETE FROM t WHERE x        ", 1},
		// No WHERE: the LIMIT comes off all the same; the stripped text is
		// what runs, and it is what the rules check (no-where fires).
		{"DELETE FROM t LIMIT 1", "DELETE FROM t        ", 1},
		// Comments and white space anywhere; a comment between the two
		// tokens stays, so characters keep their positions too.
		{"DELETE FROM t WHERE x\n  LIMIT\n  2\n-- done\n", "DELETE FROM t WHERE x\n       \n   \n-- done\n", 2},
		{"DELETE FROM t WHERE x LIMIT /* é */ 2 /* end */", "DELETE FROM t WHERE x       /* é */   /* end */", 2},
		{"/* LIMIT 9 */ DELETE FROM t WHERE x LIMIT 2 -- LIMIT 7", "/* LIMIT 9 */ DELETE FROM t WHERE x         -- LIMIT 7", 2},
		{"DELETE FROM t WHERE x LIMIT 2; -- belay:expect 2", "DELETE FROM t WHERE x        ; -- belay:expect 2", 2},
		// WITH, USING, FROM, ONLY, aliases, RETURNING.
		{"WITH s AS (SELECT id FROM u LIMIT 10) DELETE FROM t USING s WHERE t.id = s.id LIMIT 10",
			"WITH s AS (SELECT id FROM u LIMIT 10) DELETE FROM t USING s WHERE t.id = s.id         ", 10},
		{"WITH RECURSIVE r(n) AS (SELECT 1) UPDATE ONLY s.t AS x SET a = r.n FROM r WHERE x.id = r.n LIMIT 1",
			"WITH RECURSIVE r(n) AS (SELECT 1) UPDATE ONLY s.t AS x SET a = r.n FROM r WHERE x.id = r.n        ", 1},
		{"DELETE FROM t WHERE x RETURNING * LIMIT 3", "DELETE FROM t WHERE x RETURNING *        ", 3},
		{"UPDATE t SET a = 1 WHERE x RETURNING id, a LIMIT 3", "UPDATE t SET a = 1 WHERE x RETURNING id, a        ", 3},
		// The magic word inside literals does not count, nor confuse.
		{"UPDATE t SET note = 'LIMIT 1' WHERE id = 4 LIMIT 1", "UPDATE t SET note = 'LIMIT 1' WHERE id = 4        ", 1},
		{"UPDATE t SET note = $$ LIMIT 1; $$ WHERE id = 4 LIMIT 1", "UPDATE t SET note = $$ LIMIT 1; $$ WHERE id = 4        ", 1},
		// A subquery with its own LIMIT, then the habit.
		{"DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 5) LIMIT 5", "DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 5)        ", 5},
		// Integers too big for int4 scan as FCONST; still a count.
		{"DELETE FROM t WHERE x LIMIT 3000000000", "DELETE FROM t WHERE x                 ", 3000000000},
	}
	for _, tc := range cases {
		stripped, limit, ok := SplitLimitGuard(tc.sql)
		if !ok || stripped != tc.stripped || limit != tc.limit {
			t.Errorf("SplitLimitGuard(%q) = %q, %d, %v; want %q, %d, true", tc.sql, stripped, limit, ok, tc.stripped, tc.limit)
			continue
		}
		if len(stripped) != len(tc.sql) || len([]rune(stripped)) != len([]rune(tc.sql)) {
			t.Errorf("SplitLimitGuard(%q): stripped text has another length", tc.sql)
		}
		if out := utAnalyze(t, stripped); len(out) != 1 || out[0].Kind != KindWrite {
			t.Errorf("SplitLimitGuard(%q): stripped text is not one write: %+v", tc.sql, out)
		}
	}
}

func TestSplitLimitGuardRefuses(t *testing.T) {
	for _, sql := range []string{
		// Not UPDATE or DELETE.
		"SELECT * FROM t LIMIT 1",
		"SELECT * FROM t WHERE x LIMIT 1;",
		"INSERT INTO t SELECT * FROM u LIMIT 1",
		"WITH d AS (DELETE FROM t WHERE x RETURNING *) SELECT * FROM d LIMIT 1",
		"MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE LIMIT 1",
		"VALUES (1) LIMIT 1",
		// Not a count of rows at least 1.
		"DELETE FROM t WHERE x LIMIT 0",
		"DELETE FROM t WHERE x LIMIT 00",
		"DELETE FROM t WHERE x LIMIT -1",
		"DELETE FROM t WHERE x LIMIT ALL",
		"DELETE FROM t WHERE x LIMIT NULL",
		"DELETE FROM t WHERE x LIMIT $1",
		"DELETE FROM t WHERE x LIMIT (5)",
		"DELETE FROM t WHERE x LIMIT 1.5",
		"DELETE FROM t WHERE x LIMIT 1e3",
		"DELETE FROM t WHERE x LIMIT 0x10",
		"DELETE FROM t WHERE x LIMIT 1_000",
		"DELETE FROM t WHERE x LIMIT '1'",
		"DELETE FROM t WHERE x LIMIT 1 + 1",
		"DELETE FROM t WHERE x LIMIT 99999999999999999999",
		// Not last.
		"DELETE FROM t WHERE x LIMIT 1 OFFSET 2",
		"DELETE FROM t WHERE x OFFSET 2 LIMIT 1",
		"DELETE FROM t WHERE x LIMIT 1 RETURNING *",
		"DELETE FROM t WHERE x FETCH FIRST 1 ROWS ONLY",
		"DELETE FROM t WHERE x ORDER BY id LIMIT 1",
		"DELETE FROM t WHERE x LIMIT 1 LIMIT 1",
		"DELETE FROM t WHERE x LIMIT",
		"LIMIT 1",
		// Only in a literal, a comment or an identifier.
		"DELETE FROM t WHERE note = 'x LIMIT 1'",
		"DELETE FROM t WHERE x -- LIMIT 1",
		"DELETE FROM t WHERE x /* LIMIT 1 */",
		"DELETE FROM t WHERE x = $$ LIMIT 1 $$",
		`DELETE FROM t WHERE "LIMIT" = 1`,
		`DELETE FROM t WHERE x "LIMIT" 1`,
		// Already parses: the LIMIT belongs to a subquery.
		"DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 1)",
		"UPDATE t SET a = (SELECT b FROM u LIMIT 1)",
		// Two statements, in either order, or around a comment.
		"DELETE FROM t WHERE x LIMIT 1; DELETE FROM u WHERE y LIMIT 1",
		"SELECT 1; DELETE FROM t WHERE x LIMIT 1",
		"DELETE FROM t WHERE x LIMIT 1; SELECT 1",
		"DELETE FROM t WHERE x LIMIT 1; /* c */ COMMIT",
		"; SELECT 1; DELETE FROM t WHERE x LIMIT 1",
		"UPDATE t SET a = 1 WHERE x; COMMIT LIMIT 1",
		// Wrapped.
		"PREPARE p AS DELETE FROM t WHERE x LIMIT 1",
		"EXPLAIN DELETE FROM t WHERE x LIMIT 1",
		"EXPLAIN ANALYZE UPDATE t SET a = 1 WHERE x LIMIT 1",
		"COPY (DELETE FROM t WHERE x RETURNING * LIMIT 1) TO STDOUT",
		"CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM u WHERE x LIMIT 1",
		"DO $$BEGIN DELETE FROM t WHERE x LIMIT 1; END$$",
		// Other syntax errors are not the habit's.
		"DELETE FORM t WHERE x LIMIT 1",
		"UPDATE t SET WHERE x LIMIT 1",
		// Does not scan.
		"DELETE FROM t WHERE x = 'open LIMIT 1",
		"DELETE FROM t WHERE x LIMIT 1 /* open",
		// Nothing to do.
		"DELETE FROM t WHERE x",
		"",
	} {
		if stripped, limit, ok := SplitLimitGuard(sql); ok || stripped != "" || limit != 0 {
			t.Errorf("SplitLimitGuard(%q) = %q, %d, %v; want not ok", sql, stripped, limit, ok)
		}
	}
}

// Text nested too deep for the parser never reaches it.
func TestSplitLimitGuardTooDeep(t *testing.T) {
	sql := "DELETE FROM t WHERE " + strings.Repeat("(", 100000) + "x" + strings.Repeat(")", 100000) + " LIMIT 1"
	if _, _, ok := SplitLimitGuard(sql); ok {
		t.Fatal("ok for text nested too deep to parse")
	}
}

func TestSplitLimitGuardCheapWithoutKeyword(t *testing.T) {
	sql := strings.Repeat("UPDATE t SET a = 1 WHERE id = 1 /* limi t */;\n", 50)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, ok := SplitLimitGuard(sql); ok {
			t.Fatal("ok without LIMIT")
		}
	})
	if allocs != 0 {
		t.Fatalf("SplitLimitGuard allocated %.0f times for text without limit", allocs)
	}
}
