package rules

import pg_query "github.com/pganalyze/pg_query_go/v6"

// analyzeGrant: GRANT and REVOKE change who may do what (KindPrivilege,
// which a policy can block as a kind). Granting on belay's schema or its
// objects is a change to that schema.
func (a *ua) analyzeGrant(s *pg_query.GrantStmt) {
	a.f.Kind = KindPrivilege
	if s == nil {
		return
	}
	if s.Targtype == pg_query.GrantTargetType_ACL_TARGET_ALL_IN_SCHEMA {
		for _, o := range s.Objects {
			a.useSchema(utilConstString(o))
		}
		return
	}
	t := s.Objtype
	for _, o := range s.Objects {
		if rv := o.GetRangeVar(); rv != nil {
			a.useRel(rv, AccessDDL) // tables, views, sequences: their ACL
			continue
		}
		a.useNamed(t, o)
	}
}

// analyzeDefaultPrivileges: ALTER DEFAULT PRIVILEGES [IN SCHEMA …].
func (a *ua) analyzeDefaultPrivileges(s *pg_query.AlterDefaultPrivilegesStmt) {
	a.f.Kind = KindPrivilege
	for _, d := range utilDefElems(s.GetOptions()) {
		if d.Defname != "schemas" {
			continue
		}
		for _, n := range d.Arg.GetList().GetItems() {
			a.useSchema(utilConstString(n))
		}
	}
}

// analyzeOwner: ALTER … OWNER TO (for objects other than relations, which
// go through ALTER TABLE).
func (a *ua) analyzeOwner(s *pg_query.AlterOwnerStmt) {
	a.f.Kind = KindPrivilege
	if s == nil {
		return
	}
	if s.Relation != nil {
		a.useRel(s.Relation, AccessDDL)
		raiseLock(a.f, lockAccessExclusive)
		return
	}
	a.useNamed(s.ObjectType, s.Object)
}
