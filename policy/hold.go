package policy

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// The hold keys' defaults, for a profile that leaves them out.
const (
	DefaultHoldTimeout          = 2 * time.Minute
	DefaultHoldLockTimeout      = 3 * time.Second
	DefaultHoldStatementTimeout = 30 * time.Second
	// DefaultHoldEstimateFactor refuses an UPDATE or DELETE up front only
	// when the planner expects ten times the cap: estimates can be off by
	// a few times, and the cap itself still counts what really changed.
	DefaultHoldEstimateFactor = 10
)

// MaxHoldTimeout bounds hold_timeout: a held transaction keeps its row
// locks and holds back vacuum, and a day is more than anyone at a prompt
// needs to decide whether to COMMIT.
const MaxHoldTimeout = 24 * time.Hour

// maxSettingTimeout is the largest lock_timeout or statement_timeout
// PostgreSQL accepts (an int of milliseconds); beyond it every SET LOCAL,
// and so every held write, would fail.
const maxSettingTimeout = math.MaxInt32 * time.Millisecond

// maxNameBytes is NAMEDATALEN-1: PostgreSQL truncates longer names, so a
// longer one in the file could never match a table.
const maxNameBytes = 63

func (pr *Profile) setHoldDefaults() {
	pr.HoldTimeout = DefaultHoldTimeout
	pr.HoldLockTimeout = DefaultHoldLockTimeout
	pr.HoldStatementTimeout = DefaultHoldStatementTimeout
	pr.HoldEstimateFactor = DefaultHoldEstimateFactor
}

// TableCap returns the most rows a held transaction may change in a table,
// and whether the profile caps that table at all. qualified is
// schemaname + "." + relname as pg_stat_xact_user_tables spells them (no
// quotes, case as stored), the form Compile normalises table_row_caps to.
func (pr *Profile) TableCap(qualified string) (cap int, ok bool) {
	cap, ok = pr.TableRowCaps[qualified]
	return cap, ok
}

// hold compiles a profile's hold keys into pr, which has the defaults. A
// key is checked even in a profile that does not hold, so that one pass
// over the file reports every problem.
func (c *compiler) hold(path Path, s *ProfileSpec, pr *Profile) {
	pr.Hold = s.Hold
	// Without hold: true nothing is enforced: a cap that is read, checked
	// and then ignored would make the operator believe writes are capped.
	needsHold := func(key string) {
		if !s.Hold {
			c.fail(at(path, key), "applies only to a profile that holds: add hold: true, or remove %s", key)
		}
	}
	if s.Capture {
		needsHold("capture")
		pr.Capture = true
	}
	switch s.Uncaptured {
	case "", "refuse":
	case "allow":
		if !s.Capture {
			c.fail(at(path, "uncaptured"), "needs capture: true (without capture no write is captured)")
		}
		pr.AllowUncaptured = true
	default:
		c.fail(at(path, "uncaptured"), "must be refuse or allow, not %q", s.Uncaptured)
	}
	if s.Uncaptured != "" {
		needsHold("uncaptured")
	}
	if s.PreviewValues {
		needsHold("preview_values")
		if !s.Capture {
			c.fail(at(path, "preview_values"), "needs capture: true (the preview reads the captured rows)")
		}
		pr.PreviewValues = true
	}
	if s.RowCap != nil {
		needsHold("row_cap")
		if *s.RowCap < 0 {
			c.fail(at(path, "row_cap"), "must not be negative (0 is no cap)")
		}
		pr.RowCap = *s.RowCap
	}
	if s.TableRowCaps != nil {
		needsHold("table_row_caps")
		pr.TableRowCaps = c.tableCaps(at(path, "table_row_caps"), s.TableRowCaps)
	}
	if s.HoldTimeout != nil {
		needsHold("hold_timeout")
		switch d := *s.HoldTimeout; {
		case d <= 0:
			c.fail(at(path, "hold_timeout"), "must be positive")
		case d > MaxHoldTimeout:
			c.fail(at(path, "hold_timeout"), "must be at most 24h, not %v: a held transaction keeps its locks", d)
		}
		pr.HoldTimeout = *s.HoldTimeout
	}
	if s.HoldLockTimeout != nil {
		needsHold("hold_lock_timeout")
		c.settingTimeout(at(path, "hold_lock_timeout"), *s.HoldLockTimeout)
		pr.HoldLockTimeout = *s.HoldLockTimeout
	}
	if s.HoldStatementTimeout != nil {
		needsHold("hold_statement_timeout")
		c.settingTimeout(at(path, "hold_statement_timeout"), *s.HoldStatementTimeout)
		pr.HoldStatementTimeout = *s.HoldStatementTimeout
	}
	if s.HoldEstimateFactor != nil {
		needsHold("hold_estimate_factor")
		if f := *s.HoldEstimateFactor; f < 0 || f != f || f > 1e9 {
			c.fail(at(path, "hold_estimate_factor"), "must be between 0 (no estimate) and 1e9, not %v", f)
		}
		pr.HoldEstimateFactor = *s.HoldEstimateFactor
	}
}

