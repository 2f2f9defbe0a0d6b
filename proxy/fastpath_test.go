package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belay-proxy/belay/audit"
	"github.com/belay-proxy/belay/config"
	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// fastPathGuard is a Guard with three profiles, told apart by
// application_name: "people" blocks every rule, "holders" audits every
// rule and holds writes, everyone else ("apps") audits. Audit lines go to
// the returned file.
func fastPathGuard(t *testing.T) (*Guard, string) {
	t.Helper()
	p, errs := policy.Compile(&policy.Spec{DefaultProfile: "apps", Profiles: []policy.ProfileSpec{
		{Name: "people", Match: policy.MatchSpec{ApplicationNames: []string{"people"}}, DefaultAction: "block"},
		{Name: "holders", Match: policy.MatchSpec{ApplicationNames: []string{"holders"}}, DefaultAction: "audit", Hold: true},
		{Name: "apps", DefaultAction: "audit"},
	}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	return &Guard{Classifier: rules.NewClassifier(rules.Options{}), Policy: p, Audit: log, Metrics: NewMetrics(prometheus.NewRegistry())}, path
}

// rawSessionAs is rawSession with an application_name.
func rawSessionAs(t *testing.T, addr, app string) *pgproto3.Frontend {
	t.Helper()
	fe, _ := rawFrontend(t, addr)
	send(t, fe, &pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters:      map[string]string{"user": "postgres", "database": "postgres", "application_name": app},
	})
	receiveUntilReady(t, fe)
	return fe
}

// lengthOID is the OID of pg_catalog.length(text), a harmless function
// (lower(text) would do, but a fast-path call has no collation to use).
func lengthOID(t *testing.T, ts *testServer) uint32 {
	t.Helper()
	var oid uint32
	if err := ts.connect(t).QueryRow(context.Background(), "SELECT 'pg_catalog.length(text)'::regprocedure::oid").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	return oid
}

func lengthCall(oid uint32, arg []byte) *pgproto3.FunctionCall {
	return &pgproto3.FunctionCall{Function: oid, ArgFormatCodes: []uint16{0}, Arguments: [][]byte{arg}, ResultFormatCode: 0}
}

// fastPathAnswer reads up to ReadyForQuery: the error (code and message)
// or the function's result, and the transaction status.
type fastPathAnswer struct {
	code, message string
	result        []byte
	called        bool
	status        byte
}

func receiveFastPath(t *testing.T, fe *pgproto3.Frontend) fastPathAnswer {
	t.Helper()
	var a fastPathAnswer
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			a.code, a.message = m.Code, m.Message
		case *pgproto3.FunctionCallResponse:
			a.called, a.result = true, append([]byte(nil), m.Result...)
		case *pgproto3.ReadyForQuery:
			a.status = m.TxStatus
			return a
		}
	}
}

func simpleQuery(t *testing.T, fe *pgproto3.Frontend, sql string) fastPathAnswer {
	t.Helper()
	send(t, fe, &pgproto3.Query{String: sql})
	return receiveFastPath(t, fe)
}

// A FunctionCall is decided by the policy like a statement: blocked where
// the profile blocks function-call (belay answers alone when idle;
// PostgreSQL raises belay's error inside a transaction, which fails it),
// audited and relayed where it audits — large calls included, which are
// read whole and screened, not streamed past the guard.
func TestFunctionCallDecidedByPolicy(t *testing.T) { transports(t, testFunctionCallDecidedByPolicy) }

func testFunctionCallDecidedByPolicy(t *testing.T, tweak func(*config.Config)) {
	g, auditPath := fastPathGuard(t)
	ts := startServerWith(t, tweak, g)
	oid := lengthOID(t, ts)
	big := bytes.Repeat([]byte("X"), 1<<20) // larger than the relays' 64 KiB read buffer

	people := rawSessionAs(t, ts.addr, "people")
	for _, arg := range [][]byte{[]byte("ABC"), big} {
		send(t, people, lengthCall(oid, arg))
		a := receiveFastPath(t, people)
		if a.called || a.code != "42501" || !strings.HasPrefix(a.message, "belay: function-call") || a.status != 'I' {
			t.Fatalf("people, %d-byte argument: want belay's 42501 function-call error and status I, got %+v", len(arg), a)
		}
	}
	if a := simpleQuery(t, people, "SELECT 1"); a.code != "" || a.status != 'I' {
		t.Fatalf("session unusable after a blocked FunctionCall: %+v", a)
	}
	// Inside a transaction: PostgreSQL raises belay's error, so both sides
	// see the transaction failed.
	if a := simpleQuery(t, people, "BEGIN"); a.status != 'T' {
		t.Fatalf("BEGIN: %+v", a)
	}
	send(t, people, lengthCall(oid, []byte("ABC")))
	if a := receiveFastPath(t, people); a.called || a.code != "42501" || !strings.HasPrefix(a.message, "belay: function-call") || a.status != 'E' {
		t.Fatalf("people, in a transaction: want belay's error and status E, got %+v", a)
	}
	if a := simpleQuery(t, people, "SELECT 1"); a.code != "25P02" {
		t.Fatalf("PostgreSQL does not see the transaction failed: %+v", a)
	}
	if a := simpleQuery(t, people, "ROLLBACK"); a.status != 'I' {
		t.Fatalf("ROLLBACK: %+v", a)
	}

	apps := rawSessionAs(t, ts.addr, "nightly")
	send(t, apps, lengthCall(oid, []byte("ABC")))
	if a := receiveFastPath(t, apps); !a.called || string(a.result) != "3" || a.code != "" || a.status != 'I' {
		t.Fatalf("apps: want the function's result 3, got %+v", a)
	}
	send(t, apps, lengthCall(oid, big))
	if a := receiveFastPath(t, apps); !a.called || string(a.result) != strconv.Itoa(len(big)) || a.status != 'I' {
		t.Fatalf("apps, large call: got %+v", a)
	}

	// Audit: the blocked calls at once, the relayed ones with their outcome.
	want := "fast-path call of function OID " + strconv.FormatUint(uint64(oid), 10)
	lines := auditLinesOf(t, auditPath, want, func(l []auditLine) bool { return len(l) >= 5 })
	var blocked, audited int
	for _, l := range lines {
		if l.Protocol != "fastpath" || l.Kind != "utility" || l.Rule != "function-call" {
			t.Errorf("audit line %+v", l)
		}
		switch {
		case l.Profile == "people" && l.Decision == "block" && l.Status == "blocked" && l.SQLState == "42501":
			blocked++
		case l.Profile == "apps" && l.Decision == "audit" && l.Status == "ok":
			audited++
		default:
			t.Errorf("unexpected audit line %+v", l)
		}
	}
	if blocked != 3 || audited != 2 {
		t.Fatalf("%d blocked and %d audited lines for the calls, want 3 and 2:\n%+v", blocked, audited, lines)
	}
}

