package rules

import (
	"strings"
	"testing"
)

func TestDeepInputNeverReachesTheParser(t *testing.T) {
	c := NewClassifier(Options{})
	for name, sql := range map[string]string{
		"100000 parentheses":     "SELECT " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000),
		"30000-term chain":       "SELECT 1" + strings.Repeat("+1", 30000),
		"100000 casts":           "SELECT 1" + strings.Repeat("::int", 100000),
		"NOT chain":              "SELECT " + strings.Repeat("NOT ", 50000) + "true",
		"unterminated and large": "SELECT 1" + strings.Repeat("+1", 30000) + " 'open",
	} {
		t.Run(name, func(t *testing.T) {
			var sc Scratch
			in := c.Inspect([]byte(sql), &sc) // a crash here kills the test binary
			if in.Err == nil {
				t.Fatal("deep input inspected without error")
			}
		})
	}
}

func TestWideButShallowInputIsInspected(t *testing.T) {
	c := NewClassifier(Options{})
	var terms []string
	for i := 0; i < 5000; i++ {
		terms = append(terms, "a = 1")
	}
	for name, sql := range map[string]string{
		"long OR chain":  "SELECT * FROM t WHERE " + strings.Join(terms, " OR "),
		"long IN list":   "SELECT * FROM t WHERE a IN (" + strings.Repeat("1, ", 20000) + "1)",
		"many VALUES":    "INSERT INTO t VALUES " + strings.Repeat("(1, 'x'), ", 10000) + "(2, 'y')",
		"long CASE":      "SELECT CASE " + strings.Repeat("WHEN a = 1 THEN 2 ", 3000) + "END FROM t",
		"nested 50 deep": "SELECT " + strings.Repeat("(", 50) + "1" + strings.Repeat(")", 50),
		"chain of 1000":  "SELECT 1" + strings.Repeat("+1", 1000),
	} {
		t.Run(name, func(t *testing.T) {
			var sc Scratch
			if in := c.Inspect([]byte(sql), &sc); in.Err != nil || len(in.Statements) != 1 {
				t.Fatalf("err %v, %d statements", in.Err, len(in.Statements))
			}
		})
	}
}