// settingTimeout checks a duration belay passes to PostgreSQL with SET
// LOCAL, which takes whole milliseconds: 1.5ms would not be what was meant.
func (c *compiler) settingTimeout(path Path, d time.Duration) {
	switch {
	case d < 0:
		c.fail(path, "must not be negative (0s leaves PostgreSQL's setting)")
	case d%time.Millisecond != 0:
		c.fail(path, "must be whole milliseconds, not %v: PostgreSQL takes the setting in ms", d)
	case d > maxSettingTimeout:
		c.fail(path, "must be at most %v, PostgreSQL's limit, not %v", maxSettingTimeout, d)
	}
}

// tableCaps checks table_row_caps and keys it by normalised name, so that
// the relay looks up exactly what PostgreSQL reports.
func (c *compiler) tableCaps(path Path, caps map[string]int) map[string]int {
	out := make(map[string]int, len(caps))
	written := make(map[string]string, len(caps)) // normalised name → key as written
	for _, key := range sortedKeys(caps) {
		p := at(path, key)
		name, err := tableName(key)
		if err != nil {
			c.fail(p, "%q is not a table name: %v (write table, schema.table, or a name in double quotes to keep its case)", key, err)
			continue
		}
		if first, dup := written[name]; dup {
			c.fail(p, "names the same table as %q (%s)", first, name)
			continue
		}
		written[name] = key
		if caps[key] < 0 {
			c.fail(p, "must not be negative (0: no row of the table may change)")
		}
		out[name] = caps[key]
	}
	return out
}

// tableName normalises a table_row_caps key to schema.table as PostgreSQL's
// catalogs spell it: a name is lower-cased as PostgreSQL folds an unquoted
// identifier, unless it is in double quotes; without a schema, the schema
// is public. (Not search_path: the file cannot know each session's.)
func tableName(key string) (string, error) {
	var parts []string
	rest := key
	for {
		name, after, err := namePart(rest)
		if err != nil {
			return "", err
		}
		parts = append(parts, name)
		if after == "" {
			break
		}
		if after[0] != '.' {
			return "", fmt.Errorf("want a dot or the end after %q", name)
		}
		rest = after[1:]
	}
	switch len(parts) {
	case 1:
		return "public." + parts[0], nil
	case 2:
		return parts[0] + "." + parts[1], nil
	}
	return "", errors.New("more than schema and table")
}

// namePart reads one name from the start of s: "Quoted" (with "" for a
// quote) or unquoted, which is folded to lower case. It returns the name
// and what follows it.
func namePart(s string) (name, rest string, err error) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '"' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			name, rest = b.String(), s[i+1:]
			switch {
			case name == "":
				return "", "", errors.New("an empty quoted name")
			case strings.Contains(name, "."):
				// Keys join schema and table with a dot; one inside a name
				// would make two tables one key.
				return "", "", fmt.Errorf("a name with a dot in it (%q) is not supported", name)
			}
			return name, rest, checkLength(name)
		}
		return "", "", errors.New("a double quote is not closed")
	}
	end := strings.IndexAny(s, `."`)
	if end < 0 {
		end = len(s)
	}
	name, rest = s[:end], s[end:]
	if name == "" {
		return "", "", errors.New("an empty name")
	}
	for i := 0; i < len(name); i++ {
		if !identByte(name[i], i == 0) {
			return "", "", fmt.Errorf("%q is not a plain name (quote it to write it as it is)", name)
		}
	}
	return foldASCII(name), rest, checkLength(name)
}

// identByte reports whether b may be in an unquoted identifier, as in
// PostgreSQL's scanner: letters, _, any non-ASCII byte, and after the
// first, digits and $.
func identByte(b byte, first bool) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', b == '_', b >= 0x80:
		return true
	case '0' <= b && b <= '9', b == '$':
		return !first
	}
	return false
}

// foldASCII lower-cases A-Z only: PostgreSQL leaves other letters of an
// unquoted identifier as they are in a UTF-8 database.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func checkLength(name string) error {
	if len(name) > maxNameBytes {
		return fmt.Errorf("%q is longer than PostgreSQL's %d-byte limit for names", name, maxNameBytes)
	}
	return nil
}
