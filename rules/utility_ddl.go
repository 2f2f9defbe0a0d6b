package rules

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeCreateTable: a new table takes no lock others wait on, except a
// partition (ACCESS EXCLUSIVE on the parent) and foreign keys (SHARE ROW
// EXCLUSIVE on the referenced table).
func (a *ua) analyzeCreateTable(s *pg_query.CreateStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	a.useRel(s.Relation, AccessDDL)
	if s.Partbound != nil {
		for _, p := range s.InhRelations {
			a.useRel(p.GetRangeVar(), AccessDDL)
		}
		raiseLock(a.f, lockAccessExclusive)
	} else if len(s.InhRelations) > 0 {
		raiseLock(a.f, lockShareUpdateExclusive)
	}
	if utilHasForeignKey(s) {
		raiseLock(a.f, lockShareRowExclusive)
	}
}

func utilHasForeignKey(s *pg_query.CreateStmt) bool {
	isFK := func(n *pg_query.Node) bool {
		return n.GetConstraint().GetContype() == pg_query.ConstrType_CONSTR_FOREIGN
	}
	for _, c := range s.Constraints {
		if isFK(c) {
			return true
		}
	}
	for _, e := range s.TableElts {
		if isFK(e) {
			return true
		}
		for _, c := range e.GetColumnDef().GetConstraints() {
			if isFK(c) {
				return true
			}
		}
	}
	return false
}

// analyzeRule: a rewrite rule silently changes what later statements on
// the table do (DO INSTEAD can turn a SELECT into anything).
func (a *ua) analyzeRule(s *pg_query.RuleStmt) {
	a.f.Kind = KindDDL
	raiseLock(a.f, lockAccessExclusive)
	if s == nil {
		return
	}
	name := a.useRel(s.Relation, AccessDDL)
	verb := "CREATE RULE"
	if s.Replace {
		verb = "CREATE OR REPLACE RULE"
	}
	a.find(RuleCreateRule, name, verb+" "+s.Rulename+" changes what statements on the table do")
}

// analyzeRelationDDL records the relation a CREATE/ALTER of a view,
// trigger, policy, sequence, statistics or foreign table changes, and the
// lock it takes there.
func (a *ua) analyzeRelationDDL(rv *pg_query.RangeVar, lock string) {
	a.f.Kind = KindDDL
	a.useRel(rv, AccessDDL)
	raiseLock(a.f, lock)
}

// analyzeRename: RENAME of a relation, column, constraint, trigger, rule
// or policy takes ACCESS EXCLUSIVE (an index only SHARE UPDATE EXCLUSIVE).
func (a *ua) analyzeRename(s *pg_query.RenameStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	switch {
	case s.Relation != nil:
		a.useRel(s.Relation, AccessDDL)
		if s.RenameType == pg_query.ObjectType_OBJECT_INDEX {
			raiseLock(a.f, lockShareUpdateExclusive)
		} else {
			raiseLock(a.f, lockAccessExclusive)
		}
	case s.RenameType == pg_query.ObjectType_OBJECT_SCHEMA:
		a.useSchema(s.Subname)
		a.useSchema(s.Newname) // renaming a schema to belay shadows belay's
	default:
		a.useNamed(s.RenameType, s.Object)
	}
}

// analyzeSetSchema: ALTER … SET SCHEMA moves an object; moving one into
// belay's schema is a change to that schema too.
func (a *ua) analyzeSetSchema(s *pg_query.AlterObjectSchemaStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	name := ""
	if s.Relation != nil {
		a.useRel(s.Relation, AccessDDL)
		name = s.Relation.Relname
		raiseLock(a.f, lockAccessExclusive)
	} else {
		a.useNamed(s.ObjectType, s.Object)
		if parts := utilNameParts(s.Object); len(parts) > 0 {
			name = parts[len(parts)-1]
		}
	}
	if isProtectedSchema(s.Newschema) {
		a.use(s.Newschema, name, AccessDDL)
	}
}

// analyzeComment: COMMENT ON takes SHARE UPDATE EXCLUSIVE on a relation.
func (a *ua) analyzeComment(objtype pg_query.ObjectType, obj *pg_query.Node) {
	a.f.Kind = KindDDL
	a.useNamed(objtype, obj)
	if utilRelationObject(objtype) || utilSubObject(objtype) {
		raiseLock(a.f, lockShareUpdateExclusive)
	}
}

// analyzeCreateExtension: an extension's objects go to the schema named in
// SCHEMA, which may be belay's.
func (a *ua) analyzeCreateExtension(s *pg_query.CreateExtensionStmt) {
	a.f.Kind = KindDDL
	for _, d := range utilDefElems(s.GetOptions()) {
		if d.Defname == "schema" {
			a.useSchema(utilConstString(d.Arg))
		}
	}
}

// analyzeEventTrigger: disabling an event trigger, or making it fire only
// in replica mode, turns off the DDL checks it carries.
func (a *ua) analyzeAlterEventTrigger(s *pg_query.AlterEventTrigStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	switch s.Tgenabled {
	case "D":
		a.find(RuleDisableTrigger, s.Trigname, "ALTER EVENT TRIGGER … DISABLE turns off the checks the event trigger carries")
	case "R":
		a.find(RuleDisableTrigger, s.Trigname, "ALTER EVENT TRIGGER … ENABLE REPLICA stops the event trigger firing in ordinary sessions")
	}
}

// analyzeMoveAll: ALTER TABLE ALL IN TABLESPACE … SET TABLESPACE copies
// every table (or index, materialized view) there.
func (a *ua) analyzeMoveAll(s *pg_query.AlterTableMoveAllStmt) {
	a.f.Kind = KindDDL
	raiseLock(a.f, lockAccessExclusive)
	target := ""
	if s != nil {
		target = s.OrigTablespacename
	}
	a.find(RuleTableRewrite, target, "ALTER … ALL IN TABLESPACE … SET TABLESPACE copies every relation in the tablespace, each under an ACCESS EXCLUSIVE lock")
}

// analyzeNamedDDL records the object a CREATE/ALTER of a type, domain,
// operator, text search object … changes (only when in belay's schema).
func (a *ua) analyzeNamedDDL(parts []string) {
	a.f.Kind = KindDDL
	a.useObject(parts)
}
