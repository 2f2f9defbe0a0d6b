package policy

import "fmt"

// Action is what belay does with a statement a rule fired on. Actions are
// ordered by strictness: a statement gets the strictest action of its
// findings. The zero value is no action, so a profile that was never
// compiled cannot pass for one that allows everything.
type Action uint8

const (
	// Allow relays the statement; the finding is not reported.
	Allow Action = iota + 1
	// Audit relays the statement and records what would have been blocked.
	Audit
	// Quarantine, for drop-table only: DROP TABLE moves the table into
	// belay_quarantine, held like a write, and belay undo moves it back
	// (docs/capture.md). It needs a profile that holds and captures.
	Quarantine
	// 4 is kept for an action between quarantine and block, such as
	// Approve (wait for a second person). Holds are not an action: a
	// profile's hold: true holds every write it lets through (hold.go).

	// Block refuses the statement with an error; the session goes on.
	Block Action = 5
)

// ActionNames are the actions a policy file may name, mildest first.
var ActionNames = []string{"allow", "audit", "quarantine", "block"}

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Audit:
		return "audit"
	case Quarantine:
		return "quarantine"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// ParseAction reads an action as written in a policy file.
func ParseAction(s string) (Action, bool) {
	switch s {
	case "allow":
		return Allow, true
	case "audit":
		return Audit, true
	case "quarantine":
		return Quarantine, true
	case "block":
		return Block, true
	}
	return 0, false
}
