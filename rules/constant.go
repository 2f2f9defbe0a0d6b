package rules

import (
	"math/big"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The folder evaluates the constant parts of a WHERE (or MERGE ON) on the
// parse tree, to find conditions that hold for every row: `1=1`, `true`,
// `'t'::bool`, `x = x`, `… OR true`. It follows PostgreSQL's three-valued
// logic and its coercion of untyped literals, and says "unknown" whenever
// it is not sure: a constant-where finding must not fire on a condition
// that can be false.

// ckind is what the folder knows about an expression's value.
type ckind uint8

const (
	cVaries ckind = iota // depends on the row, a parameter or a function call
	cOpaque              // constant, but belay does not compute it (a date, a float, a division); may be NULL
	cNull
	cBool
	cNum  // exact number
	cStr  // string literal of unknown type: PostgreSQL types it by context
	cText // text-typed string
)

type cval struct {
	kind ckind
	b    bool
	num  *big.Rat
	s    string
	// lit: the value comes from a number or string literal, which the
	// cache's shape cuts out: a decision that depends on it is
	// literal-sensitive.
	lit bool
}

func (v cval) constant() bool { return v.kind != cVaries }
func (v cval) isTrue() bool   { return v.kind == cBool && v.b }

// folder evaluates expressions; sensitive records that some decision
// depended on a literal's value (`1=1` and `1=2` share a shape).
type folder struct {
	sensitive bool
}

// truth evaluates n where PostgreSQL wants a boolean: an untyped string
// literal there is read as a boolean ('t', 'yes', 'on', …).
func (fo *folder) truth(n *pg_query.Node) cval {
	v := fo.eval(n)
	switch v.kind {
	case cStr, cText:
		fo.noteLiteral(v)
		if b, ok := parseBool(v.s); ok {
			return cval{kind: cBool, b: b, lit: v.lit}
		}
		return cval{kind: cOpaque, lit: v.lit}
	case cNum:
		return cval{kind: cOpaque, lit: v.lit} // PostgreSQL rejects a number as a condition
	}
	return v
}

func (fo *folder) noteLiteral(vs ...cval) {
	for _, v := range vs {
		if v.lit {
			fo.sensitive = true
		}
	}
}

func (fo *folder) eval(n *pg_query.Node) cval {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_AConst:
		return constValue(x.AConst)
	case *pg_query.Node_TypeCast:
		return fo.cast(fo.eval(x.TypeCast.GetArg()), x.TypeCast.GetTypeName())
	case *pg_query.Node_AExpr:
		return fo.aexpr(x.AExpr)
	case *pg_query.Node_BoolExpr:
		return fo.boolExpr(x.BoolExpr)
	case *pg_query.Node_NullTest:
		return fo.nullTest(x.NullTest)
	case *pg_query.Node_BooleanTest:
		return fo.booleanTest(x.BooleanTest)
	case *pg_query.Node_CoalesceExpr:
		for _, a := range x.CoalesceExpr.GetArgs() {
			v := fo.eval(a)
			if v.kind != cNull {
				return v // the first non-NULL constant, or "varies"
			}
		}
		return cval{kind: cNull}
	case *pg_query.Node_CollateClause:
		// A nondeterministic collation can make different strings equal.
		v := fo.eval(x.CollateClause.GetArg())
		if v.constant() && v.kind != cNull {
			return cval{kind: cOpaque, lit: v.lit}
		}
		return v
	}
	return cval{}
}

func opName(names []*pg_query.Node) string {
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1].GetString_().GetSval()
}

func isComparison(op string) bool {
	switch op {
	case "=", "<>", "!=", "<", ">", "<=", ">=":
		return true
	}
	return false
}

