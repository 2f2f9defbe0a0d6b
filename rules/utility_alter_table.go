package rules

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeAlterTable classifies ALTER TABLE and the statements PostgreSQL
// parses the same way (ALTER INDEX, VIEW, MATERIALIZED VIEW, SEQUENCE,
// FOREIGN TABLE, and ALTER TYPE on composite types).
func (a *ua) analyzeAlterTable(s *pg_query.AlterTableStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	var target string
	if s.Objtype == pg_query.ObjectType_OBJECT_TYPE {
		target = utilRelName(s.Relation)
		a.useObject(utilNameParts(&pg_query.Node{Node: &pg_query.Node_RangeVar{RangeVar: s.Relation}}))
	} else {
		target = a.useRel(s.Relation, AccessDDL)
	}
	for _, c := range s.Cmds {
		cmd := c.GetAlterTableCmd()
		if cmd == nil {
			continue
		}
		raiseLock(a.f, alterTableCmdLock(cmd))
		a.alterTableCmd(s.Objtype, target, cmd)
	}
}

// alterTableCmdLock is the lock one ALTER TABLE action takes, after
// PostgreSQL's AlterTableGetLockLevel (checked against pg_locks on
// PostgreSQL 15): most actions take ACCESS EXCLUSIVE.
func alterTableCmdLock(cmd *pg_query.AlterTableCmd) string {
	switch cmd.Subtype {
	case pg_query.AlterTableType_AT_SetStatistics, pg_query.AlterTableType_AT_SetOptions, pg_query.AlterTableType_AT_ResetOptions,
		pg_query.AlterTableType_AT_ClusterOn, pg_query.AlterTableType_AT_DropCluster,
		pg_query.AlterTableType_AT_ValidateConstraint, pg_query.AlterTableType_AT_DetachPartitionFinalize:
		return lockShareUpdateExclusive
	case pg_query.AlterTableType_AT_SetRelOptions, pg_query.AlterTableType_AT_ResetRelOptions, pg_query.AlterTableType_AT_ReplaceRelOptions:
		return relOptionsLock(cmd.Def)
	case pg_query.AlterTableType_AT_EnableTrig, pg_query.AlterTableType_AT_EnableAlwaysTrig, pg_query.AlterTableType_AT_EnableReplicaTrig,
		pg_query.AlterTableType_AT_EnableTrigAll, pg_query.AlterTableType_AT_EnableTrigUser,
		pg_query.AlterTableType_AT_DisableTrig, pg_query.AlterTableType_AT_DisableTrigAll, pg_query.AlterTableType_AT_DisableTrigUser:
		return lockShareRowExclusive
	case pg_query.AlterTableType_AT_AddConstraint:
		if c := cmd.Def.GetConstraint(); c != nil && c.Contype == pg_query.ConstrType_CONSTR_FOREIGN {
			return lockShareRowExclusive // on both tables
		}
	case pg_query.AlterTableType_AT_DetachPartition:
		if p := cmd.Def.GetPartitionCmd(); p != nil && p.Concurrent {
			return lockShareUpdateExclusive
		}
	}
	// ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent but
	// ACCESS EXCLUSIVE on the partition: the heavier one is reported.
	return lockAccessExclusive
}

// relOptionsLock: storage parameters that only tune vacuum and the planner
// take SHARE UPDATE EXCLUSIVE; the rest (user_catalog_table, a view's
// check_option, security_barrier …) ACCESS EXCLUSIVE.
func relOptionsLock(def *pg_query.Node) string {
	var opts []*pg_query.Node
	if l := def.GetList(); l != nil {
		opts = l.Items
	}
	for _, d := range utilDefElems(opts) {
		name := strings.ToLower(d.Defname)
		switch {
		case strings.EqualFold(d.Defnamespace, "toast"), strings.HasPrefix(name, "autovacuum_"):
		case name == "fillfactor", name == "parallel_workers", name == "toast_tuple_target",
			name == "vacuum_index_cleanup", name == "vacuum_truncate", name == "log_autovacuum_min_duration":
		default:
			return lockAccessExclusive
		}
	}
	return lockShareUpdateExclusive
}

