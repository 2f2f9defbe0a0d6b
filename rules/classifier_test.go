package rules

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		sql      string
		wantNorm string
		secrets  []string // must not appear in Normalized
	}{
		{"literals replaced", "SELECT * FROM t WHERE id = 42 AND name = 'secret'",
			"SELECT * FROM t WHERE id = $1 AND name = $2", []string{"42", "secret"}},
		{"multi-statement", "SELECT 1; UPDATE t SET pw = 'hunter2' WHERE id = 7",
			"SELECT $1; UPDATE t SET pw = $2 WHERE id = $3", []string{"hunter2", "7"}},
		{"multi-row insert", "INSERT INTO t VALUES (1, 'x'), (2, 'y')",
			"INSERT INTO t VALUES ($1, $2), ($3, $4)", []string{"'x'", "'y'"}},
		{"placeholders kept", "SELECT * FROM t WHERE id = $1", "SELECT * FROM t WHERE id = $1", nil},
		{"empty", "", "", nil},
	}
	c := NewClassifier(Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := c.Classify([]byte(tc.sql))
			if cl.Err != nil {
				t.Fatalf("Classify(%q).Err = %v", tc.sql, cl.Err)
			}
			if cl.Fingerprint == "" {
				t.Errorf("Classify(%q).Fingerprint is empty", tc.sql)
			}
			if cl.Normalized != tc.wantNorm {
				t.Errorf("Normalized = %q, want %q", cl.Normalized, tc.wantNorm)
			}
			for _, s := range tc.secrets {
				if strings.Contains(cl.Normalized, s) {
					t.Errorf("Normalized %q still contains literal %q", cl.Normalized, s)
				}
			}
		})
	}
}

func TestFingerprintIgnoresLiterals(t *testing.T) {
	groups := [][]string{
		{"SELECT * FROM t WHERE id = 42 AND name = 'secret'", "SELECT * FROM t WHERE id = 7 AND name = 'other'", "select *  from t where id = $1 and name = $2"},
		{"SELECT 1; SELECT 2", "SELECT 3; SELECT 'x'"},
		{"SELECT * FROM u WHERE id = 42 AND name = 'secret'"},
		{"DELETE FROM t WHERE id = 1"},
	}
	c := NewClassifier(Options{})
	seen := map[string]int{}
	for g, texts := range groups {
		want := c.Classify([]byte(texts[0])).Fingerprint
		for _, s := range texts[1:] {
			if got := c.Classify([]byte(s)).Fingerprint; got != want {
				t.Errorf("Fingerprint(%q) = %s, want %s as for %q", s, got, want, texts[0])
			}
		}
		if prev, ok := seen[want]; ok {
			t.Errorf("groups %d and %d share fingerprint %s", prev, g, want)
		}
		seen[want] = g
	}
}

func TestClassifySyntaxError(t *testing.T) {
	tests := []struct {
		sql     string
		wantMsg string
		wantPos int
	}{
		{"SELECT 1 FROM FROM t", `syntax error at or near "FROM"`, 15},
		{"SELEC 1", `syntax error at or near "SELEC"`, 1},
		{"SELECT * FROM t WHERE", "syntax error at end of input", 22},
		{"SELECT 'unterminated", "unterminated quoted string", 8},
		{"SELECT 1; SELEC 2", `syntax error at or near "SELEC"`, 11},
	}
	c := NewClassifier(Options{})
	for _, tc := range tests {
		cl := c.Classify([]byte(tc.sql))
		if cl.Err == nil {
			t.Errorf("Classify(%q): no error, want %q", tc.sql, tc.wantMsg)
			continue
		}
		if !strings.Contains(cl.Err.Message, tc.wantMsg) || cl.Err.Error() != cl.Err.Message {
			t.Errorf("Classify(%q).Err = %q, want it to contain %q", tc.sql, cl.Err.Message, tc.wantMsg)
		}
		if cl.Err.Position != tc.wantPos {
			t.Errorf("Classify(%q).Err.Position = %d, want %d", tc.sql, cl.Err.Position, tc.wantPos)
		}
		if cl.Fingerprint != "" || cl.Normalized != "" {
			t.Errorf("Classify(%q) = %+v, want no fingerprint or text with an error", tc.sql, cl)
		}
	}
}

func TestClassifyCacheHit(t *testing.T) {
	c := NewClassifier(Options{CacheBytes: 1 << 20})
	buf := []byte("SELECT * FROM t WHERE id = 42")
	first := c.Classify(buf)
	if c.CachedStatements() != 1 {
		t.Fatalf("CachedStatements = %d, want 1", c.CachedStatements())
	}
	if again := c.Classify([]byte("SELECT * FROM t WHERE id = 42")); again != first {
		t.Errorf("second Classify returned %p, want the cached %p", again, first)
	}
	// The cache keys on a copy: reusing the caller's buffer changes nothing.
	copy(buf, "SELECT * FROM u WHERE id = 42")
	if cl := c.Classify(buf); cl == first || cl.Normalized != "SELECT * FROM u WHERE id = $1" || cl.Fingerprint == first.Fingerprint {
		t.Errorf("Classify after reusing the buffer = %+v, want a new entry for table u", cl)
	}
	if again := c.Classify([]byte("SELECT * FROM t WHERE id = 42")); again != first {
		t.Errorf("first text no longer cached after buffer reuse")
	}
	// Errors are cached too.
	bad := c.Classify([]byte("SELEC 1"))
	if again := c.Classify([]byte("SELEC 1")); again != bad || bad.Err == nil {
		t.Errorf("syntax error not cached: %p %p", bad, again)
	}
	if c.CachedStatements() != 3 {
		t.Errorf("CachedStatements = %d, want 3", c.CachedStatements())
	}
}