func (fo *folder) aexpr(x *pg_query.A_Expr) cval {
	op := opName(x.GetName())
	l, r := x.GetLexpr(), x.GetRexpr()
	switch x.GetKind() {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if l == nil {
			return unary(op, fo.eval(r))
		}
		return fo.binary(op, l, r)
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		return fo.distinct(x.GetKind() == pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT, l, r)
	case pg_query.A_Expr_Kind_AEXPR_IN:
		return fo.in(op, l, r)
	case pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE:
		return fo.like(op, l, r)
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return fo.between(x.GetKind(), l, r)
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL, pg_query.A_Expr_Kind_AEXPR_SIMILAR:
		lv, rv := fo.eval(l), fo.eval(r)
		if !lv.constant() || !rv.constant() {
			return cval{}
		}
		fo.noteLiteral(lv, rv)
		return cval{kind: cOpaque, lit: lv.lit || rv.lit}
	}
	return cval{} // NULLIF can be NULL or not depending on values: treat as varying
}

func unary(op string, v cval) cval {
	switch {
	case !v.constant() || v.kind == cNull:
		return v
	case v.kind == cNum && op == "-":
		return cval{kind: cNum, num: new(big.Rat).Neg(v.num), lit: v.lit}
	case v.kind == cNum && op == "+":
		return v
	}
	return cval{kind: cOpaque, lit: v.lit}
}

// maxNumBits bounds the exact arithmetic: `1e999*1e999*…` must not make
// the folder slow.
const maxNumBits = 4096

func (fo *folder) binary(op string, l, r *pg_query.Node) cval {
	lv, rv := fo.eval(l), fo.eval(r)
	if !lv.constant() || !rv.constant() {
		if isComparison(op) && !lv.constant() && !rv.constant() {
			return fo.sameSides(op, l, r)
		}
		return cval{}
	}
	lit := lv.lit || rv.lit
	if isComparison(op) {
		fo.noteLiteral(lv, rv)
		return compareOp(op, lv, rv)
	}
	if lv.kind == cNull || rv.kind == cNull {
		return cval{kind: cNull, lit: lit}
	}
	if lv.kind == cNum && rv.kind == cNum {
		var z *big.Rat
		switch op {
		case "+":
			z = new(big.Rat).Add(lv.num, rv.num)
		case "-":
			z = new(big.Rat).Sub(lv.num, rv.num)
		case "*":
			z = new(big.Rat).Mul(lv.num, rv.num)
		}
		if z != nil && z.Num().BitLen() <= maxNumBits && z.Denom().BitLen() <= maxNumBits {
			return cval{kind: cNum, num: z, lit: lit}
		}
	}
	return cval{kind: cOpaque, lit: lit}
}

// sameSides decides `x = x`: the same column (or other expression that
// yields one value per row) on both sides. `x = x` holds for every row
// where x is not NULL; belay counts that as every row.
func (fo *folder) sameSides(op string, l, r *pg_query.Node) cval {
	if !fo.same(l, r) {
		return cval{}
	}
	switch op {
	case "=", "<=", ">=":
		return cval{kind: cBool, b: true}
	default:
		return cval{kind: cBool, b: false}
	}
}

// same reports whether l and r are the same per-row expression. When they
// have the same shape and contain literals (`x+1 = x+1` against
// `x+1 = x+2`), the answer depends on the literals' values.
func (fo *folder) same(l, r *pg_query.Node) bool {
	if l == nil || r == nil {
		return false
	}
	lm, rm := l.ProtoReflect(), r.ProtoReflect()
	if !sameTree(lm, rm, true) || !rowStable(l) {
		return false
	}
	if hasLiteral(l) {
		fo.sensitive = true
	}
	return sameTree(lm, rm, false)
}

// rowStable: the expression is built only of columns, parameters,
// literals, casts and operators, so it has one value per row (a function
// call such as random() may not).
func rowStable(n *pg_query.Node) bool {
	if n == nil {
		return false
	}
	ok := true
	walk(n.ProtoReflect(), func(m protoreflect.Message) bool {
		switch m.Descriptor().Name() {
		case "Node", "ColumnRef", "String", "A_Star", "A_Const", "Integer", "Float", "Boolean", "BitString",
			"TypeCast", "TypeName", "A_Expr", "ParamRef", "A_Indirection", "A_Indices", "CollateClause", "List":
			return ok
		}
		ok = false
		return false
	})
	return ok
}

