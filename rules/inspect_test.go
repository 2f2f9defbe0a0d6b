package rules

import (
	"strings"
	"testing"
)

// countingParser counts calls to the real parser; literal makes every
// statement's facts depend on its literals.
type countingParser struct {
	cgoParser
	splits  int
	literal bool
}

func (p *countingParser) analyze(sql string) ([]Analyzed, *ParseError) {
	p.splits++
	a, err := p.cgoParser.analyze(sql)
	for i := range a {
		a[i].LiteralSensitive = a[i].LiteralSensitive || p.literal
	}
	return a, err
}

// countingClassifier is a classifier whose parses are counted.
func countingClassifier(literal bool) (*Classifier, *countingParser) {
	p := &countingParser{literal: literal}
	c := NewClassifier(Options{})
	c.parser = p
	return c, p
}

func inspectTexts(t *testing.T, c *Classifier, sql string) (fps, norms []string, err *ParseError) {
	t.Helper()
	var sc Scratch
	in := c.Inspect([]byte(sql), &sc)
	for _, s := range in.Statements {
		fps = append(fps, s.Fingerprint)
		norms = append(norms, string(s.Normalized))
	}
	return fps, norms, in.Err
}

func TestInspectOneLinePerStatement(t *testing.T) {
	c := NewClassifier(Options{})
	tests := []struct {
		sql  string
		want []string
	}{
		{"SELECT 4242 AS a; SELECT 'secret'::text AS b", []string{"SELECT $1 AS a", "SELECT $2::text AS b"}},
		{"SELECT 1;;  ; -- only a comment\n", []string{"SELECT $1"}},
		{"CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b)", []string{"CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b)"}},
		{"SELECT ';' ; SELECT $$;$$", []string{"SELECT $1", "SELECT $2"}},
		{`SELECT 1 AS ";"; SELECT 2`, []string{`SELECT $1 AS ";"`, "SELECT $2"}},
		// The lexer splits this at the inner semicolons; the parser's count
		// disagrees, so the slow path answers, still per statement.
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3",
			[]string{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT $1; SELECT $2; END", "SELECT 3"}},
	}
	for _, tc := range tests {
		_, norms, err := inspectTexts(t, c, tc.sql)
		if err != nil {
			t.Fatalf("%q: %v", tc.sql, err)
		}
		if strings.Join(norms, "|") != strings.Join(tc.want, "|") && !(len(norms) == len(tc.want) && strings.HasPrefix(tc.sql, "CREATE FUNCTION")) {
			t.Errorf("Inspect(%q) = %q, want %q", tc.sql, norms, tc.want)
		}
	}
}

func TestInspectCachesByShape(t *testing.T) {
	c, p := countingClassifier(false)
	fps1, norms1, _ := inspectTexts(t, c, "SELECT abalance FROM pgbench_accounts WHERE aid = 1")
	fps2, norms2, _ := inspectTexts(t, c, "SELECT abalance FROM pgbench_accounts WHERE aid = 99999")
	if p.splits != 1 {
		t.Fatalf("parsed %d times, want once for two texts of one shape", p.splits)
	}
	if fps1[0] != fps2[0] || norms1[0] != norms2[0] {
		t.Fatalf("same shape, different results: %v %v / %v %v", fps1, norms1, fps2, norms2)
	}
	if strings.Contains(norms2[0], "99999") {
		t.Fatal("literal leaked into the normalised text")
	}
}

// Facts that depend on literals (1=1 versus 1=2) are cached per text, not
// shared by every text of the shape.
func TestInspectLiteralSensitiveFactsCachedPerText(t *testing.T) {
	c, p := countingClassifier(true)
	texts := []string{"DELETE FROM t WHERE 1 = 1", "DELETE FROM t WHERE 1 = 2", "DELETE FROM t WHERE 1 = 1"}
	var facts []*Facts
	for _, sql := range texts {
		var sc Scratch
		in := c.Inspect([]byte(sql), &sc)
		if in.Err != nil || len(in.Statements) != 1 {
			t.Fatalf("Inspect(%q) = %+v", sql, in)
		}
		facts = append(facts, in.Statements[0].Facts)
	}
	if p.splits != 2 {
		t.Fatalf("parsed %d times, want once per distinct text (2)", p.splits)
	}
	if facts[0] == facts[1] || facts[0] != facts[2] {
		t.Fatal("facts shared across texts of one shape, or not cached for one text")
	}
}

func TestInspectParseErrorsCarryPosition(t *testing.T) {
	c := NewClassifier(Options{})
	for _, sql := range []string{"SELECT 1 FROM FROM t", "SELECT 'x' FROM FROM t", "SELECT 'unterminated"} {
		for i := 0; i < 2; i++ { // second time through the cache
			_, _, err := inspectTexts(t, c, sql)
			if err == nil || err.Position == 0 {
				t.Fatalf("Inspect(%q) err %v, want a positioned parse error", sql, err)
			}
		}
	}
	_, _, a := inspectTexts(t, c, "SELECT 1 FROM FROM t")
	_, _, b := inspectTexts(t, c, "SELECT 1000 FROM FROM t")
	if a.Position == b.Position {
		t.Fatalf("positions %d and %d: the error of one text was reused for another", a.Position, b.Position)
	}
}

func BenchmarkInspectShapeHit(b *testing.B) {
	c := NewClassifier(Options{})
	var sc Scratch
	texts := make([][]byte, 1024)
	for i := range texts {
		texts[i] = []byte("SELECT abalance FROM pgbench_accounts WHERE aid = " + strings.Repeat("7", 1+i%6))
	}
	c.Inspect(texts[0], &sc)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := c.Inspect(texts[i%len(texts)], &sc)
		if len(in.Statements) != 1 {
			b.Fatal("no statement")
		}
	}
}