// In a profile that holds writes, a FunctionCall that would run on its own
// is refused (belay cannot hold it); inside a transaction block it runs,
// and its effect waits for the client's COMMIT like the transaction's.
func TestFunctionCallInHoldingProfile(t *testing.T) { transports(t, testFunctionCallInHoldingProfile) }

func testFunctionCallInHoldingProfile(t *testing.T, tweak func(*config.Config)) {
	g, auditPath := fastPathGuard(t)
	ts := startServerWith(t, tweak, g)
	oid := lengthOID(t, ts)

	fe := rawSessionAs(t, ts.addr, "holders")
	send(t, fe, lengthCall(oid, []byte("ABC")))
	a := receiveFastPath(t, fe)
	if a.called || a.code != "25P01" || !strings.Contains(a.message, "belay: hold: a fast-path function call cannot be held") || a.status != 'I' {
		t.Fatalf("holding profile, outside a transaction: want belay's 25P01 hold refusal, got %+v", a)
	}
	if a := simpleQuery(t, fe, "BEGIN"); a.status != 'T' {
		t.Fatalf("BEGIN: %+v", a)
	}
	send(t, fe, lengthCall(oid, []byte("ABC")))
	if a := receiveFastPath(t, fe); !a.called || string(a.result) != "3" || a.status != 'T' {
		t.Fatalf("holding profile, inside a transaction: want the result, got %+v", a)
	}
	if a := simpleQuery(t, fe, "COMMIT"); a.code != "" || a.status != 'I' {
		t.Fatalf("COMMIT: %+v", a)
	}
	// A held write's transaction takes the call too.
	if a := simpleQuery(t, fe, "CREATE TEMP TABLE fp_held (v int)"); a.code != "" {
		t.Fatalf("CREATE: %+v", a)
	}
	if a := simpleQuery(t, fe, "INSERT INTO fp_held VALUES (1)"); a.code != "" || a.status != 'T' {
		t.Fatalf("held INSERT: want status T, got %+v", a)
	}
	send(t, fe, lengthCall(oid, []byte("ABC")))
	if a := receiveFastPath(t, fe); !a.called || a.status != 'T' {
		t.Fatalf("call in a held transaction: %+v", a)
	}
	if a := simpleQuery(t, fe, "ROLLBACK"); a.status != 'I' {
		t.Fatalf("ROLLBACK: %+v", a)
	}

	want := "fast-path call of function OID " + strconv.FormatUint(uint64(oid), 10)
	var refused, ran int
	for _, l := range auditLinesOf(t, auditPath, want, func(l []auditLine) bool { return len(l) >= 3 }) {
		switch {
		case l.Decision == "block" && l.Rule == "hold" && l.Status == "blocked" && l.SQLState == "25P01":
			refused++
		case l.Decision == "audit" && l.Rule == "function-call" && l.Status == "ok":
			ran++
		default:
			t.Errorf("unexpected audit line %+v", l)
		}
	}
	if refused != 1 || ran != 2 {
		t.Fatalf("%d refused and %d relayed calls audited, want 1 and 2", refused, ran)
	}
}

type auditLine struct {
	Protocol, Kind, Profile, Decision, Rule, Status, SQLState, Statement string
	Rows                                                                 *int64
}

// readAuditLines reads every line of an audit file.
func readAuditLines(t *testing.T, path string) []auditLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditLine
	for _, raw := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if raw == "" {
			continue
		}
		var l auditLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// auditLinesOf waits for the audit file's lines about statement to satisfy
// done (lines are flushed every 200 ms) and returns them.
func auditLinesOf(t *testing.T, path, statement string, done func([]auditLine) bool) []auditLine {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []auditLine
		for _, l := range readAuditLines(t, path) {
			if l.Statement == statement {
				out = append(out, l)
			}
		}
		if done(out) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}
