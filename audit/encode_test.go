package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Every line is one valid JSON object whose values read back as written,
// whatever bytes a client put in its statement.
func TestAppendLineRoundTrips(t *testing.T) {
	texts := []string{
		"SELECT $1",
		`SELECT "quoted", 'it''s', E'back\\slash'`,
		"line\nbreak\ttab\rreturn \x00 nul \x1f unit",
		"unicode: Grüße, 日本語, emoji 🙂, U+2028 \u2028",
		"invalid utf-8: \xff\xfe end",
	}
	for _, text := range texts {
		s := &Statement{Session: 3, User: `al"ice`, Database: "shop", Protocol: "simple", Decision: "block",
			Kind: "write", Profile: "interactive", Rule: "no-where", Detail: `saw "t"`, Status: StatusBlocked, Rows: -1,
			SQLState: "42501", Fingerprint: "abc", Normalized: []byte(text), Raw: []byte(text)}
		line := appendLine(nil, s, time.Date(2026, 11, 25, 1, 2, 3, 4, time.UTC))
		if !strings.HasSuffix(string(line), "}\n") || strings.Count(string(line), "\n") != 1 {
			t.Fatalf("not one line: %q", line)
		}
		var got map[string]any
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("%q: not JSON: %v\n%s", text, err, line)
		}
		want := string([]rune(text)) // each invalid byte becomes U+FFFD, as in encoding/json
		if got[KeyStatement] != want || got[KeyRawStatement] != want {
			t.Errorf("statement %q read back as %q", want, got[KeyStatement])
		}
		if got[KeyUser] != `al"ice` || got[KeySession] != float64(3) || got[KeyStatus] != StatusBlocked || got["ts"] != "2026-11-25T01:02:03.000000004Z" {
			t.Errorf("fields read back wrong: %v", got)
		}
		if _, ok := got[KeyRows]; ok {
			t.Errorf("rows -1 must be left out: %s", line)
		}
	}
}

// A FunctionCall's line has a statement (the OID it calls) and no
// fingerprint.
func TestAppendLineWithoutFingerprint(t *testing.T) {
	s := &Statement{Protocol: "fastpath", Decision: "audit", Kind: "utility", Normalized: []byte("fast-path call of function OID 964")}
	var got map[string]any
	if err := json.Unmarshal(appendLine(nil, s, time.Now()), &got); err != nil {
		t.Fatal(err)
	}
	if got[KeyStatement] != "fast-path call of function OID 964" {
		t.Errorf("statement %v, want the function call's", got[KeyStatement])
	}
	if _, ok := got[KeyFingerprint]; ok {
		t.Errorf("an empty fingerprint must be left out: %v", got)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\x01\n", "\xff", "é", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encoded as invalid JSON %q: %v", s, b, err)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("%q read back as %q", s, got)
		}
	})
}

func TestAppendHoldRoundTrips(t *testing.T) {
	h := &Hold{Session: 9, User: "bob", Database: "shop", ApplicationName: "psql", ClientAddr: "127.0.0.1:5000",
		Profile: "interactive", Change: "731", Outcome: "committed", Rows: 3, Tables: "public.orders: 3 updated", Held: 1500 * time.Millisecond}
	line := appendHold(nil, h, time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC))
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, line)
	}
	want := map[string]any{"event": "hold", KeySession: float64(9), KeyChange: "731", KeyOutcome: "committed",
		KeyRows: float64(3), KeyTables: "public.orders: 3 updated", KeyHeld: float64(1500), KeyProfile: "interactive"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, got[k], v, line)
		}
	}
	h.Change, h.Tables, h.Held = "", "", 0
	line = appendHold(nil, h, time.Now())
	if strings.Contains(string(line), KeyChange) || strings.Contains(string(line), KeyTables) || strings.Contains(string(line), KeyHeld) {
		t.Errorf("empty fields must be left out: %s", line)
	}
}
