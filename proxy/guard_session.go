package proxy

import (
	"net/netip"

	"github.com/belay-proxy/belay/audit"
	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// guardState is what the guard remembers per session: the profile it
// matched under the policy in force, and what each prepared statement does,
// so EXECUTE name is decided as its PREPARE was (under the policy in force
// when it executes).
type guardState struct {
	policy   *policy.Policy
	profile  *policy.Profile
	prepared map[string]*rules.Facts
	// decidedBuf and linesBuf are reused by every Inspect.
	decidedBuf []decidedStatement
	linesBuf   []audit.Statement
}

// decidedStatement is one statement of a query string with the facts that
// decide it (those of the prepared statement, for EXECUTE) and the decision.
type decidedStatement struct {
	facts    *rules.Facts
	decision policy.Decision
}

// profileFor returns the session's profile, matching again after a reload.
func (s *SessionInfo) profileFor(p *policy.Policy) *policy.Profile {
	if s.guard.policy != p {
		s.guard.policy = p
		s.guard.profile = p.Match(s.policySession())
	}
	return s.guard.profile
}

func (s *SessionInfo) policySession() policy.Session {
	ps := policy.Session{User: s.User, Database: s.Database, ApplicationName: s.ApplicationName}
	if ap, err := netip.ParseAddrPort(s.ClientAddr); err == nil {
		ps.ClientAddr = ap.Addr().Unmap()
	}
	return ps
}

// unknownPrepared stands in for EXECUTE of a name belay never saw
// prepared (fail closed: it could be anything).
var unknownPrepared = &rules.Facts{Kind: rules.KindUnknown, Findings: []rules.Finding{{
	Rule: rules.RuleUnknownPrepared, Detail: "EXECUTE names a prepared statement that was not prepared through belay in this session.",
}}}

// resolvePrepared returns the facts that decide a statement: for EXECUTE
// name, those of what was prepared under that name (earlier in the same
// query string, in local, or earlier in the session).
func (s *SessionInfo) resolvePrepared(f *rules.Facts, local map[string]*rules.Facts) *rules.Facts {
	if f.Prepared == nil || f.Prepared.Op != rules.ExecuteOp {
		return f
	}
	if p, ok := local[f.Prepared.Name]; ok {
		return p
	}
	if p, ok := s.guard.prepared[f.Prepared.Name]; ok {
		return p
	}
	return unknownPrepared
}

// notePrepared records what an allowed statement did to the session's
// prepared statements. A named Parse and SQL PREPARE share one namespace
// in PostgreSQL, so both are remembered.
func (s *SessionInfo) notePrepared(f *rules.Facts, st *Statement) {
	if st.Protocol == Extended {
		if st.Name != "" {
			s.remember(st.Name, f)
		}
		return
	}
	if f.Prepared == nil {
		return
	}
	switch f.Prepared.Op {
	case rules.PrepareOp:
		s.remember(f.Prepared.Name, f)
	case rules.DeallocateOp:
		delete(s.guard.prepared, f.Prepared.Name)
	case rules.DeallocateAllOp:
		clear(s.guard.prepared)
	}
}

func (s *SessionInfo) remember(name string, f *rules.Facts) {
	if s.guard.prepared == nil {
		s.guard.prepared = make(map[string]*rules.Facts)
	}
	s.guard.prepared[name] = f
}
