package proxy

import (
	"github.com/belay-proxy/belay/rules"
)

// Protocol says which sub-protocol carried a statement.
type Protocol uint8

const (
	// Simple is a Query message: one string, possibly several statements.
	Simple Protocol = iota + 1
	// Extended is a Parse message: one statement, maybe named for reuse.
	Extended
)

func (p Protocol) String() string {
	if p == Extended {
		return "extended"
	}
	return "simple"
}

// Statement is one Query or Parse, seen before it is forwarded.
type Statement struct {
	Protocol Protocol
	// Name is the prepared statement name of a Parse ("" is the unnamed one).
	Name string
	// Text points into the relay's read buffer: it is valid only during
	// Inspect. Copy it to keep it.
	Text []byte
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

// Inspector is the seam between the relay and the guard: every Query and
// every Parse passes through Inspect before it reaches PostgreSQL. It runs
// on the session's goroutine, on the hot path: a decision for a statement
// seen before must cost a cache lookup, not a parse.
type Inspector interface {
	Inspect(s *SessionInfo, st *Statement) Verdict
}
