package rules

import (
	"strings"
	"testing"
)

func TestExpectedRows(t *testing.T) {
	cases := []struct {
		sql   string
		n     int64
		found bool
	}{
		{"UPDATE t SET a = 1 WHERE b = 2 /* belay:expect 3 */", 3, true},
		{"-- belay:expect 3\nUPDATE t SET a = 1 WHERE b = 2", 3, true},
		{"DELETE FROM t WHERE id < 10; -- belay:expect 9", 9, true},
		{"/* BELAY:EXPECT 3 */ UPDATE t SET a = 1", 3, true},
		{"/* Belay:Expect 3 */ UPDATE t SET a = 1", 3, true},
		{"/*belay:expect   12*/ UPDATE t SET a = 1", 12, true},
		{"UPDATE t SET a = 1 --belay:expect\t0", 0, true},
		{"UPDATE t SET a = 1 -- belay:expect 5\r\n", 5, true},
		{"/*\n  belay:expect\n  5\n*/ UPDATE t SET a = 1", 5, true},
		{"/* belay:expect3 */ UPDATE t SET a = 1", 3, true},
		{"/* belay:expect 007 */ UPDATE t SET a = 1", 7, true},
		// The comment may go on after the count.
		{"UPDATE t SET a = 1 WHERE b /* belay:expect 3 rows, ticket OPS-42 */", 3, true},
		{"UPDATE t SET a = 1 -- belay:expect 3 (the test accounts)", 3, true},
		// Block comments nest.
		{"/* outer /* belay:expect 4 */ still the comment */ UPDATE t SET a = 1", 4, true},
		{"/* outer /* belay:expect 4*/ */ UPDATE t SET a = 1", 4, true},
		// Repeating one count is fine; so is one comment for a whole
		// multi-statement string.
		{"/* belay:expect 3 */ UPDATE t SET a = 1 WHERE b -- belay:expect 3", 3, true},
		{"/* belay:expect 2 belay:expect 2 */ UPDATE t SET a = 1", 2, true},
		{"UPDATE a SET x = 1 WHERE y; /* belay:expect 2 */ UPDATE b SET x = 1 WHERE y", 2, true},
		{"WITH d AS (DELETE FROM t WHERE x /* belay:expect 1 */ RETURNING *) SELECT * FROM d", 1, true},
		{"PREPARE p AS UPDATE t SET a = $1 WHERE id = $2 -- belay:expect 1", 1, true},
		{"EXECUTE p(1, 2) /* belay:expect 1 */", 1, true},
		// A count in a literal is data: it neither counts nor conflicts.
		{"/* belay:expect 3 */ UPDATE t SET note = '-- belay:expect 4' WHERE id = 1", 3, true},

		// Not comments: string literals, dollar quotes, identifiers.
		{"UPDATE t SET note = '/* belay:expect 3 */' WHERE id = 1", 0, false},
		{"UPDATE t SET note = '-- belay:expect 3' WHERE id = 1", 0, false},
		{"UPDATE t SET note = E'it''s \\' -- belay:expect 3' WHERE id = 1", 0, false},
		{"SELECT $$-- belay:expect 3$$", 0, false},
		{"SELECT $tag$ /* belay:expect 3 */ $tag$", 0, false},
		{"DO $$BEGIN UPDATE t SET a = 1; -- belay:expect 3\nEND$$", 0, false},
		{`UPDATE t SET "belay:expect 3" = 1`, 0, false},
		{`SELECT U&"belay:expect 3"`, 0, false},
		// No expectation.
		{"UPDATE t SET a = 1 WHERE id = 1", 0, false},
		{"UPDATE t SET a = 1 -- expect 3", 0, false},
		{"UPDATE t SET a = 1 -- belay :expect 3", 0, false},
		// belay's own error messages pasted into a comment are no directive.
		{"-- ERROR: belay: no-where: UPDATE or DELETE without a WHERE\nUPDATE t SET a = 1 WHERE id = 1", 0, false},
		// Text that does not scan: the parser will say so.
		{"UPDATE t SET note = '/* belay:expect 3 */", 0, false},
		{"UPDATE t SET a = 1 /* belay:expect 3", 0, false},
	}
	for _, tc := range cases {
		n, found, err := ExpectedRows(tc.sql)
		if err != nil || n != tc.n || found != tc.found {
			t.Errorf("ExpectedRows(%q) = %d, %v, %v; want %d, %v, nil", tc.sql, n, found, err, tc.n, tc.found)
		}
	}
}

