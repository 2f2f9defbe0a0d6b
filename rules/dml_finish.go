package rules

import (
	"sort"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// finishFacts runs the checks that apply to every statement whatever its
// kind: function calls anywhere in the tree, writes to the protected
// schema. It also drops repeated findings (same rule and target), so that
// a rule found both by the statement's analyzer and here is reported once.
func finishFacts(n *pg_query.Node, f *Facts) {
	if evaluatesExpressions(n, f.Kind) {
		scanFunctions(n, f)
	}
	for _, t := range f.Tables {
		if isProtectedSchema(t.Schema) && t.Access != AccessRead {
			f.Findings = append(f.Findings, Finding{Rule: RuleProtectedSchema, Target: t.QualifiedName(),
				Detail: accessVerb(t.Access) + " " + t.QualifiedName() + ", in belay's own schema"})
		}
	}
	for _, fn := range f.Functions {
		if schema, _, ok := strings.Cut(fn, "."); ok && isProtectedSchema(schema) {
			f.Findings = append(f.Findings, Finding{Rule: RuleProtectedSchema, Target: fn,
				Detail: "calls " + fn + ", one of belay's own functions"})
		}
	}
	f.Findings = dedupeFindings(f.Findings)
}

func accessVerb(a Access) string {
	switch a {
	case AccessWrite:
		return "writes to"
	case AccessDDL:
		return "changes the definition of"
	case AccessLock:
		return "locks"
	}
	return "touches"
}

// evaluatesExpressions reports whether the statement itself evaluates the
// expressions in its tree. DDL only stores them (a column DEFAULT, a
// function body, a view, a policy, a trigger's arguments): nextval in
// CREATE TABLE … DEFAULT runs later, on INSERT, and is seen then. But
// CREATE TABLE AS and SELECT INTO run their query now. EXPLAIN and PREPARE
// have their statement analysed on its own (EXPLAIN without ANALYZE runs
// nothing).
func evaluatesExpressions(n *pg_query.Node, k Kind) bool {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_ExplainStmt, *pg_query.Node_PrepareStmt:
		return false
	case *pg_query.Node_SelectStmt:
		return true
	case *pg_query.Node_CreateTableAsStmt:
		return !x.CreateTableAsStmt.GetInto().GetSkipData() // WITH NO DATA runs nothing
	case *pg_query.Node_CreateFunctionStmt, *pg_query.Node_AlterFunctionStmt, *pg_query.Node_ViewStmt,
		*pg_query.Node_RuleStmt, *pg_query.Node_CreateTrigStmt, *pg_query.Node_CreatePolicyStmt,
		*pg_query.Node_AlterPolicyStmt, *pg_query.Node_CreateStmt, *pg_query.Node_CreateForeignTableStmt,
		*pg_query.Node_AlterTableStmt, *pg_query.Node_IndexStmt, *pg_query.Node_CreateDomainStmt,
		*pg_query.Node_AlterDomainStmt, *pg_query.Node_CreateStatsStmt, *pg_query.Node_DefineStmt:
		return false // whatever Kind the utility analyzer gave them
	}
	return k != KindDDL
}

type funcCall struct {
	name string
	loc  int32
}

// scanFunctions records every function the statement calls, and the
// findings of calls that may write, change replication role or run SQL
// elsewhere.
func scanFunctions(n *pg_query.Node, f *Facts) {
	var calls []funcCall
	seen := map[string]bool{}
	walk(n.ProtoReflect(), func(m protoreflect.Message) bool {
		switch x := m.Interface().(type) {
		case *pg_query.CallStmt:
			// CALL's procedure is the utility analyzer's (opaque-code for
			// CALL); its arguments are evaluated here like any expression.
			for _, a := range x.GetFunccall().GetArgs() {
				walk(a.ProtoReflect(), func(c protoreflect.Message) bool { return visitCall(c, f, &calls, seen) })
			}
			return false
		}
		return visitCall(m, f, &calls, seen)
	})
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].loc < calls[j].loc })
	for _, c := range calls {
		f.Functions = appendUnique(f.Functions, c.name)
	}
}

// visitCall checks one FuncCall; it returns true to go on into the tree.
func visitCall(m protoreflect.Message, f *Facts, calls *[]funcCall, seen map[string]bool) bool {
	fc, ok := m.Interface().(*pg_query.FuncCall)
	if !ok {
		return true
	}
	var parts []string
	for _, p := range fc.GetFuncname() {
		parts = append(parts, p.GetString_().GetSval())
	}
	parts = functionParts(parts, fc.GetFuncformat() == pg_query.CoercionForm_COERCE_SQL_SYNTAX)
	name := strings.Join(parts, ".")
	if !seen[name] {
		seen[name] = true
		*calls = append(*calls, funcCall{name: name, loc: fc.GetLocation()})
	}
	if !readOnlyFunction(parts) {
		f.MayWrite = true
		f.Findings = append(f.Findings, Finding{Rule: RuleOpaqueCode, Target: name,
			Detail: "function " + name + " is not known to be read-only; its effect cannot be seen from the text"})
	}
	if isDblink(parts) {
		f.Findings = append(f.Findings, Finding{Rule: RuleDblinkExec, Target: name,
			Detail: name + " runs SQL on another connection, where belay cannot see it"})
	}
	if catalogName(parts) == "set_config" {
		checkSetConfig(fc, f)
	}
	return true
}

// checkSetConfig fires replication-role on set_config of
// session_replication_role, which with 'replica' turns off triggers and
// foreign-key checks. The setting's name is a literal the cache's shape
// cuts out, so such facts are literal-sensitive. A name that is not a
// literal (a parameter, an expression) cannot be known: the call is
// opaque-code anyway.
func checkSetConfig(fc *pg_query.FuncCall, f *Facts) {
	var setting *pg_query.Node
	for i, a := range fc.GetArgs() {
		if na := a.GetNamedArgExpr(); na != nil {
			if na.GetName() == "setting_name" {
				setting = na.GetArg()
			}
			continue
		}
		if i == 0 {
			setting = a
		}
	}
	for setting.GetTypeCast() != nil {
		setting = setting.GetTypeCast().GetArg()
	}
	c := setting.GetAConst()
	if c == nil {
		return
	}
	f.LiteralSensitive = true
	if strings.EqualFold(c.GetSval().GetSval(), "session_replication_role") {
		f.Findings = append(f.Findings, Finding{Rule: RuleReplicationRole, Target: "session_replication_role",
			Detail: "set_config changes session_replication_role, which can turn off triggers and foreign-key checks"})
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// dedupeFindings keeps the first finding of each rule and target.
func dedupeFindings(in []Finding) []Finding {
	type key struct {
		rule   RuleID
		target string
	}
	seen := make(map[key]bool, len(in))
	out := in[:0]
	for _, fd := range in {
		k := key{fd.Rule, fd.Target}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, fd)
	}
	return out
}