func hasLiteral(n *pg_query.Node) bool {
	found := false
	walk(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if c, isConst := m.Interface().(*pg_query.A_Const); isConst {
			if k := constValue(c); k.lit {
				found = true
			}
		}
		return !found
	})
	return found
}

func (fo *folder) distinct(not bool, l, r *pg_query.Node) cval {
	lv, rv := fo.eval(l), fo.eval(r)
	if !lv.constant() && !rv.constant() && fo.same(l, r) {
		return cval{kind: cBool, b: not}
	}
	if !lv.constant() || !rv.constant() {
		return cval{}
	}
	fo.noteLiteral(lv, rv)
	lit := lv.lit || rv.lit
	var equal bool
	switch {
	case lv.kind == cNull || rv.kind == cNull:
		equal = lv.kind == rv.kind
	case lv.kind == cOpaque || rv.kind == cOpaque:
		return cval{kind: cOpaque, lit: lit}
	default:
		c, known, _ := compareValues(lv, rv)
		if !known {
			return cval{kind: cOpaque, lit: lit}
		}
		equal = c == 0
	}
	return cval{kind: cBool, b: equal == not, lit: lit}
}

// in folds `a IN (b, c)` (op "=") and `a NOT IN (…)` (op "<>").
func (fo *folder) in(op string, l, r *pg_query.Node) cval {
	items := r.GetList().GetItems()
	lv := fo.eval(l)
	if !lv.constant() || len(items) == 0 {
		return cval{}
	}
	vals := make([]cval, len(items))
	for i, it := range items {
		if vals[i] = fo.eval(it); !vals[i].constant() {
			return cval{}
		}
	}
	fo.noteLiteral(lv)
	fo.noteLiteral(vals...)
	// a IN (…) is an OR of equalities; a NOT IN (…) an AND of inequalities.
	parts := make([]cval, len(vals))
	for i, v := range vals {
		parts[i] = compareOp(op, lv, v)
	}
	if op == "<>" {
		return and(parts)
	}
	return or(parts)
}

// like folds LIKE patterns that match every string: `x LIKE '%'` holds
// for every row where x is not NULL, like `x = x`.
func (fo *folder) like(op string, l, r *pg_query.Node) cval {
	rv := fo.eval(r)
	fo.noteLiteral(rv) // '%' and 'a%' share a shape
	lv := fo.eval(l)
	if (rv.kind == cStr || rv.kind == cText) && rv.s != "" && strings.Trim(rv.s, "%") == "" {
		neg := strings.HasPrefix(op, "!")
		switch lv.kind {
		case cVaries, cStr, cText:
			return cval{kind: cBool, b: !neg, lit: rv.lit}
		case cNull:
			return cval{kind: cNull, lit: rv.lit}
		}
	}
	if lv.constant() && rv.constant() {
		fo.noteLiteral(lv)
		return cval{kind: cOpaque, lit: lv.lit || rv.lit}
	}
	return cval{}
}

func (fo *folder) between(kind pg_query.A_Expr_Kind, l, r *pg_query.Node) cval {
	bounds := r.GetList().GetItems()
	if len(bounds) != 2 {
		return cval{}
	}
	v, lo, hi := fo.eval(l), fo.eval(bounds[0]), fo.eval(bounds[1])
	if !v.constant() || !lo.constant() || !hi.constant() {
		return cval{}
	}
	fo.noteLiteral(v, lo, hi)
	res := and([]cval{compareOp(">=", v, lo), compareOp("<=", v, hi)})
	if kind == pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM || kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
		res = or([]cval{res, and([]cval{compareOp(">=", v, hi), compareOp("<=", v, lo)})})
	}
	if kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN || kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
		res = not(res)
	}
	return res
}

func (fo *folder) boolExpr(x *pg_query.BoolExpr) cval {
	args := x.GetArgs()
	vals := make([]cval, len(args))
	for i, a := range args {
		vals[i] = fo.truth(a)
	}
	switch x.GetBoolop() {
	case pg_query.BoolExprType_AND_EXPR:
		return and(vals)
	case pg_query.BoolExprType_OR_EXPR:
		if fo.nullOrNotNull(args) {
			return cval{kind: cBool, b: true}
		}
		return or(vals)
	case pg_query.BoolExprType_NOT_EXPR:
		if len(vals) == 1 {
			return not(vals[0])
		}
	}
	return cval{}
}

