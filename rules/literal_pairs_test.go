package rules

import (
	"reflect"
	"testing"
)

// requireFactsAgreeAcrossLiterals checks the promise the shape cache rests
// on: two texts of one shape (literals cut out) get the same facts, unless
// the facts say they depend on the literals.
func requireFactsAgreeAcrossLiterals(t *testing.T, pairs [][2]string) {
	t.Helper()
	for _, p := range pairs {
		t.Run(p[0], func(t *testing.T) {
			var sc1, sc2 Scratch
			s1, ok1 := MakeShape([]byte(p[0]), &sc1)
			s2, ok2 := MakeShape([]byte(p[1]), &sc2)
			if !ok1 || !ok2 || string(s1.Key) != string(s2.Key) {
				t.Fatalf("test pair does not share a shape")
			}
			a, b := analyzeOne(t, p[0]), analyzeOne(t, p[1])
			if a.LiteralSensitive != b.LiteralSensitive {
				t.Fatalf("LiteralSensitive differs: %v, %v", a.LiteralSensitive, b.LiteralSensitive)
			}
			if !a.LiteralSensitive && !reflect.DeepEqual(a, b) {
				t.Fatalf("facts differ without LiteralSensitive:\n%+v\n%+v", a, b)
			}
		})
	}
}

// analyzeOne returns the facts of a text holding one statement.
func analyzeOne(t *testing.T, sql string) Facts {
	t.Helper()
	return dmlAnalyzeOne(t, sql).Facts
}