func TestExpectedRowsErrors(t *testing.T) {
	cases := []struct {
		sql     string
		message string // a part of the error
	}{
		{"UPDATE t SET a = 1 /* belay:expect */", "needs a row count"},
		{"UPDATE t SET a = 1 /* belay:expect*/", "needs a row count"},
		{"UPDATE t SET a = 1 -- belay:expect", "needs a row count"},
		{"UPDATE t SET a = 1 -- belay:expect   \nWHERE id = 1", "needs a row count"},
		{"UPDATE t SET a = 1 /* belay:expect -1 */", "negative"},
		{"UPDATE t SET a = 1 /* belay:expect three */", `"three" is not a non-negative integer`},
		{"UPDATE t SET a = 1 /* belay:expect 3.5 */", "not a non-negative integer"},
		{"UPDATE t SET a = 1 /* belay:expect 1e3 */", "not a non-negative integer"},
		{"UPDATE t SET a = 1 /* belay:expect +3 */", "not a non-negative integer"},
		{"UPDATE t SET a = 1 /* belay:expect 1_000 */", "not a non-negative integer"},
		{"UPDATE t SET a = 1 /* belay:expect 0x10 */", "not a non-negative integer"},
		{"UPDATE t SET a = 1 /* belay:expect 3; */", "not a non-negative integer"},
		{"UPDATE t SET a = 1 /* belay:expect 3rows */", "not a non-negative integer"},
		{"UPDATE t SET a = 1 /* belay:expect 99999999999999999999 */", "too large"},
		// A typo of the keyword is not silently no expectation.
		{"UPDATE t SET a = 1 -- belay:expected 3", `"ed" is not`},
		{"UPDATE t SET a = 1 -- BELAY:EXPECTS 3", "not a non-negative integer"},
		// Counts that differ, in one comment or several, in one statement
		// or several.
		{"/* belay:expect 3 */ UPDATE t SET a = 1 -- belay:expect 4", "conflicting belay:expect comments: 3 and 4"},
		{"/* belay:expect 3 belay:expect 0 */ UPDATE t SET a = 1", "conflicting"},
		{"UPDATE a SET x = 1 /* belay:expect 1 */; UPDATE b SET x = 1 /* belay:expect 2 */", "conflicting"},
		// A good count does not excuse a bad one.
		{"/* belay:expect 3 */ UPDATE t SET a = 1 -- belay:expect x", "not a non-negative integer"},
	}
	for _, tc := range cases {
		n, found, err := ExpectedRows(tc.sql)
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("ExpectedRows(%q) = %d, %v, %v; want an error with %q", tc.sql, n, found, err, tc.message)
			continue
		}
		if n != 0 || found {
			t.Errorf("ExpectedRows(%q) = %d, %v with an error; want 0, false", tc.sql, n, found)
		}
	}
}

// Text without "belay:" is answered from its bytes: no scan, no
// allocation. Every held write pays for this check.
func TestExpectedRowsCheapWithoutKeyword(t *testing.T) {
	sql := strings.Repeat("UPDATE t SET a = 1 WHERE id = 1 /* belay */ -- expect 3\n", 50)
	allocs := testing.AllocsPerRun(100, func() {
		if _, found, err := ExpectedRows(sql); found || err != nil {
			t.Fatal("found an expectation in text without one")
		}
	})
	if allocs != 0 {
		t.Fatalf("ExpectedRows allocated %.0f times for text without belay:", allocs)
	}
}
