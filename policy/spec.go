package policy

import (
	"strconv"
	"strings"
	"time"
)

// Spec is the policy section of belay's configuration file as written.
// config decodes it strictly (unknown keys are errors); Compile checks
// what the decoder cannot. docs/policy.md documents every key.
type Spec struct {
	DefaultProfile string        `yaml:"default_profile"`
	Profiles       []ProfileSpec `yaml:"profiles"`
}

// ProfileSpec is one profile as written.
type ProfileSpec struct {
	Name          string            `yaml:"name"`
	Match         MatchSpec         `yaml:"match"`
	DefaultAction string            `yaml:"default_action"`
	Rules         map[string]string `yaml:"rules"`
	// Hold runs the profile's writes outside a transaction in one belay
	// opens, and the keys below are its limits.
	Hold bool `yaml:"hold"`
	// Capture: held writes keep before-images (docs/capture.md).
	Capture bool `yaml:"capture"`
	// Uncaptured is what a held write to a table capture did not copy
	// gets: refuse (the default) or allow.
	Uncaptured string `yaml:"uncaptured"`
	// PreviewValues: the hold's NOTICE shows old → new values, not only
	// the changed columns' names.
	PreviewValues bool `yaml:"preview_values"`
	// The hold keys are nil when left out, so that Compile can tell a key
	// written for a profile that does not hold (an error: the operator
	// would believe a cap is enforced) and an explicit 0s from a default.
	RowCap               *int           `yaml:"row_cap"`
	TableRowCaps         map[string]int `yaml:"table_row_caps"`
	HoldTimeout          *time.Duration `yaml:"hold_timeout"`
	HoldLockTimeout      *time.Duration `yaml:"hold_lock_timeout"`
	HoldStatementTimeout *time.Duration `yaml:"hold_statement_timeout"`
	HoldEstimateFactor   *float64       `yaml:"hold_estimate_factor"`
}

// MatchSpec is a profile's match criteria as written. A nil list is no
// criterion; an empty one ([]) is an error, as it would match nobody.
type MatchSpec struct {
	Users            []string `yaml:"users"`
	Databases        []string `yaml:"databases"`
	ApplicationNames []string `yaml:"application_names"`
	ClientAddrs      []string `yaml:"client_addrs"`
}

// Error is one problem in a Spec. Path locates it below the policy key, so
// that config can turn it into a line and column.
type Error struct {
	Path    Path
	Message string
}

func (e Error) Error() string {
	if len(e.Path) == 0 {
		return e.Message
	}
	return e.Path.String() + ": " + e.Message
}

// Path is a list of mapping keys (string) and list indexes (int), e.g.
// profiles, 1, rules, no-where. An error about a value names its key.
type Path []any

// String renders a path as profiles[1].rules.no-where.
func (p Path) String() string {
	var b strings.Builder
	for _, e := range p {
		switch e := e.(type) {
		case int:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e))
			b.WriteByte(']')
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e)
		}
	}
	return b.String()
}
