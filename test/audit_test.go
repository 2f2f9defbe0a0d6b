package test

// The audit log: one JSON line per statement, literals replaced.

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// auditLine is the part of an audit line the tests look at.
type auditLine struct {
	User            string  `json:"user"`
	Database        string  `json:"database"`
	ApplicationName string  `json:"application_name"`
	ClientAddr      string  `json:"client_addr"`
	Fingerprint     string  `json:"fingerprint"`
	Statement       string  `json:"statement"`
	Decision        string  `json:"decision"`
	Protocol        string  `json:"protocol"`
	Kind            string  `json:"kind"`
	Rule            string  `json:"rule"`
	Status          string  `json:"status"`
	Rows            *int64  `json:"rows"`
	SQLState        string  `json:"sqlstate"`
	DurationMS      float64 `json:"duration_ms"`
}

// TestAudit sends two statements in one simple Query (psql) and two through
// the extended protocol (pgx), each with a literal, and checks the four
// audit lines and that no literal reached the audit output.
func TestAudit(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, errOut, err := runPsql(t, p.DSN(upstreamDatabase, "postgres")+" application_name=belay-audit-psql",
		"-c", "SELECT 4242 AS audit_a; SELECT 'secret-literal'::text AS audit_b")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, errOut)
	}
	conn := connectWith(t, p.URL(upstreamDatabase, "postgres"), func(c *pgx.ConnConfig) {
		c.RuntimeParams["application_name"] = "belay-audit-pgx"
		c.DefaultQueryExecMode = pgx.QueryExecModeExec
	})
	// Query, not Exec: pgx's Exec without arguments uses the simple protocol.
	var n int
	if err := conn.QueryRow(ctx, "SELECT 4242 AS audit_c").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT $1::text AS audit_d", "secret-literal"); err != nil {
		t.Fatal(err)
	}

	want := map[string]auditLine{
		"audit_a": {ApplicationName: "belay-audit-psql", Protocol: "simple"},
		"audit_b": {ApplicationName: "belay-audit-psql", Protocol: "simple"},
		"audit_c": {ApplicationName: "belay-audit-pgx", Protocol: "extended"},
		"audit_d": {ApplicationName: "belay-audit-pgx", Protocol: "extended"},
	}
	lines := waitAuditLines(t, p, len(want), func(s string) bool { return strings.Contains(s, "audit_") })
	seen := map[string]int{}
	for _, raw := range lines {
		var l auditLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Errorf("audit line is not JSON: %v: %s", err, raw)
			continue
		}
		markers := 0
		for marker := range want {
			if strings.Contains(l.Statement, marker) {
				markers++
			}
		}
		if markers > 1 {
			t.Errorf("audit line holds %d statements, want one line per statement: %s", markers, raw)
			continue
		}
		for marker, w := range want {
			if !strings.Contains(l.Statement, marker) {
				continue
			}
			seen[marker]++
			if l.User != "postgres" || l.Database != upstreamDatabase || l.ApplicationName != w.ApplicationName ||
				!strings.HasPrefix(l.ClientAddr, "127.0.0.1") || l.Fingerprint == "" ||
				l.Decision != "allow" || l.Protocol != w.Protocol || !placeholder.MatchString(l.Statement) {
				t.Errorf("audit line for %s: %s\nwant user postgres, database test, application_name %s, "+
					"client_addr 127.0.0.1…, a fingerprint, decision allow, protocol %s, a statement with a $n placeholder",
					marker, raw, w.ApplicationName, w.Protocol)
			}
		}
	}
	for marker := range want {
		if seen[marker] != 1 {
			t.Errorf("%d audit lines for the statement %s, want 1", seen[marker], marker)
		}
	}
	out := p.Stdout()
	content := withoutTimestamps(t, out)
	for _, literal := range []string{"4242", "secret-literal"} {
		if strings.Contains(content, literal) {
			t.Errorf("audit output contains the literal %q:\n%s", literal, out)
		}
	}
	if t.Failed() {
		t.Logf("audit output:\n%s", out)
	}
}

// waitAuditLines waits up to 5 s for at least n lines of belay's stdout
// that match, and returns the matching lines.
func waitAuditLines(t *testing.T, p *belayProc, n int, match func(string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var lines []string
		for _, l := range strings.Split(p.Stdout(), "\n") {
			if l != "" && match(l) {
				lines = append(lines, l)
			}
		}
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// placeholder is a normalised literal. Numbering runs across a query
// string, as in pg_query's Normalize: its second statement starts at $2.
var placeholder = regexp.MustCompile(`\$[0-9]+`)

// withoutTimestamps returns the audit lines with their "ts" fields removed:
// a literal such as 4242 may well occur in a nanosecond timestamp.
func withoutTimestamps(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var fields map[string]any
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			t.Errorf("audit line is not JSON: %v: %s", err, line)
			continue
		}
		delete(fields, "ts")
		enc, _ := json.Marshal(fields)
		b.Write(enc)
		b.WriteByte('\n')
	}
	return b.String()
}
