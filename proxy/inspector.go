package proxy

import (
	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// Protocol says which sub-protocol carried a statement.
type Protocol uint8

const (
	// Simple is a Query message: one string, possibly several statements.
	Simple Protocol = iota + 1
	// Extended is a Parse message: one statement, maybe named for reuse.
	Extended
	// FunctionCall is a FunctionCall message, the protocol's fast path: a
	// function called by its OID, without a statement. Text describes it
	// ("fast-path call of function OID 964"); it is no SQL to parse.
	FunctionCall
)

func (p Protocol) String() string {
	switch p {
	case Extended:
		return "extended"
	case FunctionCall:
		return "fastpath"
	}
	return "simple"
}

// Statement is one Query, Parse or FunctionCall, seen before it is
// forwarded.
type Statement struct {
	Protocol Protocol
	// Name is the prepared statement name of a Parse ("" is the unnamed one).
	Name string
	// Text points into the relay's read buffer: it is valid only during
	// Inspect. Copy it to keep it.
	Text []byte
	// Function is the OID a FunctionCall calls.
	Function uint32
	// OutsideTransaction, for a FunctionCall: the call may run outside a
	// transaction block, on its own — the session's last status was idle,
	// or requests are still in flight, so the status it will meet is not
	// known. A profile that holds writes cannot hold such a call.
	OutsideTransaction bool
	// Scratch is the session's reusable buffer for the classifier, so the
	// hot path allocates nothing.
	Scratch *rules.Scratch
}

// Action is the verdict on a statement.
type Action uint8

const (
	// Allow forwards the statement unchanged.
	Allow Action = iota
	// Block keeps the statement from PostgreSQL; the client gets the
	// Refusal as an ERROR and the session goes on.
	Block
)

// Verdict is what an Inspector decided.
type Verdict struct {
	Action  Action
	Refusal *Refusal // set with Block
	Hold    HoldPlan // for sessions whose profile holds writes
}

// HoldPlan is what a holding profile asks of the relay for one Query or
// Parse (hold.go). The zero value: the profile does not hold.
type HoldPlan struct {
	// Profile is set when the session's profile holds writes; the relay
	// then runs the session in lockstep and reads the caps and timeouts
	// from it.
	Profile *policy.Profile
	// Watch: a statement may write, so the request runs inside a hold and
	// PostgreSQL is asked what it wrote.
	Watch bool
	// Expect is the row count a belay:expect comment states; Limit the n of
	// an UPDATE/DELETE … LIMIT n guard. -1: none.
	Expect, Limit int64
	// Rewrite is the statement text to send instead (the LIMIT guard
	// removed); nil: the text as written.
	Rewrite []byte
	// SetExpect: the request is SET belay.expect_rows, answered by belay;
	// ExpectRows is its value, -1 for RESET.
	SetExpect  bool
	ExpectRows int64
	// Statements is the normalised text (literals replaced) of a request
	// that may write, for the record of the change in a profile that
	// captures; nil otherwise.
	Statements []byte
	// TextHash is the SHA-256 (hex) of the request's exact text, recorded
	// with Statements.
	TextHash string
	// Quarantine lists the tables of a DROP TABLE to move into
	// belay_quarantine instead (the profile's drop-table action);
	// QuarantineMissingOK is its IF EXISTS.
	Quarantine          []rules.TableUse
	QuarantineMissingOK bool
	// Estimate: one UPDATE or DELETE, whose rows the planner can estimate
	// before it runs.
	Estimate bool
	// Rollback: every statement is transaction control and none commits
	// (ROLLBACK, ABORT): after a hold timed out, only these reach
	// PostgreSQL. EndsTransaction: a statement commits (COMMIT, END).
	Rollback        bool
	EndsTransaction bool
}

// Refusal is the error a blocked statement gets. Message is prefixed with
// "belay: " on the wire.
type Refusal struct {
	SQLState string
	Message  string
	Detail   string
	Hint     string
}

// SessionInfo is what belay knows about a client session.
type SessionInfo struct {
	ID              uint64
	User            string
	Database        string
	ApplicationName string
	ClientAddr      string

	guard guardState // the Guard's per-session memory
	trail trail      // audit lines waiting for PostgreSQL's answer
}

// StartupParamer is implemented by an Inspector that starts a session's
// upstream connection with settings of its own (the capture switch of a
// profile that captures).
type StartupParamer interface {
	StartupParams(s *SessionInfo) map[string]string
}

// Inspector is the seam between the relay and the guard: every Query,
// every Parse and every FunctionCall passes through Inspect before it
// reaches PostgreSQL (a FunctionCall with Protocol FunctionCall). It runs
// on the session's goroutine, on the hot path: a decision for a statement
// seen before must cost a cache lookup, not a parse.
type Inspector interface {
	Inspect(s *SessionInfo, st *Statement) Verdict
}
