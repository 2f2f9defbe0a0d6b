package rules

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Code bodies (DO blocks, function bodies) hold SQL in literals, which
// belay parses and checks in turn. Each level re-parses its text, so the
// nesting and the number of statements checked are bounded.
const (
	maxCodeDepth      = 8
	maxCodeStatements = 2000
)

// codeScope is shared by one top-level statement and the code nested in it.
type codeScope struct {
	depth  int
	budget *int // statements left to check, shared across levels
}

func (s codeScope) deeper() codeScope { return codeScope{depth: s.depth + 1, budget: s.budget} }

// treeFacts analyses a statement nested in the parse tree of the one being
// analysed (CREATE TABLE AS's query, COPY's query, CREATE SCHEMA's
// elements). finishFacts runs on the outer statement, whose tree holds
// this one, so it is not run here too.
func (a *ua) treeFacts(n *pg_query.Node) Facts { return utilNestedFacts(n, a.scope, false) }

// utilNestedFacts is analyzeNode for a nested statement. finish runs
// finishFacts, for statements the outer one does not scan: those parsed out
// of a code body (nothing of them is in the outer tree) and BEGIN ATOMIC
// bodies (DDL, whose tree finishFacts leaves alone).
func utilNestedFacts(n *pg_query.Node, scope codeScope, finish bool) Facts {
	var f Facts
	switch {
	case analyzeDML(n, &f):
	case utilityAt(n, &f, scope):
	default:
		f.Kind = KindUnknown
		f.Findings = append(f.Findings, Finding{Rule: RuleUnknownStatement, Detail: "statement type " + nodeTypeName(n) + " is not known to belay"})
	}
	if finish {
		finishFacts(n, &f)
	}
	return f
}

// textStatus says why SQL text from a code body was not checked.
type textStatus uint8

const (
	textChecked    textStatus = iota
	textUnparsable            // the parser rejects it; PostgreSQL will too
	textTooComplex            // too deep, too many statements, or nested too far
)

// checkText parses SQL found in a literal and merges each statement's
// facts into a's, their details prefixed with context ("inside DO").
// runsNow says whether the statements run as part of this one (DO) or
// later (a function body): only then do their tables and writes count.
func (a *ua) checkText(sql, context string, runsNow bool) textStatus {
	if a.scope.depth >= maxCodeDepth {
		return textTooComplex
	}
	if st := utilTextSafe(sql); st != textChecked {
		return st
	}
	tree, err := pg_query.Parse(sql)
	if err != nil || tree == nil {
		return textUnparsable
	}
	for _, raw := range tree.Stmts {
		if raw == nil || raw.Stmt == nil {
			continue
		}
		if *a.scope.budget <= 0 {
			return textTooComplex
		}
		*a.scope.budget--
		in := utilNestedFacts(raw.Stmt, a.scope.deeper(), true)
		a.merge(&in, context, runsNow)
	}
	return textChecked
}

// utilTextSafe applies to text from a literal the caps the relay applies
// to a whole query string: the lexer's view of a literal is one token, so
// what nests inside it was not measured.
func utilTextSafe(sql string) textStatus {
	var sc Scratch
	sh, ok := MakeShape([]byte(sql), &sc)
	switch {
	case ok && sh.TooDeep:
		return textTooComplex
	case !ok && len(sql) > maxUnshapedBytes:
		return textUnparsable
	}
	return textChecked
}

// merge adds a nested statement's facts to a's. Code that runs later (a
// function body) keeps its findings but not opaque-code: a call of a
// function not known read-only, or a CALL, in a body is opaque when the
// function itself is called, which is opaque-code there already.
func (a *ua) merge(in *Facts, context string, runsNow bool) {
	for _, x := range in.Findings {
		if !runsNow && x.Rule == RuleOpaqueCode {
			continue
		}
		d := x.Detail
		if context != "" {
			d = context + ": " + d
		}
		a.find(x.Rule, x.Target, d)
	}
	a.f.LiteralSensitive = a.f.LiteralSensitive || in.LiteralSensitive
	if !runsNow {
		return
	}
	for _, t := range in.Tables {
		a.use(t.Schema, t.Name, t.Access)
	}
	for _, fn := range in.Functions {
		a.function(fn)
	}
	a.f.MayWrite = a.f.MayWrite || in.MayWrite
	raiseLock(a.f, in.LockLevel)
}

// function records a function called, once.
func (a *ua) function(name string) {
	for _, x := range a.f.Functions {
		if x == name {
			return
		}
	}
	a.f.Functions = append(a.f.Functions, name)
}

// notChecked reports code belay could not look into. Code that runs now (a
// DO block) fails closed: unparsable or too-complex, belay blocks what it
// cannot read. A function body only earns opaque-code: creating the
// function runs nothing, and calling it is opaque anyway.
func (a *ua) notChecked(st textStatus, what, context string, runsNow bool) {
	var rule RuleID
	var why string
	switch st {
	case textTooComplex:
		rule, why = RuleTooComplex, " is nested too deeply or too long for belay to check"
	case textUnparsable:
		rule, why = RuleUnparsable, " could not be parsed by belay and was not checked"
	default:
		return
	}
	if !runsNow {
		rule = RuleOpaqueCode
	}
	a.find(rule, "", what+" "+context+why)
}
