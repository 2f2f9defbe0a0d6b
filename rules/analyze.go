package rules

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Analyzed is one statement of a query string with its facts.
type Analyzed struct {
	Facts
	// Text is the statement as written; Offset its byte offset in the
	// query string (for lint's file:line:col).
	Text   string
	Offset int
}

// Analyze parses sql and returns the facts of each statement. Callers on
// untrusted input must apply the caps first (MakeShape's TooDeep,
// maxUnshapedBytes): deeply nested text can overflow the parser's stack.
func Analyze(sql string) ([]Analyzed, *ParseError) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, parseError(err)
	}
	out := make([]Analyzed, 0, len(tree.Stmts))
	for _, raw := range tree.Stmts {
		start := int(raw.StmtLocation)
		end := len(sql)
		if raw.StmtLen > 0 {
			end = start + int(raw.StmtLen)
		}
		out = append(out, Analyzed{Facts: analyzeNode(raw.Stmt), Text: sql[start:end], Offset: start})
	}
	return out, nil
}

// analyzeNode classifies one statement's parse tree. DML and expressions
// are in dml.go, DDL and utility statements in utility.go; a statement
// neither knows is unknown, and unknown is blocked in guarded profiles.
func analyzeNode(n *pg_query.Node) Facts {
	var f Facts
	switch {
	case analyzeDML(n, &f):
	case analyzeUtility(n, &f):
	default:
		f.Kind = KindUnknown
		f.Findings = append(f.Findings, Finding{Rule: RuleUnknownStatement, Detail: "statement type " + nodeTypeName(n) + " is not known to belay"})
	}
	finishFacts(n, &f)
	return f
}

// nodeTypeName is the parse tree's name for a statement type ("VacuumStmt").
func nodeTypeName(n *pg_query.Node) string {
	if n == nil || n.Node == nil {
		return "empty"
	}
	return string(n.ProtoReflect().WhichOneof(n.ProtoReflect().Descriptor().Oneofs().Get(0)).Message().Name())
}
