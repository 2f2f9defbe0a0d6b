package policy

import (
	"time"

	"github.com/belay-proxy/belay/rules"
)

// Policy is a compiled policy: profiles in file order and the default one.
// It is immutable and shared by every session.
type Policy struct {
	profiles []*Profile
	def      *Profile
}

// Profile is what one class of sessions may do. Its fields are read-only:
// the profile is shared by every session it matched.
type Profile struct {
	Name string
	// DefaultAction applies to every rule the profile does not list.
	DefaultAction Action
	// Hold: every write that arrives outside a transaction runs in one belay
	// opens, and the client must COMMIT it (docs/policy.md, "Holds"). The
	// fields below are the hold's limits; Compile accepts them only in a
	// profile that holds, and a profile that does not has the defaults.
	Hold bool
	// Capture: held writes keep their before-images through belay's capture
	// triggers, and a write to a table without them is refused
	// (docs/capture.md). Needs Hold.
	Capture bool
	// AllowUncaptured lets a held write through although rows of a table
	// without capture triggers changed: those rows cannot be undone, and
	// the NOTICEs say so. Off (refuse) unless the profile says
	// uncaptured: allow. Needs Capture.
	AllowUncaptured bool
	// PreviewValues: the NOTICE of a held change shows the first rows' old
	// and new values (cut short), not only which columns changed. The
	// data is often sensitive, so it is off unless asked for. Needs Capture.
	PreviewValues bool
	// RowCap is the most rows a held transaction may change in total, as
	// pg_stat_xact_user_tables counts them; over it the hold is rolled
	// back. 0: no cap.
	RowCap int
	// TableRowCaps is the most rows a held transaction may change in one
	// table, keyed by schema.table as PostgreSQL's catalogs spell the names
	// (unquoted, case kept); 0: none. nil when the profile lists none. Read
	// it with TableCap.
	TableRowCaps map[string]int
	// HoldTimeout is how long a held transaction may sit idle before belay
	// rolls it back.
	HoldTimeout time.Duration
	// HoldLockTimeout and HoldStatementTimeout are SET LOCAL lock_timeout
	// and statement_timeout in the transaction belay opens, whole
	// milliseconds. 0: belay sets nothing and PostgreSQL's setting applies.
	HoldLockTimeout      time.Duration
	HoldStatementTimeout time.Duration
	// HoldEstimateFactor: an UPDATE or DELETE whose planner estimate is
	// more than this many times RowCap is refused before it runs (no row
	// lock taken); 0 turns the estimate off.
	HoldEstimateFactor float64

	match   criteria
	actions map[rules.RuleID]Action
}

// Decision is the outcome for one statement.
type Decision struct {
	Action Action
	// Finding is the deciding one: the first finding with the strictest
	// action. Zero when Action is Allow for want of findings.
	Finding rules.Finding
	// Audited counts the findings whose action is audit.
	Audited int
}

// Match returns the profile for a session: the first whose criteria all
// hold, else the default profile. Never nil.
func (p *Policy) Match(s Session) *Profile {
	for _, pr := range p.profiles {
		if pr.match.matches(s) {
			return pr
		}
	}
	return p.def
}

// Profiles returns the profiles in match order; the slice is the caller's.
func (p *Policy) Profiles() []*Profile {
	return append([]*Profile(nil), p.profiles...)
}

// Default returns the profile for sessions no other profile matches.
func (p *Policy) Default() *Profile { return p.def }

// Profile returns the profile with the given name, or nil.
func (p *Policy) Profile(name string) *Profile {
	for _, pr := range p.profiles {
		if pr.Name == name {
			return pr
		}
	}
	return nil
}

// Action returns the profile's action for a rule.
func (pr *Profile) Action(rule rules.RuleID) Action {
	if a, ok := pr.actions[rule]; ok {
		return a
	}
	return pr.DefaultAction
}

// Decide returns the strictest action among a statement's findings; no
// findings is Allow. It runs on the relay's hot path for every statement
// and does not allocate.
func (pr *Profile) Decide(findings []rules.Finding) Decision {
	d := Decision{Action: Allow}
	for i := range findings {
		a := pr.Action(findings[i].Rule)
		if a == Audit {
			d.Audited++
		}
		if a > d.Action {
			d.Action, d.Finding = a, findings[i]
		}
	}
	return d
}

// CanBlock reports whether any profile blocks any rule.
func (p *Policy) CanBlock() bool {
	for _, pr := range p.profiles {
		if pr.DefaultAction == Block {
			return true
		}
		for _, a := range pr.actions {
			if a == Block {
				return true
			}
		}
	}
	return false
}

// CanHold reports whether any profile holds. Holds need every statement
// parsed, as blocks do: without it belay cannot tell a write.
func (p *Policy) CanHold() bool {
	for _, pr := range p.profiles {
		if pr.Hold {
			return true
		}
	}
	return false
}

// auditOnly is the policy of a configuration without a policy section:
// every finding is audited, nothing is blocked.
var auditOnly = func() *Policy {
	pr := &Profile{Name: "audit-only", DefaultAction: Audit}
	pr.setHoldDefaults()
	return &Policy{profiles: []*Profile{pr}, def: pr}
}()

// AuditOnly returns the built-in policy: one profile, "audit-only", that
// matches every session and audits every finding. The relay then blocks
// nothing.
func AuditOnly() *Policy { return auditOnly }
