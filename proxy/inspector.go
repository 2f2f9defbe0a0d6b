package proxy

import (
	"github.com/belay-proxy/belay/audit"
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
)

// Verdict is what an Inspector decided.
type Verdict struct {
	Action Action
}

// SessionInfo is what belay knows about a client session.
type SessionInfo struct {
	ID              uint64
	User            string
	Database        string
	ApplicationName string
	ClientAddr      string
}

// Inspector is the seam between the relay and the guard: every Query and
// every Parse passes through Inspect before it reaches PostgreSQL. It runs
// on the session's goroutine, on the hot path: a decision for a statement
// seen before must cost a cache lookup, not a parse.
type Inspector interface {
	Inspect(s *SessionInfo, st *Statement) Verdict
}

// AuditInspector allows everything and writes one audit line per statement
// (a Query string holding three statements gives three lines), with the
// fingerprint and normalised text when a classifier is given.
type AuditInspector struct {
	Classifier *rules.Classifier // nil: no parsing, the audit line has no text
	Audit      *audit.Logger
	Literals   bool // audit raw statement text, literals included
}

// Inspect implements Inspector.
func (a *AuditInspector) Inspect(s *SessionInfo, st *Statement) Verdict {
	line := audit.Statement{
		Session:         s.ID,
		User:            s.User,
		Database:        s.Database,
		ApplicationName: s.ApplicationName,
		ClientAddr:      s.ClientAddr,
		Protocol:        st.Protocol.String(),
		StatementName:   st.Name,
		Decision:        "allow",
	}
	if a.Literals {
		line.Raw = st.Text
	}
	if a.Classifier == nil {
		a.Audit.Log(&line)
		return Verdict{Action: Allow}
	}
	in := a.Classifier.Inspect(st.Text, st.Scratch)
	if in.Err != nil {
		line.ParseError = in.Err.Message
		a.Audit.Log(&line)
		return Verdict{Action: Allow}
	}
	for i := range in.Statements {
		line.Fingerprint = in.Statements[i].Fingerprint
		line.Normalized = in.Statements[i].Normalized
		a.Audit.Log(&line)
	}
	return Verdict{Action: Allow}
}
