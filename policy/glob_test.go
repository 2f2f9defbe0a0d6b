package policy

import (
	"path"
	"testing"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		fold, want    bool
	}{
		{"psql", "psql", false, true},
		{"psql", "psql2", false, false},
		{"psql", "PSQL", false, false},
		{"psql", "PSQL", true, true},
		{"pgAdmin*", "pgadmin 4 - CONN:123", true, true},
		{"pgAdmin*", "pgAdmin", false, true},
		{"pgAdmin*", "pgadmin", false, false},
		{"DBeaver*", "DBeaver 24.0 - SQLEditor <a/b.sql>", true, true}, // * crosses /
		{"*", "", false, true},
		{"*", "a/b", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "a/c", false, true},
		{"a?c", "aéc", false, true}, // ? is one character, not one byte
		{"a?c", "ac", false, false},
		{"*_ro", "app_ro", false, true},
		{"*_ro", "app_rw", false, false},
		{"*a*b*c*", "xxaxxbxxcxx", false, true},
		{"*a*b*c*", "xxaxxcxxbxx", false, false},
		{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
		{"[a-c]x", "bx", false, true},
		{"[a-c]x", "dx", false, false},
		{"[^a-c]x", "dx", false, true},
		{"[^a-c]x", "ax", false, false},
		{"[abc]", "c", false, true},
		{`\*`, "*", false, true},
		{`\*`, "x", false, false},
		{`[\]]`, "]", false, true},
		{`[\-x]`, "-", false, true},
		{"app-[0-9][0-9]", "app-07", false, true},
		{"App-[A-Z]", "app-q", true, true},
	}
	for _, tc := range tests {
		g, err := compileGlob(tc.pattern, tc.fold)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tc.pattern, err)
		}
		if got := g.match(tc.name); got != tc.want {
			t.Errorf("glob %q (fold %v) match %q = %v, want %v", tc.pattern, tc.fold, tc.name, got, tc.want)
		}
	}
}

// TestGlobAgreesWithPathMatch checks the syntax is path.Match's wherever
// no "/" is involved.
func TestGlobAgreesWithPathMatch(t *testing.T) {
	patterns := []string{"a*", "*b", "a?b", "[a-c]*", "[^x]?", `\[x`, "**", "a*b*", "[ab][cd]"}
	names := []string{"", "a", "ab", "acb", "ba", "[x", "x", "ad", "bc", "aXbY", "xyz"}
	for _, p := range patterns {
		g, err := compileGlob(p, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			want, _ := path.Match(p, n)
			if got := g.match(n); got != want {
				t.Errorf("glob %q match %q = %v, path.Match says %v", p, n, got, want)
			}
		}
	}
}

func TestGlobBadPatterns(t *testing.T) {
	for _, p := range []string{"[", "[a-", "ab[", `\`, "[]a]", "[-a]", "[a-]"} {
		if _, err := compileGlob(p, false); err != path.ErrBadPattern {
			t.Errorf("compileGlob(%q) error = %v, want path.ErrBadPattern", p, err)
		}
	}
}
