package proxy

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/belay-proxy/belay/audit"
)

// trailLines runs steps against a trail and returns the audit lines it
// wrote, as "statement status rows sqlstate".
func trailLines(t *testing.T, steps func(tr *trail, log *audit.Logger)) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr trail
	steps(&tr, log)
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range readAuditLines(t, path) {
		rows := "-"
		if l.Rows != nil {
			rows = strconv.FormatInt(*l.Rows, 10)
		}
		out = append(out, strings.Join([]string{l.Statement, l.Status, rows, l.SQLState}, " "))
	}
	return out
}

func stageQuery(tr *trail, log *audit.Logger, stmts ...string) {
	for _, s := range stmts {
		tr.stage(log, &audit.Statement{Fingerprint: "f", Normalized: []byte(s), Decision: "allow"})
	}
	tr.queryForwarded()
}

func TestTrailMatchesAnswersToStatements(t *testing.T) {
	complete := func(tag string) []byte { return encode(t, &pgproto3.CommandComplete{CommandTag: []byte(tag)}) }
	fail := encode(t, &pgproto3.ErrorResponse{Severity: "ERROR", Code: "22012", Message: "division by zero"})
	ready := encode(t, &pgproto3.ReadyForQuery{TxStatus: 'I'})

	got := trailLines(t, func(tr *trail, log *audit.Logger) {
		// Two pipelined Queries; the second has an error in the middle.
		stageQuery(tr, log, "a1", "a2")
		stageQuery(tr, log, "b1", "b2", "b3")
		tr.answer('C', complete("UPDATE 3"))
		tr.answer('C', complete("INSERT 0 1"))
		tr.answer('Z', ready)
		tr.answer('C', complete("CREATE TABLE"))
		tr.answer('E', fail)
		tr.answer('Z', ready)

		// Extended: Parse, Bind, Execute, Flush — answered before the Sync.
		tr.stage(log, &audit.Statement{Fingerprint: "f", Normalized: []byte("x"), Decision: "allow"})
		tr.parsed("")
		tr.bound(nil, nil)
		tr.executed(nil)
		tr.answer('C', complete("SELECT 5"))
		tr.synced()
		tr.answer('Z', ready)

		// A named statement executed twice in one batch, the connection
		// lost before the second answer.
		tr.stage(log, &audit.Statement{Fingerprint: "f", Normalized: []byte("named"), Decision: "allow"})
		tr.parsed("s1")
		tr.bound([]byte("p"), []byte("s1"))
		tr.executed([]byte("p"))
		tr.executed([]byte("p"))
		tr.synced()
		tr.answer('C', complete("DELETE 1"))
		tr.flush()
	})
	want := []string{
		"a1 ok 3 ", "a2 ok 1 ",
		"b1 ok - ", "b2 error - 22012", "b3 skipped - ",
		"x ok 5 ",
		"named ok 1 ", "named unknown - ",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCommandRows(t *testing.T) {
	for tag, want := range map[string]int64{"UPDATE 3": 3, "INSERT 0 12": 12, "SELECT 0": 0, "CREATE TABLE": -1, "COPY 7": 7, "BEGIN": -1} {
		if got := commandRows(append([]byte(tag), 0)); got != want {
			t.Errorf("commandRows(%q) = %d, want %d", tag, got, want)
		}
	}
}
