package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditLinesAreJSONAndFlushedOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(&Statement{Session: 7, User: "alice", Database: "shop", Protocol: "simple",
		Fingerprint: "abc", Normalized: []byte("DELETE FROM orders WHERE id = $1"), Decision: "allow"})
	l.Log(&Statement{Session: 7, User: "alice", Protocol: "extended", StatementName: "s1",
		Fingerprint: "def", Normalized: []byte("SELECT $1"), Raw: []byte("SELECT 'card-4111'"), Decision: "allow"})
	l.Log(&Statement{Session: 8, ParseError: "syntax error at or near \"SELEC\"", Decision: "allow"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), data)
	}
	var first, second, third map[string]any
	for i, dst := range []*map[string]any{&first, &second, &third} {
		if err := json.Unmarshal([]byte(lines[i]), dst); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
	}
	if first[KeyStatement] != "DELETE FROM orders WHERE id = $1" || first[KeyUser] != "alice" || first[KeySession] != float64(7) {
		t.Errorf("first line: %v", first)
	}
	if _, ok := first[KeyRawStatement]; ok {
		t.Error("raw text logged for a statement that carries none")
	}
	if second[KeyRawStatement] != "SELECT 'card-4111'" || second[KeyStatementName] != "s1" {
		t.Errorf("second line: %v", second)
	}
	if third[KeyParseError] == nil || third[KeyStatement] != nil {
		t.Errorf("third line: %v", third)
	}
}

func TestAuditOffWritesNothing(t *testing.T) {
	l, err := Open("off")
	if err != nil {
		t.Fatal(err)
	}
	l.Log(&Statement{Decision: "allow"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAuditOpenFailsClearly(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing-dir", "audit.log"))
	if err == nil || !strings.Contains(err.Error(), "open audit output") {
		t.Fatalf("err %v", err)
	}
}
