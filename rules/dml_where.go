package rules

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// checkWhere applies no-where and constant-where to an UPDATE or DELETE:
// verb is the statement, joinWord the keyword of its extra FROM items
// (UPDATE … FROM, DELETE … USING), joined those items.
//
// A WHERE restricts the target only if it can tell its rows apart, that
// is if it mentions one of its columns. So besides a missing WHERE,
// no-where fires on a WHERE that mentions no column of the target and is
// not a constant (constants are constant-where's): `DELETE FROM t USING u
// WHERE u.id = 1` and `DELETE FROM t WHERE EXISTS (SELECT 1 FROM u)` reach
// every row of t, or none. An unqualified column may be the target's:
// it counts as mentioning it, so that no-where never fires on a WHERE that
// restricts.
func (s *dmlScan) checkWhere(verb, joinWord string, rel *pg_query.RangeVar, joined []*pg_query.Node, where *pg_query.Node) {
	if rel == nil {
		return
	}
	target := TableUse{Schema: rel.GetSchemaname(), Name: rel.GetRelname()}.QualifiedName()
	if where == nil {
		s.findings = append(s.findings, Finding{Rule: RuleNoWhere, Target: target,
			Detail: verb + " without WHERE reaches every row of " + target})
		return
	}
	if where.GetCurrentOfExpr() != nil {
		return // WHERE CURRENT OF: one row, the cursor's
	}
	v := s.fold.truth(where)
	switch {
	case v.isTrue():
		s.findings = append(s.findings, Finding{Rule: RuleConstantWhere, Target: target,
			Detail: verb + " whose WHERE is true for every row reaches every row of " + target})
	case v.constant():
		// false, NULL or a constant belay does not compute: no row, or
		// for constant-where to judge; never "unrestricted".
	case !mentionsTarget(where, rel, joined):
		what := verb
		if len(joined) > 0 {
			what += " … " + joinWord
		}
		s.findings = append(s.findings, Finding{Rule: RuleNoWhere, Target: target,
			Detail: what + " whose WHERE mentions no column of " + target + " reaches every row of it"})
	}
}

// mentionsTarget reports whether where refers, or may refer, to a column
// of the target rel.
func mentionsTarget(where *pg_query.Node, rel *pg_query.RangeVar, joined []*pg_query.Node) bool {
	self := map[string]bool{rel.GetRelname(): true}
	if a := rel.GetAlias().GetAliasname(); a != "" {
		self[a] = true
	}
	// Names of the other FROM items, in the statement and in the WHERE's
	// subqueries: a column qualified with one of them is not the target's.
	others := map[string]bool{}
	collect := func(m protoreflect.Message) bool {
		switch x := m.Interface().(type) {
		case *pg_query.RangeVar:
			others[refName(x)] = true
		case *pg_query.Alias:
			others[x.GetAliasname()] = true
		case *pg_query.CommonTableExpr:
			others[x.GetCtename()] = true
		}
		return true
	}
	for _, j := range joined {
		walk(j.ProtoReflect(), collect)
	}
	walk(where.ProtoReflect(), collect)

	found := false
	walk(where.ProtoReflect(), func(m protoreflect.Message) bool {
		cr, ok := m.Interface().(*pg_query.ColumnRef)
		if !ok {
			return !found
		}
		fields := cr.GetFields()
		if len(fields) < 2 {
			found = true // unqualified: may be the target's
			return false
		}
		q := fields[len(fields)-2].GetString_().GetSval()
		if self[q] || !others[q] {
			found = true // the target's, or a composite column's field
		}
		return false
	})
	return found
}

// checkMerge reports every MERGE, with what it does, and a MERGE whose ON
// condition is constant-true (each source row matches every target row).
func (s *dmlScan) checkMerge(x *pg_query.MergeStmt) {
	rel := x.GetRelation()
	target := TableUse{Schema: rel.GetSchemaname(), Name: rel.GetRelname()}.QualifiedName()
	on := s.fold.truth(x.GetJoinCondition())
	var actions []string
	for _, n := range x.GetMergeWhenClauses() {
		if w := n.GetMergeWhenClause(); w != nil {
			actions = append(actions, mergeAction(w))
		}
	}
	detail := "MERGE into " + target
	switch {
	case on.isTrue():
		detail += " with an ON condition true for every row"
		s.findings = append(s.findings, Finding{Rule: RuleConstantWhere, Target: target,
			Detail: "MERGE whose ON condition is true for every row matches every row of " + target})
	case on.kind == cBool || on.kind == cNull:
		detail += " with an ON condition that matches no row"
	}
	if len(actions) > 0 {
		detail += ": " + strings.Join(actions, ", ")
	}
	s.findings = append(s.findings, Finding{Rule: RuleMerge, Target: target, Detail: detail})
}

func mergeAction(w *pg_query.MergeWhenClause) string {
	var b strings.Builder
	switch w.GetMatchKind() {
	case pg_query.MergeMatchKind_MERGE_WHEN_MATCHED:
		b.WriteString("WHEN MATCHED")
	case pg_query.MergeMatchKind_MERGE_WHEN_NOT_MATCHED_BY_SOURCE:
		b.WriteString("WHEN NOT MATCHED BY SOURCE")
	default:
		b.WriteString("WHEN NOT MATCHED")
	}
	if w.GetCondition() != nil {
		b.WriteString(" AND …")
	}
	switch w.GetCommandType() {
	case pg_query.CmdType_CMD_UPDATE:
		b.WriteString(" THEN UPDATE")
	case pg_query.CmdType_CMD_DELETE:
		b.WriteString(" THEN DELETE")
	case pg_query.CmdType_CMD_INSERT:
		b.WriteString(" THEN INSERT")
	default:
		b.WriteString(" THEN DO NOTHING")
	}
	return b.String()
}