// alterTableCmd applies the rules to one ALTER TABLE action.
func (a *ua) alterTableCmd(ot pg_query.ObjectType, target string, cmd *pg_query.AlterTableCmd) {
	table := ot == pg_query.ObjectType_OBJECT_TABLE
	rewrite := func(what string) {
		a.find(RuleTableRewrite, target, what+", under an ACCESS EXCLUSIVE lock")
	}
	switch cmd.Subtype {
	case pg_query.AlterTableType_AT_DropColumn:
		if table {
			a.find(RuleDropColumn, target, "DROP COLUMN "+cmd.Name+" destroys the column's data")
		}
	case pg_query.AlterTableType_AT_DisableTrig, pg_query.AlterTableType_AT_DisableTrigAll, pg_query.AlterTableType_AT_DisableTrigUser:
		a.find(RuleDisableTrigger, target, "DISABLE TRIGGER turns off the checks the triggers carry")
	case pg_query.AlterTableType_AT_EnableReplicaTrig:
		// A replica-only trigger no longer fires in ordinary sessions.
		a.find(RuleDisableTrigger, target, "ENABLE REPLICA TRIGGER stops the trigger firing in ordinary sessions")
	case pg_query.AlterTableType_AT_DisableRule, pg_query.AlterTableType_AT_EnableReplicaRule:
		// Rules guard tables too (DO INSTEAD NOTHING): same rule.
		a.find(RuleDisableTrigger, target, "DISABLE RULE turns off a rewrite rule and what it enforces")
	case pg_query.AlterTableType_AT_AlterColumnType:
		if table {
			rewrite("ALTER COLUMN " + cmd.Name + " TYPE rewrites the table and its indexes unless the types are binary-compatible")
		}
	case pg_query.AlterTableType_AT_AddColumn:
		if table {
			a.addColumn(target, cmd.Def.GetColumnDef())
		}
	case pg_query.AlterTableType_AT_SetNotNull:
		if table {
			rewrite("SET NOT NULL on " + cmd.Name + " scans the whole table")
		}
	case pg_query.AlterTableType_AT_AddConstraint:
		if table {
			a.addConstraint(target, cmd.Def.GetConstraint())
		}
	case pg_query.AlterTableType_AT_SetLogged, pg_query.AlterTableType_AT_SetUnLogged:
		if table {
			rewrite("SET LOGGED/UNLOGGED rewrites the table")
		}
	case pg_query.AlterTableType_AT_SetAccessMethod:
		if table || ot == pg_query.ObjectType_OBJECT_MATVIEW {
			rewrite("SET ACCESS METHOD rewrites the table")
		}
	case pg_query.AlterTableType_AT_SetTableSpace:
		if table || ot == pg_query.ObjectType_OBJECT_MATVIEW || ot == pg_query.ObjectType_OBJECT_INDEX {
			rewrite("SET TABLESPACE copies every block of the relation")
		}
	case pg_query.AlterTableType_AT_SetExpression:
		if table {
			rewrite("ALTER COLUMN " + cmd.Name + " SET EXPRESSION rewrites the table")
		}
	}
}

// addColumn: since PostgreSQL 11 a new column with no default or a
// non-volatile one costs no rewrite; these forms still rewrite or scan.
func (a *ua) addColumn(target string, cd *pg_query.ColumnDef) {
	if cd == nil {
		return
	}
	col := cd.Colname
	rewrite := func(what string) {
		a.find(RuleTableRewrite, target, "ADD COLUMN "+col+" "+what+", under an ACCESS EXCLUSIVE lock")
	}
	if utilSerialType(cd.TypeName) {
		rewrite("of a serial type fills every row from a sequence: the table is rewritten")
	}
	if utilVolatile(cd.RawDefault) {
		rewrite("with a volatile DEFAULT rewrites the table")
	}
	for _, n := range cd.Constraints {
		c := n.GetConstraint()
		if c == nil {
			continue
		}
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_DEFAULT:
			if utilVolatile(c.RawExpr) {
				rewrite("with a volatile DEFAULT rewrites the table")
			}
		case pg_query.ConstrType_CONSTR_GENERATED:
			rewrite("GENERATED … STORED computes every row: the table is rewritten")
		case pg_query.ConstrType_CONSTR_IDENTITY:
			rewrite("GENERATED … AS IDENTITY fills every row: the table is rewritten")
		case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
			rewrite("with a PRIMARY KEY or UNIQUE constraint builds an index")
		case pg_query.ConstrType_CONSTR_CHECK, pg_query.ConstrType_CONSTR_FOREIGN:
			if !c.SkipValidation {
				rewrite("with a CHECK or REFERENCES constraint scans the whole table to validate it")
			}
		}
	}
}

// addConstraint: ADD CONSTRAINT builds an index or validates every row
// while holding its lock, unless the index exists (USING INDEX) or the
// check is deferred (NOT VALID, then VALIDATE CONSTRAINT under a lock that
// lets reads and writes through).
func (a *ua) addConstraint(target string, c *pg_query.Constraint) {
	if c == nil {
		return
	}
	switch c.Contype {
	case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_EXCLUSION:
		if c.Indexname == "" {
			a.find(RuleTableRewrite, target, "ADD PRIMARY KEY, UNIQUE or EXCLUDE builds an index under an ACCESS EXCLUSIVE lock")
		}
	case pg_query.ConstrType_CONSTR_CHECK:
		if !c.SkipValidation {
			a.find(RuleTableRewrite, target, "ADD CONSTRAINT … CHECK without NOT VALID scans the whole table under an ACCESS EXCLUSIVE lock")
		}
	case pg_query.ConstrType_CONSTR_FOREIGN:
		if !c.SkipValidation {
			a.find(RuleTableRewrite, target, "ADD FOREIGN KEY without NOT VALID scans the whole table under a SHARE ROW EXCLUSIVE lock on both tables")
		}
	case pg_query.ConstrType_CONSTR_NOTNULL:
		a.find(RuleTableRewrite, target, "ADD CONSTRAINT … NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock")
	}
}
