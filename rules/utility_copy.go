package rules

import pg_query "github.com/pganalyze/pg_query_go/v6"

// analyzeCopy: COPY FROM writes rows into its table, COPY TO reads; COPY
// (query) TO runs the query, which may be an INSERT, UPDATE, DELETE or
// MERGE with RETURNING. PROGRAM runs a shell command on the server, as the
// operating-system user PostgreSQL runs as, in either direction.
func (a *ua) analyzeCopy(s *pg_query.CopyStmt) {
	a.f.Kind = KindRead
	if s == nil {
		return
	}
	target := ""
	switch {
	case s.Query != nil:
		in := a.treeFacts(s.Query)
		a.merge(&in, "", true)
		if in.Kind == KindWrite || in.Kind == KindUnknown {
			a.f.Kind = in.Kind
		}
	case s.IsFrom:
		a.f.Kind = KindWrite
		target = a.useRel(s.Relation, AccessWrite)
	default:
		target = a.useRel(s.Relation, AccessRead)
	}
	if s.IsProgram {
		dir := "TO"
		if s.IsFrom {
			dir = "FROM"
		}
		a.find(RuleCopyProgram, target, "COPY … "+dir+" PROGRAM runs a shell command on the database server")
	}
}
