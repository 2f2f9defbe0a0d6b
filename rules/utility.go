package rules

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeUtility fills f for DDL, privilege, transaction-control and
// utility statements, and reports whether n was one of them.
func analyzeUtility(n *pg_query.Node, f *Facts) bool {
	budget := maxCodeStatements
	return utilityAt(n, f, codeScope{budget: &budget})
}

// utilityAt is analyzeUtility for a statement that may sit inside code
// (a DO block, a function body): scope bounds how far that nests.
//
// Every statement type of the grammar is decided here, explicitly. Left
// out, and so unknown (blocked in guarded profiles): CREATE and ALTER
// SUBSCRIPTION, which copy rows into local tables from another server, out
// of belay's sight; and the nodes that are never top-level statements
// (RETURN and PL/pgSQL assignments, set operations, replica identity).
func utilityAt(n *pg_query.Node, f *Facts, scope codeScope) bool {
	a := &ua{f: f, scope: scope}
	switch x := n.GetNode().(type) {
	// Transaction control.
	case *pg_query.Node_TransactionStmt:
		a.analyzeTransaction(x.TransactionStmt)
	case *pg_query.Node_ConstraintsSetStmt:
		f.Kind = KindTransaction

	// Session state.
	case *pg_query.Node_VariableSetStmt:
		a.analyzeSet(x.VariableSetStmt)
	case *pg_query.Node_VariableShowStmt:
		f.Kind = KindRead
	case *pg_query.Node_DiscardStmt:
		f.Kind = KindUtility
		// DISCARD ALL deallocates prepared statements; DISCARD PLANS only
		// drops cached plans: the statements stay and can be executed.
		if x.DiscardStmt.GetTarget() == pg_query.DiscardMode_DISCARD_ALL {
			f.Prepared = &PreparedRef{Op: DeallocateAllOp}
		}
	case *pg_query.Node_ListenStmt, *pg_query.Node_UnlistenStmt, *pg_query.Node_NotifyStmt,
		*pg_query.Node_LoadStmt, *pg_query.Node_CheckPointStmt, *pg_query.Node_ClosePortalStmt:
		f.Kind = KindUtility
	case *pg_query.Node_AlterSystemStmt:
		a.analyzeAlterSystem(x.AlterSystemStmt)

	// Cursors.
	case *pg_query.Node_DeclareCursorStmt:
		a.analyzeDeclare(x.DeclareCursorStmt)
	case *pg_query.Node_FetchStmt: // FETCH and MOVE
		f.Kind = KindRead

	// Maintenance and locks.
	case *pg_query.Node_VacuumStmt:
		a.analyzeVacuum(x.VacuumStmt)
	case *pg_query.Node_ClusterStmt:
		a.analyzeCluster(x.ClusterStmt)
	case *pg_query.Node_ReindexStmt:
		a.analyzeReindex(x.ReindexStmt)
	case *pg_query.Node_LockStmt:
		a.analyzeLock(x.LockStmt)
	case *pg_query.Node_RefreshMatViewStmt:
		a.analyzeRefresh(x.RefreshMatViewStmt)

	// Statements that move rows or run code.
	case *pg_query.Node_CopyStmt:
		a.analyzeCopy(x.CopyStmt)
	case *pg_query.Node_CreateTableAsStmt:
		a.analyzeCreateTableAs(x.CreateTableAsStmt)
	case *pg_query.Node_DoStmt:
		a.analyzeDo(x.DoStmt)
	case *pg_query.Node_CallStmt:
		a.analyzeCall(x.CallStmt)

	// Tables and other relations.
	case *pg_query.Node_CreateStmt:
		a.analyzeCreateTable(x.CreateStmt)
	case *pg_query.Node_CreateForeignTableStmt:
		a.analyzeCreateTable(x.CreateForeignTableStmt.GetBaseStmt())
	case *pg_query.Node_AlterTableStmt:
		a.analyzeAlterTable(x.AlterTableStmt)
	case *pg_query.Node_AlterTableMoveAllStmt:
		a.analyzeMoveAll(x.AlterTableMoveAllStmt)
	case *pg_query.Node_IndexStmt:
		a.analyzeIndex(x.IndexStmt)
	case *pg_query.Node_DropStmt:
		a.analyzeDrop(x.DropStmt)
	case *pg_query.Node_TruncateStmt:
		a.analyzeTruncate(x.TruncateStmt)
	case *pg_query.Node_RuleStmt:
		a.analyzeRule(x.RuleStmt)
	case *pg_query.Node_ViewStmt:
		lock := ""
		if x.ViewStmt.GetReplace() {
			lock = lockAccessExclusive
		}
		a.analyzeRelationDDL(x.ViewStmt.GetView(), lock)
	case *pg_query.Node_CreateTrigStmt:
		a.analyzeRelationDDL(x.CreateTrigStmt.GetRelation(), lockShareRowExclusive)
	case *pg_query.Node_CreatePolicyStmt:
		a.analyzeRelationDDL(x.CreatePolicyStmt.GetTable(), lockAccessExclusive)
	case *pg_query.Node_AlterPolicyStmt:
		a.analyzeRelationDDL(x.AlterPolicyStmt.GetTable(), lockAccessExclusive)
	case *pg_query.Node_CreateSeqStmt:
		a.analyzeRelationDDL(x.CreateSeqStmt.GetSequence(), "")
	case *pg_query.Node_AlterSeqStmt:
		a.analyzeRelationDDL(x.AlterSeqStmt.GetSequence(), lockShareRowExclusive)
	case *pg_query.Node_CreateStatsStmt:
		f.Kind = KindDDL
		for _, r := range x.CreateStatsStmt.GetRelations() {
			a.analyzeRelationDDL(r.GetRangeVar(), lockShareUpdateExclusive)
		}
		a.useObject(utilStrings(x.CreateStatsStmt.GetDefnames()))
	case *pg_query.Node_AlterStatsStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterStatsStmt.GetDefnames()))

	// Renames, moves, comments, labels, dependencies.
	case *pg_query.Node_RenameStmt:
		a.analyzeRename(x.RenameStmt)
	case *pg_query.Node_AlterObjectSchemaStmt:
		a.analyzeSetSchema(x.AlterObjectSchemaStmt)
	case *pg_query.Node_CommentStmt:
		a.analyzeComment(x.CommentStmt.GetObjtype(), x.CommentStmt.GetObject())
	case *pg_query.Node_SecLabelStmt:
		a.analyzeComment(x.SecLabelStmt.GetObjtype(), x.SecLabelStmt.GetObject())
	case *pg_query.Node_AlterObjectDependsStmt:
		f.Kind = KindDDL
		a.useRel(x.AlterObjectDependsStmt.GetRelation(), AccessDDL)
		a.useNamed(x.AlterObjectDependsStmt.GetObjectType(), x.AlterObjectDependsStmt.GetObject())

	// Functions and code.
	case *pg_query.Node_CreateFunctionStmt:
		a.analyzeCreateFunction(x.CreateFunctionStmt)
	case *pg_query.Node_AlterFunctionStmt:
		a.analyzeAlterFunction(x.AlterFunctionStmt)
	case *pg_query.Node_CreatePlangStmt, *pg_query.Node_CreateTransformStmt, *pg_query.Node_CreateCastStmt:
		f.Kind = KindDDL
	case *pg_query.Node_CreateEventTrigStmt:
		f.Kind = KindDDL
	case *pg_query.Node_AlterEventTrigStmt:
		a.analyzeAlterEventTrigger(x.AlterEventTrigStmt)

	// Types, domains, operators, text search and other named objects.
	case *pg_query.Node_DefineStmt:
		a.analyzeNamedDDL(utilStrings(x.DefineStmt.GetDefnames()))
	case *pg_query.Node_CompositeTypeStmt:
		rv := x.CompositeTypeStmt.GetTypevar()
		a.analyzeNamedDDL([]string{rv.GetSchemaname(), rv.GetRelname()})
	case *pg_query.Node_CreateEnumStmt:
		a.analyzeNamedDDL(utilStrings(x.CreateEnumStmt.GetTypeName()))
	case *pg_query.Node_CreateRangeStmt:
		a.analyzeNamedDDL(utilStrings(x.CreateRangeStmt.GetTypeName()))
	case *pg_query.Node_AlterEnumStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterEnumStmt.GetTypeName()))
	case *pg_query.Node_AlterTypeStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterTypeStmt.GetTypeName()))
	case *pg_query.Node_CreateDomainStmt:
		a.analyzeNamedDDL(utilStrings(x.CreateDomainStmt.GetDomainname()))
	case *pg_query.Node_AlterDomainStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterDomainStmt.GetTypeName()))
	case *pg_query.Node_AlterOperatorStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterOperatorStmt.GetOpername().GetObjname()))
	case *pg_query.Node_AlterCollationStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterCollationStmt.GetCollname()))
	case *pg_query.Node_CreateConversionStmt:
		a.analyzeNamedDDL(utilStrings(x.CreateConversionStmt.GetConversionName()))
	case *pg_query.Node_CreateOpClassStmt:
		a.analyzeNamedDDL(utilStrings(x.CreateOpClassStmt.GetOpclassname()))
	case *pg_query.Node_CreateOpFamilyStmt:
		a.analyzeNamedDDL(utilStrings(x.CreateOpFamilyStmt.GetOpfamilyname()))
	case *pg_query.Node_AlterOpFamilyStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterOpFamilyStmt.GetOpfamilyname()))
	case *pg_query.Node_AlterTsdictionaryStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterTsdictionaryStmt.GetDictname()))
	case *pg_query.Node_AlterTsconfigurationStmt:
		a.analyzeNamedDDL(utilStrings(x.AlterTsconfigurationStmt.GetCfgname()))
	case *pg_query.Node_CreateAmStmt:
		f.Kind = KindDDL

	// Schemas, extensions, foreign data.
	case *pg_query.Node_CreateSchemaStmt:
		a.analyzeCreateSchema(x.CreateSchemaStmt)
	case *pg_query.Node_CreateExtensionStmt:
		a.analyzeCreateExtension(x.CreateExtensionStmt)
	case *pg_query.Node_AlterExtensionStmt, *pg_query.Node_AlterExtensionContentsStmt,
		*pg_query.Node_CreateFdwStmt, *pg_query.Node_AlterFdwStmt,
		*pg_query.Node_CreateForeignServerStmt, *pg_query.Node_AlterForeignServerStmt,
		*pg_query.Node_CreateUserMappingStmt, *pg_query.Node_AlterUserMappingStmt, *pg_query.Node_DropUserMappingStmt:
		f.Kind = KindDDL
	case *pg_query.Node_ImportForeignSchemaStmt:
		f.Kind = KindDDL
		a.useSchema(x.ImportForeignSchemaStmt.GetLocalSchema())

	// Databases, tablespaces, replication.
	case *pg_query.Node_CreatedbStmt, *pg_query.Node_AlterDatabaseStmt, *pg_query.Node_AlterDatabaseRefreshCollStmt,
		*pg_query.Node_CreateTableSpaceStmt, *pg_query.Node_DropTableSpaceStmt, *pg_query.Node_AlterTableSpaceOptionsStmt,
		*pg_query.Node_CreatePublicationStmt, *pg_query.Node_AlterPublicationStmt, *pg_query.Node_DropSubscriptionStmt:
		f.Kind = KindDDL
	case *pg_query.Node_AlterDatabaseSetStmt:
		a.analyzeDatabaseSet(x.AlterDatabaseSetStmt)
	case *pg_query.Node_DropdbStmt:
		a.analyzeDropDatabase(x.DropdbStmt)

	// Roles and privileges.
	case *pg_query.Node_GrantStmt:
		a.analyzeGrant(x.GrantStmt)
	case *pg_query.Node_AlterDefaultPrivilegesStmt:
		a.analyzeDefaultPrivileges(x.AlterDefaultPrivilegesStmt)
	case *pg_query.Node_GrantRoleStmt, *pg_query.Node_CreateRoleStmt, *pg_query.Node_AlterRoleStmt,
		*pg_query.Node_DropRoleStmt, *pg_query.Node_ReassignOwnedStmt:
		f.Kind = KindPrivilege
	case *pg_query.Node_AlterRoleSetStmt:
		a.analyzeRoleSet(x.AlterRoleSetStmt)
	case *pg_query.Node_AlterOwnerStmt:
		a.analyzeOwner(x.AlterOwnerStmt)
	case *pg_query.Node_DropOwnedStmt:
		a.analyzeDropOwned(x.DropOwnedStmt)

	default:
		return false
	}
	return true
}
