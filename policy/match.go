package policy

import "net/netip"

// criteria is a profile's compiled match section. A nil list is a criterion
// the profile does not use; a session must satisfy every list it uses, and
// a list is satisfied when any of its entries matches.
type criteria struct {
	users, databases, applicationNames []glob
	clientAddrs                        []netip.Prefix
}

// matchesEveryone reports whether the profile has no criteria at all.
func (c *criteria) matchesEveryone() bool {
	return c.users == nil && c.databases == nil && c.applicationNames == nil && c.clientAddrs == nil
}

func (c *criteria) matches(s Session) bool {
	return anyGlob(c.users, s.User) &&
		anyGlob(c.databases, s.Database) &&
		anyGlob(c.applicationNames, s.ApplicationName) &&
		anyPrefix(c.clientAddrs, s.ClientAddr)
}

func anyGlob(list []glob, name string) bool {
	if list == nil {
		return true
	}
	for _, g := range list {
		if g.match(name) {
			return true
		}
	}
	return false
}

func anyPrefix(list []netip.Prefix, addr netip.Addr) bool {
	if list == nil {
		return true
	}
	// An IPv4 client on a dual-stack listener arrives as ::ffff:a.b.c.d;
	// the file says a.b.c.d.
	addr = addr.Unmap()
	for _, p := range list {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
