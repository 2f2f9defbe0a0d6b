package rules

import (
	"strings"
	"testing"
)

func TestShapeNormalizes(t *testing.T) {
	tests := []struct {
		name, sql, want string
	}{
		{"numbers and strings", "SELECT * FROM t WHERE id = 42 AND name = 'secret'", "SELECT * FROM t WHERE id = $1 AND name = $2"},
		{"decimals exponents", "SELECT 1.5, .5, 1e10, 2.5E-3, 1_000", "SELECT $1, $2, $3, $4, $5"},
		{"hex octal binary ints", "SELECT 0x1F, 0o17, 0b101", "SELECT $1, $2, $3"},
		{"doubled quote", "SELECT 'it''s'", "SELECT $1"},
		{"E string backslash", `SELECT E'a\'b'`, "SELECT $1"},
		{"standard string backslash", `SELECT 'a\', 2`, "SELECT $1, $2"},
		{"bit and hex strings", "SELECT B'101', X'1F', N'nat'", "SELECT $1, $2, $3"},
		{"unicode string", "SELECT U&'d\\0061t'", "SELECT $1"},
		{"unicode identifier kept", `SELECT U&"d\0061t" FROM t`, `SELECT U&"d\0061t" FROM t`},
		{"quoted identifier kept", `SELECT "it's 42" FROM t`, `SELECT "it's 42" FROM t`},
		{"dollar quote", "DO $$ BEGIN RAISE NOTICE 'x'; END $$", "DO $1"},
		{"tagged dollar quote", "SELECT $fn$ it's $$ here $fn$", "SELECT $1"},
		{"params numbered after", "SELECT $2 + 5, $1", "SELECT $2 + $3, $1"},
		{"identifier with dollar", "SELECT a$1 FROM t", "SELECT a$1 FROM t"},
		{"identifier with digits", "SELECT col2 FROM t2", "SELECT col2 FROM t2"},
		{"line comment kept", "SELECT 1 -- it's 2\n, 3", "SELECT $1 -- it's 2\n, $2"},
		{"nested block comment", "SELECT /* a /* 'b' */ 7 */ 8", "SELECT /* a /* 'b' */ 7 */ $1"},
		{"typed literal", "SELECT interval '1 day', date '2020-01-01'", "SELECT interval $1, date $2"},
		{"cast keeps type", "SELECT '5'::int", "SELECT $1::int"},
		{"negative is an operator", "SELECT -5", "SELECT -$1"},
		{"range dots", "SELECT a[1:2]", "SELECT a[$1:$2]"},
	}
	var sc Scratch
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh, ok := MakeShape([]byte(tc.sql), &sc)
			if !ok {
				t.Fatalf("MakeShape(%q) not ok", tc.sql)
			}
			if got := string(sh.Normalized); got != tc.want {
				t.Fatalf("normalized %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShapeKeyIgnoresLiteralValuesOnly(t *testing.T) {
	same := [][2]string{
		{"SELECT abalance FROM pgbench_accounts WHERE aid = 1", "SELECT abalance FROM pgbench_accounts WHERE aid = 987654"},
		{"UPDATE t SET v = 'a' WHERE id = 1", "UPDATE t SET v = 'a much longer string' WHERE id = 22"},
		{"SELECT $$x$$", "SELECT $$yyyy$$"},
	}
	differ := [][2]string{
		{"SELECT 1", "SELECT '1'"}, // number vs string
		{"SELECT * FROM a WHERE x = 1", "SELECT * FROM b WHERE x = 1"},
		{"DELETE FROM t WHERE id = 1", "DELETE FROM t WHERE 1 = 1"},
	}
	key := func(s string) string {
		var sc Scratch
		sh, ok := MakeShape([]byte(s), &sc)
		if !ok {
			t.Fatalf("MakeShape(%q) not ok", s)
		}
		return string(sh.Key)
	}
	for _, p := range same {
		if key(p[0]) != key(p[1]) {
			t.Errorf("%q and %q should share a shape", p[0], p[1])
		}
	}
	for _, p := range differ {
		if key(p[0]) == key(p[1]) {
			t.Errorf("%q and %q must not share a shape", p[0], p[1])
		}
	}
}

func TestShapeRefusesWhatItCannotFollow(t *testing.T) {
	for _, sql := range []string{
		"SELECT 'unterminated",
		`SELECT "unterminated`,
		"SELECT $$ never closed",
		"SELECT /* never closed",
		`SELECT E'ends in backslash\'`,
	} {
		var sc Scratch
		if _, ok := MakeShape([]byte(sql), &sc); ok {
			t.Errorf("MakeShape(%q) ok, want refused", sql)
		}
	}
}

func FuzzShape(f *testing.F) {
	for _, s := range []string{"SELECT 1", "SELECT 'a''b', E'\\'', $$x$$, $t$y$t$", "/* /* */ */ SELECT 0x1F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		var sc Scratch
		sh, ok := MakeShape([]byte(sql), &sc)
		if !ok {
			return
		}
		// Runs of literals key as one marker; no literal may vanish whole.
		if sh.Literals > 0 && !strings.Contains(string(sh.Key), "\x00") {
			t.Fatalf("key has no marker for %d literals", sh.Literals)
		}
	})
}
