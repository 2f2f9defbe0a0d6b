package rules

import (
	"testing"
)

// FuzzAnalyze feeds Analyze arbitrary text, behind the same caps the relay
// applies (MakeShape's TooDeep, maxUnshapedBytes: libpg_query's recursion
// can overflow the C stack on deeper input). Analyze must not panic, and
// every finding must name its rule. Seeds: testdata/fuzz/FuzzAnalyze.
func FuzzAnalyze(f *testing.F) {
	f.Add("DELETE FROM t")
	f.Fuzz(func(t *testing.T, sql string) {
		var sc Scratch
		sh, ok := MakeShape([]byte(sql), &sc)
		if ok && sh.TooDeep || !ok && len(sql) > maxUnshapedBytes {
			return
		}
		stmts, err := Analyze(sql)
		if err != nil {
			return
		}
		for _, s := range stmts {
			for _, fd := range s.Findings {
				if fd.Rule == "" {
					t.Fatalf("finding without a rule: %+v", fd)
				}
			}
		}
	})
}
