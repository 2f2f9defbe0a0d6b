// Package policy decides what belay does with a statement's findings: for
// each session it picks a profile (who is connecting, from where, with what
// client), and the profile maps every rule to an action.
//
// It is pure: no I/O. config decodes the YAML into a Spec and calls Compile;
// the relay calls Match once per session and Decide per statement:
//
//	pr := pol.Match(policy.Session{User: "alice", ApplicationName: "psql"})
//	d := pr.Decide(facts.Findings) // d.Action, d.Finding
//
// A profile also says whether the session's writes are held until the
// client commits (Profile.Hold) and within what limits (RowCap, TableCap,
// the hold timeouts); the relay enforces them.
//
// A compiled Policy is immutable and shared by every session; a reload
// compiles a new one.
package policy
