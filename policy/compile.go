package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/belay-proxy/belay/rules"
)

// Compile checks a Spec and builds the Policy. It returns every problem it
// finds, not just the first, each with its path; the Policy is nil then.
func Compile(s *Spec) (*Policy, []Error) {
	c := compiler{}
	p := &Policy{}
	if len(s.Profiles) == 0 {
		c.fail(Path{"profiles"}, "at least one profile is required (leave out the policy section for the built-in audit-only policy)")
	}
	seen := map[string]int{}
	var catchAll *Profile // the first profile without criteria: later ones never match
	for i := range s.Profiles {
		pr := c.profile(Path{"profiles", i}, &s.Profiles[i])
		if first, dup := seen[pr.Name]; dup && pr.Name != "" {
			c.fail(Path{"profiles", i, "name"}, "duplicate profile name %q (also profiles[%d])", pr.Name, first)
		} else {
			seen[pr.Name] = i
		}
		if catchAll != nil {
			c.fail(Path{"profiles", i, "name"}, "profile %q is never matched: profile %q before it has no match criteria and matches every session", pr.Name, catchAll.Name)
		} else if pr.match.matchesEveryone() {
			catchAll = pr
		}
		p.profiles = append(p.profiles, pr)
	}
	switch {
	case s.DefaultProfile == "" && len(s.Profiles) > 0:
		c.fail(Path{"default_profile"}, "is required: the profile for sessions no other profile matches")
	case s.DefaultProfile != "":
		if p.def = p.Profile(s.DefaultProfile); p.def == nil {
			c.fail(Path{"default_profile"}, "no profile is named %q", s.DefaultProfile)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return p, nil
}

type compiler struct{ errs []Error }

func (c *compiler) fail(path Path, format string, args ...any) {
	c.errs = append(c.errs, Error{Path: path, Message: fmt.Sprintf(format, args...)})
}

// at extends a path without sharing its backing array with siblings.
func at(base Path, elems ...any) Path {
	return append(append(Path(nil), base...), elems...)
}

func (c *compiler) profile(path Path, s *ProfileSpec) *Profile {
	pr := &Profile{Name: s.Name}
	pr.setHoldDefaults()
	if strings.TrimSpace(s.Name) == "" {
		c.fail(at(path, "name"), "is required")
	}
	pr.match = c.criteria(at(path, "match"), &s.Match)
	if s.DefaultAction == "" {
		c.fail(at(path, "default_action"), "is required: the action for rules the profile does not list (%s)", strings.Join(ActionNames, ", "))
	} else {
		pr.DefaultAction = c.action(at(path, "default_action"), s.DefaultAction)
		if pr.DefaultAction == Quarantine {
			c.fail(at(path, "default_action"), "quarantine is for drop-table only: name it under rules")
		}
	}
	pr.actions = make(map[rules.RuleID]Action, len(s.Rules))
	for _, name := range sortedKeys(s.Rules) {
		key := at(path, "rules", name)
		if _, known := rules.Lookup(rules.RuleID(name)); !known {
			msg := fmt.Sprintf("unknown rule %q", name)
			if near := closestRule(name); near != "" {
				msg += fmt.Sprintf("; did you mean %s?", near)
			}
			c.fail(key, "%s (docs/rules.md lists the rules)", msg)
			continue
		}
		a := c.action(key, s.Rules[name])
		if a == Quarantine && rules.RuleID(name) != rules.RuleDropTable {
			c.fail(key, "quarantine is for drop-table only (it moves a dropped table aside)")
		} else if a == Quarantine && !(s.Hold && s.Capture) {
			c.fail(key, "quarantine needs a profile with hold: true and capture: true (the move is held, and undo brings the table back)")
		}
		pr.actions[rules.RuleID(name)] = a
	}
	c.hold(path, s, pr)
	return pr
}

func (c *compiler) action(path Path, s string) Action {
	a, ok := ParseAction(s)
	if !ok {
		c.fail(path, "unknown action %q: want %s", s, strings.Join(ActionNames, ", "))
	}
	return a
}

func (c *compiler) criteria(path Path, s *MatchSpec) criteria {
	var m criteria
	m.users = c.globs(at(path, "users"), s.Users, false)
	m.databases = c.globs(at(path, "databases"), s.Databases, false)
	// Clients spell their names as they like: psql, PSQL, DBeaver, dbeaver.
	m.applicationNames = c.globs(at(path, "application_names"), s.ApplicationNames, true)
	if s.ClientAddrs != nil {
		c.nonEmpty(at(path, "client_addrs"), s.ClientAddrs)
		m.clientAddrs = make([]netip.Prefix, 0, len(s.ClientAddrs))
		for i, a := range s.ClientAddrs {
			p, err := parsePrefix(a)
			if err != nil {
				c.fail(at(path, "client_addrs", i), "%q is not an IP address or CIDR (10.0.0.0/8, 2001:db8::/32, 192.0.2.7)", a)
				continue
			}
			m.clientAddrs = append(m.clientAddrs, p)
		}
	}
	return m
}

func (c *compiler) globs(path Path, patterns []string, fold bool) []glob {
	if patterns == nil {
		return nil
	}
	c.nonEmpty(path, patterns)
	out := make([]glob, 0, len(patterns))
	for i, pat := range patterns {
		g, err := compileGlob(pat, fold)
		if err != nil {
			c.fail(at(path, i), "bad pattern %q: %v", pat, err)
			continue
		}
		out = append(out, g)
	}
	return out
}

// nonEmpty rejects "users: []": it would match no session, and a profile
// that silently matches nobody is a mistake nobody notices.
func (c *compiler) nonEmpty(path Path, list []string) {
	if len(list) == 0 {
		c.fail(path, "an empty list matches no session; leave the key out to match every session")
	}
}

// parsePrefix reads a CIDR, or a single address as a one-address prefix.
// Host bits in a CIDR are cleared: 10.1.2.3/8 is 10.0.0.0/8. IPv4-mapped
// IPv6 is written as IPv4, as session addresses are unmapped before
// matching.
func parsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, fmt.Errorf("not an address: %q", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
