package rules

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeDrop classifies DROP of every object kind but databases, roles
// and a few others that have their own statement types.
func (a *ua) analyzeDrop(s *pg_query.DropStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	cascade := ""
	if s.Behavior == pg_query.DropBehavior_DROP_CASCADE {
		cascade = " (CASCADE also drops what depends on it)"
	}
	t := s.RemoveType
	if t == pg_query.ObjectType_OBJECT_TABLE {
		a.f.DropCascade = s.Behavior == pg_query.DropBehavior_DROP_CASCADE
		a.f.DropMissingOK = s.MissingOk
	}
	for _, obj := range s.Objects {
		a.useNamed(t, obj)
		parts := utilNameParts(obj)
		target := utilJoin(parts)
		switch t {
		case pg_query.ObjectType_OBJECT_TABLE:
			if n := len(parts); n == 1 || n == 2 {
				use := TableUse{Name: parts[n-1], Access: AccessDDL}
				if n == 2 {
					use.Schema = parts[0]
				}
				a.f.DropTables = append(a.f.DropTables, use)
			}
			a.find(RuleDropTable, target, "DROP TABLE destroys the table and its data"+cascade)
		case pg_query.ObjectType_OBJECT_SCHEMA:
			a.find(RuleDropSchema, target, "DROP SCHEMA destroys the schema"+cascade)
		case pg_query.ObjectType_OBJECT_TRIGGER:
			// Dropping a trigger turns it off for good: the same evasion of
			// the trigger's checks as disabling it.
			if len(parts) >= 2 {
				target = utilJoin(parts[:len(parts)-1])
			}
			a.find(RuleDisableTrigger, target, "DROP TRIGGER removes a trigger and the checks it carries")
		case pg_query.ObjectType_OBJECT_EVENT_TRIGGER:
			a.find(RuleDisableTrigger, target, "DROP EVENT TRIGGER removes an event trigger and the checks it carries")
		}
	}
	switch {
	case t == pg_query.ObjectType_OBJECT_INDEX && s.Concurrent:
		raiseLock(a.f, lockShareUpdateExclusive)
	case utilRelationObject(t), utilSubObject(t):
		// Dropping a relation, or a trigger, rule, policy or constraint of
		// one, takes ACCESS EXCLUSIVE on the table.
		raiseLock(a.f, lockAccessExclusive)
	}
}

// analyzeTruncate: TRUNCATE deletes every row of each table at once.
func (a *ua) analyzeTruncate(s *pg_query.TruncateStmt) {
	a.f.Kind = KindDDL
	raiseLock(a.f, lockAccessExclusive)
	if s == nil {
		return
	}
	detail := "TRUNCATE removes every row of the table"
	if s.Behavior == pg_query.DropBehavior_DROP_CASCADE {
		detail += " (CASCADE also empties the tables that reference it)"
	}
	for _, r := range s.Relations {
		if name := a.useRel(r.GetRangeVar(), AccessWrite); name != "" {
			a.find(RuleTruncate, name, detail)
		}
	}
}

// analyzeDropDatabase: DROP DATABASE.
func (a *ua) analyzeDropDatabase(s *pg_query.DropdbStmt) {
	a.f.Kind = KindDDL
	name := ""
	if s != nil {
		name = s.Dbname
	}
	a.find(RuleDropDatabase, name, "DROP DATABASE destroys the database and everything in it")
}

// analyzeDropOwned: DROP OWNED BY drops every object the roles own in the
// current database, tables included, which belay cannot list.
func (a *ua) analyzeDropOwned(s *pg_query.DropOwnedStmt) {
	a.f.Kind = KindDDL
	raiseLock(a.f, lockAccessExclusive)
	a.find(RuleDropTable, "", "DROP OWNED drops every object the role owns in this database, tables included")
}
