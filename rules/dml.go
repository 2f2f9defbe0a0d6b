package rules

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeDML fills f for SELECT, INSERT, UPDATE, DELETE, MERGE, EXPLAIN,
// PREPARE, EXECUTE and DEALLOCATE, and reports whether n was one of them.
func analyzeDML(n *pg_query.Node, f *Facts) bool {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_MergeStmt:
		analyzeQuery(n, f)
	case *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
		analyzeQuery(n, f)
		f.Estimable = true
	case *pg_query.Node_ExplainStmt:
		analyzeExplain(x.ExplainStmt, f)
	case *pg_query.Node_PrepareStmt:
		// PREPARE runs nothing, but its facts are what EXECUTE will do.
		*f = analyzeNode(x.PrepareStmt.GetQuery())
		f.Prepared = &PreparedRef{Op: PrepareOp, Name: x.PrepareStmt.GetName()}
	case *pg_query.Node_ExecuteStmt:
		// What EXECUTE does is what was prepared: the session knows.
		f.Kind = KindUtility
		f.Prepared = &PreparedRef{Op: ExecuteOp, Name: x.ExecuteStmt.GetName()}
	case *pg_query.Node_DeallocateStmt:
		f.Kind = KindUtility
		if x.DeallocateStmt.GetIsall() {
			f.Prepared = &PreparedRef{Op: DeallocateAllOp}
		} else {
			f.Prepared = &PreparedRef{Op: DeallocateOp, Name: x.DeallocateStmt.GetName()}
		}
	default:
		return false
	}
	return true
}

// analyzeQuery fills f for a SELECT, INSERT, UPDATE, DELETE or MERGE.
func analyzeQuery(n *pg_query.Node, f *Facts) {
	var s dmlScan
	s.visit(n.ProtoReflect())
	f.Tables = s.tables
	f.Findings = append(f.Findings, s.findings...)
	f.LiteralSensitive = f.LiteralSensitive || s.fold.sensitive
	switch {
	case s.writes:
		f.Kind = KindWrite
	case s.into:
		f.Kind = KindDDL // SELECT … INTO creates a table, as CREATE TABLE AS does
	default:
		f.Kind = KindRead // FOR UPDATE/SHARE too: its tables are AccessLock
	}
}

// analyzeExplain: EXPLAIN ANALYZE runs its statement, so its facts are the
// statement's. Plain EXPLAIN only plans it: a read of its tables.
func analyzeExplain(x *pg_query.ExplainStmt, f *Facts) {
	inner := analyzeNode(x.GetQuery())
	if explainAnalyzes(x) {
		*f = inner
		return
	}
	f.Kind = KindRead
	for _, t := range inner.Tables {
		t.Access = AccessRead
		f.Tables = addTable(f.Tables, t)
	}
}

// explainAnalyzes reports whether any ANALYZE option is on. PostgreSQL
// takes the last one and rejects values it does not know; belay, failing
// closed, takes any that is not plainly off.
func explainAnalyzes(x *pg_query.ExplainStmt) bool {
	for _, o := range x.GetOptions() {
		d := o.GetDefElem()
		if d == nil || d.GetDefname() != "analyze" {
			continue
		}
		switch a := d.GetArg().GetNode().(type) {
		case nil:
			return true // EXPLAIN ANALYZE, EXPLAIN (ANALYZE)
		case *pg_query.Node_String_:
			if v := strings.ToLower(a.String_.GetSval()); v != "false" && v != "off" {
				return true
			}
		case *pg_query.Node_Integer:
			if a.Integer.GetIval() != 0 {
				return true
			}
		case *pg_query.Node_Boolean:
			if a.Boolean.GetBoolval() {
				return true
			}
		default:
			return true
		}
	}
	return false
}
