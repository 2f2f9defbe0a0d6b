package rules

import (
	"strings"
	"sync"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeDo: a DO block runs code whose writes belay sees only when they
// happen. Its PL/pgSQL body is parsed and every statement in it checked,
// so a DELETE without WHERE inside still fires no-where.
func (a *ua) analyzeDo(s *pg_query.DoStmt) {
	a.f.Kind = KindUtility
	a.f.MayWrite = true
	a.f.LiteralSensitive = true // the body is a literal the shape cuts out
	lang, body := "plpgsql", ""
	for _, d := range utilDefElems(s.GetArgs()) {
		switch d.Defname {
		case "language":
			lang = utilConstString(d.Arg)
		case "as":
			body = utilConstString(d.Arg)
		}
	}
	if !strings.EqualFold(lang, "plpgsql") {
		a.find(RuleOpaqueCode, "", "DO block in a language other than PL/pgSQL cannot be checked")
		return
	}
	st := a.checkPlpgsql(plInline(body), "inside DO", true)
	a.notChecked(st, "the body", "of DO", true)
	// Last: finishFacts keeps one finding per rule and target, and a more
	// precise one found above (dynamic SQL) should be the one kept.
	a.find(RuleOpaqueCode, "", "DO block runs procedural code: its statements are checked, but what it writes is known only when it runs")
}

// analyzeCall: CALL runs a procedure, whose effect the text does not show.
func (a *ua) analyzeCall(s *pg_query.CallStmt) {
	a.f.Kind = KindUtility
	a.f.MayWrite = true
	name := utilJoin(utilStrings(s.GetFunccall().GetFuncname()))
	if name != "" {
		a.function(name)
	}
	a.find(RuleOpaqueCode, name, "CALL runs procedure "+name+", whose effect cannot be seen from the statement")
}

// analyzeCreateFunction: creating a function runs nothing, but its body is
// checked now, so a function that would DELETE without WHERE is caught
// when it is written rather than when some later statement calls it.
func (a *ua) analyzeCreateFunction(s *pg_query.CreateFunctionStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	a.f.LiteralSensitive = true // the body is a literal the shape cuts out
	parts := utilStrings(s.Funcname)
	a.useObject(parts)
	fn := utilJoin(parts)
	a.checkFunctionSet(s.Options, fn)
	what := "function " + fn
	if s.IsProcedure {
		what = "procedure " + fn
	}
	context := "inside " + what
	if s.SqlBody != nil {
		a.checkAtomicBody(s.SqlBody, context)
		return
	}
	lang, body := utilFunctionCode(s.Options)
	var st textStatus
	switch strings.ToLower(lang) {
	case "sql":
		st = a.checkText(body, context, false)
	case "plpgsql":
		fn, ok := plDeclared(s, body)
		if !ok {
			st = textUnparsable
			break
		}
		st = a.checkPlpgsql(fn, context, false)
	}
	a.notChecked(st, "the body", "of "+what, false)
}

// utilFunctionCode reads LANGUAGE and AS from a function's options. AS holds
// the body, or for C functions the library and symbol.
func utilFunctionCode(opts []*pg_query.Node) (lang, body string) {
	for _, d := range utilDefElems(opts) {
		switch d.Defname {
		case "language":
			lang = utilConstString(d.Arg)
		case "as":
			if l := d.Arg.GetList(); l != nil {
				if len(l.Items) > 0 {
					body = utilConstString(l.Items[0])
				}
			} else {
				body = utilConstString(d.Arg)
			}
		}
	}
	return lang, body
}

// checkAtomicBody checks a BEGIN ATOMIC … END body or a RETURN expression,
// which the parser has already put in the tree.
func (a *ua) checkAtomicBody(body *pg_query.Node, context string) {
	var stmts []*pg_query.Node
	if l := body.GetList(); l != nil {
		for _, it := range l.Items {
			if inner := it.GetList(); inner != nil {
				stmts = append(stmts, inner.Items...)
			} else {
				stmts = append(stmts, it)
			}
		}
	} else {
		stmts = append(stmts, body)
	}
	for _, st := range stmts {
		if st.GetReturnStmt() != nil || st.GetNode() == nil {
			continue // RETURN expr: an expression, no statement to check
		}
		// The outer statement (DDL) does not scan its tree for function
		// calls, so the body gets the full treatment of a statement.
		in := utilNestedFacts(st, a.scope.deeper(), true)
		a.merge(&in, context, false)
	}
}

// analyzeAlterFunction: ALTER FUNCTION … SET stores settings the function
// runs with.
func (a *ua) analyzeAlterFunction(s *pg_query.AlterFunctionStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	parts := utilStrings(s.GetFunc().GetObjname())
	a.useObject(parts)
	a.checkFunctionSet(s.Actions, utilJoin(parts))
}

// utilDeparse turns one statement back into text (the PL/pgSQL parser
// takes a whole CREATE FUNCTION, whose signature declares the parameters
// and, for triggers, NEW and OLD).
func utilDeparse(n *pg_query.Node) (string, bool) {
	v := utilTreeVersion()
	if v == 0 || n == nil {
		return "", false
	}
	text, err := pg_query.Deparse(&pg_query.ParseResult{Version: v, Stmts: []*pg_query.RawStmt{{Stmt: n}}})
	return text, err == nil
}

// utilTreeVersion is the parse tree version libpg_query expects back.
var utilTreeVersion = sync.OnceValue(func() int32 {
	tree, err := pg_query.Parse("SELECT 1")
	if err != nil {
		return 0
	}
	return tree.Version
})