// IN lists, VALUES rows and argument lists of any length share one shape
// (as they share pg_query's fingerprint), so an application's varying list
// lengths do not each cost a parse.
func TestInspectListLengthsShareAShape(t *testing.T) {
	c, p := countingClassifier(false)
	var fps []string
	for _, sql := range []string{
		"SELECT * FROM orders WHERE id IN (1, 2)",
		"SELECT * FROM orders WHERE id IN (7,8,9,10)",
		"SELECT * FROM orders WHERE id IN (42)",
	} {
		f, norms, err := inspectTexts(t, c, sql)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(norms[0], "42") || strings.Contains(norms[0], "10") {
			t.Fatalf("literal leaked into %q", norms[0])
		}
		fps = append(fps, f[0])
	}
	if p.splits != 1 {
		t.Fatalf("parsed %d times, want once for three list lengths", p.splits)
	}
	if fps[0] != fps[1] || fps[1] != fps[2] {
		t.Fatalf("fingerprints differ: %v", fps)
	}
	// Mixed kinds or other separators stay apart.
	inspectTexts(t, c, "SELECT * FROM orders WHERE id IN (1, 'a')")
	inspectTexts(t, c, "SELECT * FROM orders WHERE id IN (1 /* c */, 2)")
	if p.splits != 3 {
		t.Fatalf("parsed %d times, want 3", p.splits)
	}
}

// pgx sends IN lists as parameters: runs of $n share a shape too, and
// the normalised text keeps them as written.
func TestInspectParameterListsShareAShape(t *testing.T) {
	c, p := countingClassifier(false)
	_, n1, _ := inspectTexts(t, c, "SELECT * FROM orders WHERE id IN ($1, $2) AND total > 5")
	_, n2, _ := inspectTexts(t, c, "SELECT * FROM orders WHERE id IN ($1,$2,$3,$4) AND total > 7")
	if p.splits != 1 {
		t.Fatalf("parsed %d times, want once", p.splits)
	}
	if n1[0] != "SELECT * FROM orders WHERE id IN ($1, $2) AND total > $3" || n2[0] != "SELECT * FROM orders WHERE id IN ($1,$2,$3,$4) AND total > $5" {
		t.Fatalf("normalised %q, %q", n1[0], n2[0])
	}
	inspectTexts(t, c, "SELECT * FROM orders WHERE id IN ($1, $2) AND total > $3")
	if p.splits != 2 {
		t.Fatalf("a parameter in place of a literal shared the shape (parsed %d times)", p.splits)
	}
}
