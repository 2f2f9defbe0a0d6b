package policy

import "net/netip"

// Session is what a profile is chosen by: the startup packet's user,
// database and application_name, and the client's address.
type Session struct {
	User            string
	Database        string
	ApplicationName string
	// ClientAddr is the zero Addr when unknown or on a Unix socket; it then
	// matches no client_addrs entry.
	ClientAddr netip.Addr
}