// and, or and not follow SQL's three-valued logic; a varying operand
// makes the result vary unless another operand decides it.
func and(vals []cval) cval {
	return combine(vals, false)
}

func or(vals []cval) cval {
	return combine(vals, true)
}

// combine folds AND (decider false) or OR (decider true).
func combine(vals []cval, decider bool) cval {
	var varies, opaque, null, lit bool
	for _, v := range vals {
		lit = lit || v.lit
		switch v.kind {
		case cBool:
			if v.b == decider {
				return cval{kind: cBool, b: decider, lit: v.lit}
			}
		case cNull:
			null = true
		case cVaries:
			varies = true
		default:
			opaque = true
		}
	}
	switch {
	case varies:
		return cval{}
	case opaque:
		return cval{kind: cOpaque, lit: lit}
	case null:
		return cval{kind: cNull, lit: lit}
	}
	return cval{kind: cBool, b: !decider, lit: lit}
}

func not(v cval) cval {
	if v.kind == cBool {
		v.b = !v.b
	}
	return v
}

// nullOrNotNull finds `x IS NULL OR x IS NOT NULL`. Keys, not pairwise
// comparison: an OR may have thousands of arms.
func (fo *folder) nullOrNotNull(args []*pg_query.Node) bool {
	exact, shapes := map[string]bool{}, map[string]bool{}
	for _, a := range args {
		if nt := a.GetNullTest(); nt != nil && nt.GetNulltesttype() == pg_query.NullTestType_IS_NULL && rowStable(nt.GetArg()) {
			m := nt.GetArg().ProtoReflect()
			exact[treeKey(m, false)] = true
			shapes[treeKey(m, true)] = true
		}
	}
	if len(exact) == 0 {
		return false
	}
	found := false
	for _, b := range args {
		nt := b.GetNullTest()
		if nt == nil || nt.GetNulltesttype() != pg_query.NullTestType_IS_NOT_NULL || !rowStable(nt.GetArg()) {
			continue
		}
		m := nt.GetArg().ProtoReflect()
		if shapes[treeKey(m, true)] && hasLiteral(nt.GetArg()) {
			fo.sensitive = true // `x+1 IS NULL OR x+2 IS NOT NULL` has the shape of a match
		}
		if exact[treeKey(m, false)] {
			found = true
		}
	}
	return found
}

func (fo *folder) nullTest(x *pg_query.NullTest) cval {
	v := fo.eval(x.GetArg())
	if !v.constant() {
		return v
	}
	fo.noteLiteral(v)
	if v.kind == cOpaque {
		return v
	}
	isNull := v.kind == cNull
	return cval{kind: cBool, b: isNull == (x.GetNulltesttype() == pg_query.NullTestType_IS_NULL), lit: v.lit}
}

func (fo *folder) booleanTest(x *pg_query.BooleanTest) cval {
	v := fo.truth(x.GetArg())
	if !v.constant() {
		return v
	}
	fo.noteLiteral(v)
	if v.kind == cOpaque {
		return v
	}
	var res bool
	switch x.GetBooltesttype() {
	case pg_query.BoolTestType_IS_TRUE:
		res = v.isTrue()
	case pg_query.BoolTestType_IS_NOT_TRUE:
		res = !v.isTrue()
	case pg_query.BoolTestType_IS_FALSE:
		res = v.kind == cBool && !v.b
	case pg_query.BoolTestType_IS_NOT_FALSE:
		res = !(v.kind == cBool && !v.b)
	case pg_query.BoolTestType_IS_UNKNOWN:
		res = v.kind == cNull
	case pg_query.BoolTestType_IS_NOT_UNKNOWN:
		res = v.kind != cNull
	default:
		return cval{kind: cOpaque, lit: v.lit}
	}
	return cval{kind: cBool, b: res, lit: v.lit}
}
