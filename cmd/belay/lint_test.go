package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Cases that need the DML and utility rules (no-where, truncate) are in
// TestLintRules; the rest hold whatever the rules find.
func TestLint(t *testing.T) {
	syntax := writeFile(t, "syntax.sql", "SELECT 1;\n\n  SELEC 2;\n")
	two := writeFile(t, "two.sql", "TRUNCATE a;\n  -- the next one\n  /* nested /* comment */ */ TRUNCATE b;\n")
	badConfig := writeFile(t, "bad.yaml", "policy:\n  default_profile: x\n  profiles:\n    - name: x\n      default_action: block\n      rules: {no-wher: audit}\n")
	deep := writeFile(t, "deep.sql", "SELECT "+strings.Repeat("(", 5000)+"1"+strings.Repeat(")", 5000)+";\n")
	tests := []cliCase{
		{name: "syntax error", args: []string{"lint", syntax}, code: 1, stderrNone: true,
			stdout: []string{syntax + `:3:3: unparsable: syntax error at or near "SELEC" (block)`}},
		{name: "syntax error, audit-only config", args: []string{"lint", "--config", "../../configs/audit-only.yaml", syntax}, code: 0,
			stdout: []string{syntax + ":3:3: unparsable:", "(audit)"}},
		{name: "syntax error, multibyte column", args: []string{"lint", "-"}, stdin: "SELECT 'é', 'ü' FROM WHERE;", code: 1,
			stdout: []string{"<stdin>:1:22: unparsable:"}},
		{name: "stdin", args: []string{"lint", "-"}, stdin: "SELECT 1;\n  SELEC x;\n", code: 1,
			stdout: []string{"<stdin>:2:3: unparsable: syntax error"}},
		{name: "statement start skips whitespace and comments", args: []string{"lint", two}, code: 1,
			stdout: []string{two + ":1:1: ", two + ":3:30: "}},
		{name: "too deep for the parser", args: []string{"lint", deep}, code: 1,
			stdout: []string{deep + ":1:1: too-complex: the text nests deeper than belay inspects"}},
		{name: "unknown profile", args: []string{"lint", "--profile", "nope", syntax}, code: 2, noStdout: true,
			stderr: []string{`belay lint: unknown profile "nope": the built-in policy has interactive, applications`}},
		{name: "unknown profile in a config", args: []string{"lint", "-c", "../../configs/audit-only.yaml", "-p", "interactive", syntax}, code: 2,
			stderr: []string{`unknown profile "interactive": `, `configs/audit-only.yaml has audit-only`}},
		{name: "invalid config", args: []string{"lint", "--config", badConfig, syntax}, code: 2, noStdout: true,
			stderr: []string{badConfig + ": line 6, column 15: policy.profiles[0].rules.no-wher: unknown rule", "did you mean no-where?"}},
		{name: "missing config", args: []string{"lint", "--config", syntax + ".nope", syntax}, code: 2,
			stderr: []string{"no such file or directory"}},
		{name: "missing file", args: []string{"lint", syntax + ".nope"}, code: 2,
			stderr: []string{"belay lint: open " + syntax + ".nope: no such file or directory"}},
		{name: "missing file is exit 2 even with findings", args: []string{"lint", syntax, syntax + ".nope"}, code: 2,
			stdout: []string{"unparsable"}, stderr: []string{"no such file"}},
		{name: "no files", args: []string{"lint"}, code: 2,
			stderr: []string{`expected "<file> ..."`, "belay lint --help"}},
		{name: "bad format", args: []string{"lint", "--format", "xml", syntax}, code: 2,
			stderr: []string{"--format", "text", "json"}},
		{name: "help", args: []string{"lint", "--help"}, code: 0,
			stdout: []string{"Usage: belay lint <file> ...", "--config=FILE", "--profile=NAME", "--format=\"text\"",
				"Exit status: 0 when nothing would be blocked", "- reads standard input"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCLI(t, tc) })
	}
}

func TestLintJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"lint", "--format", "json", "-"}, strings.NewReader("SELECT 1;\nSELECT <> FROM;\n"), &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, &stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one JSON line, got:\n%s", &stdout)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("%q: %v", lines[0], err)
	}
	want := map[string]any{"file": "<stdin>", "line": 2.0, "col": 8.0, "rule": "unparsable", "action": "block",
		"message": `syntax error at or near "<>"`, "statement_kind": "unknown"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, got[k], v, lines[0])
		}
	}
	if len(got) != len(want) {
		t.Errorf("keys %v, want exactly %v", got, want)
	}
}

// TestLintRules needs the rules the DML and utility analyzers produce:
// no-where (DELETE without WHERE) and truncate.
func TestLintRules(t *testing.T) {
	del := writeFile(t, "delete.sql", "-- clean up\nDELETE FROM orders;\n")
	trunc := writeFile(t, "truncate.sql", "TRUNCATE t;\n")
	sel := writeFile(t, "select.sql", "SELECT 1;\n")
	tests := []cliCase{
		{name: "no-where", args: []string{"lint", del}, code: 1,
			stdout: []string{del + ":2:1: no-where: ", "(block)"}},
		{name: "no-where on stdin", args: []string{"lint", "-"}, stdin: "DELETE FROM orders;", code: 1,
			stdout: []string{"<stdin>:1:1: no-where: "}},
		{name: "select is fine", args: []string{"lint", sel}, code: 0, noStdout: true, stderrNone: true},
		{name: "interactive blocks truncate", args: []string{"lint", "--profile", "interactive", trunc}, code: 1,
			stdout: []string{trunc + ":1:1: truncate: ", "(block)"}},
		{name: "default profile is interactive", args: []string{"lint", trunc}, code: 1,
			stdout: []string{"truncate: ", "(block)"}},
		{name: "applications audit truncate", args: []string{"lint", "--profile", "applications", trunc}, code: 0,
			stdout: []string{trunc + ":1:1: truncate: ", "(audit)"}},
		{name: "several files", args: []string{"lint", sel, del}, code: 1,
			stdout: []string{del + ":2:1: no-where"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCLI(t, tc) })
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"lint", "--format", "json", del}, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("json: exit %d, stderr %s", code, &stderr)
	}
	var r lintResult
	if err := json.Unmarshal(bytes.SplitN(stdout.Bytes(), []byte("\n"), 2)[0], &r); err != nil {
		t.Fatal(err)
	}
	if r.Rule != "no-where" || r.Action != "block" || r.Line != 2 || r.Col != 1 || r.StatementKind != "write" || r.Message == "" {
		t.Errorf("json = %+v", r)
	}
}

func TestLintPositions(t *testing.T) {
	text := "ab\ncdé f\n\n"
	for _, tc := range []struct{ offset, line, col int }{
		{0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {5, 2, 3}, {7, 2, 4}, {8, 2, 5}, {10, 3, 1}, {11, 4, 1}, {99, 4, 1},
	} {
		if l, c := lineCol(text, tc.offset); l != tc.line || c != tc.col {
			t.Errorf("lineCol(%d) = %d:%d, want %d:%d", tc.offset, l, c, tc.line, tc.col)
		}
	}
	for _, tc := range []struct{ pos, offset int }{{0, 0}, {1, 0}, {6, 5}, {7, 7}, {8, 8}, {100, len(text)}} {
		if got := charOffset(text, tc.pos); got != tc.offset {
			t.Errorf("charOffset(%d) = %d, want %d", tc.pos, got, tc.offset)
		}
	}
	for _, tc := range []struct {
		text string
		from int
		want int
	}{
		{"SELECT 1", 0, 0},
		{"  \n\tSELECT 1", 0, 4},
		{"x; -- c\n SELECT", 2, 9},
		{"x; /* a /* b */ c */ SELECT", 2, 21},
		{"x; -- only a comment", 2, 20},
		{"x; /* unterminated", 2, 18},
	} {
		if got := skipSpaceAndComments(tc.text, tc.from); got != tc.want {
			t.Errorf("skipSpaceAndComments(%q, %d) = %d, want %d", tc.text, tc.from, got, tc.want)
		}
	}
}
