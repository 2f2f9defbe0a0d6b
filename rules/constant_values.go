package rules

import (
	"math/big"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Constants as the folder sees them: literals, casts to the types it
// computes (boolean, integers, numeric, text), and comparisons after
// PostgreSQL's coercion of untyped literals.

// constValue is the value of a literal (NULL and true/false are keywords,
// not literals the shape cuts out).
func constValue(c *pg_query.A_Const) cval {
	if c == nil {
		return cval{}
	}
	if c.GetIsnull() {
		return cval{kind: cNull}
	}
	switch v := c.GetVal().(type) {
	case *pg_query.A_Const_Ival:
		return cval{kind: cNum, num: new(big.Rat).SetInt64(int64(v.Ival.GetIval())), lit: true}
	case *pg_query.A_Const_Fval:
		if r, ok := parseNumber(v.Fval.GetFval()); ok {
			return cval{kind: cNum, num: r, lit: true}
		}
		return cval{kind: cOpaque, lit: true}
	case *pg_query.A_Const_Boolval:
		return cval{kind: cBool, b: v.Boolval.GetBoolval()} // a keyword: not cut from the shape
	case *pg_query.A_Const_Sval:
		return cval{kind: cStr, s: v.Sval.GetSval(), lit: true}
	}
	return cval{kind: cOpaque, lit: true}
}

// compareOp applies a comparison operator to two constants.
func compareOp(op string, a, b cval) cval {
	lit := a.lit || b.lit
	if a.kind == cNull || b.kind == cNull {
		return cval{kind: cNull, lit: lit}
	}
	c, known, eqOnly := compareValues(a, b)
	if !known || eqOnly && op != "=" && op != "<>" && op != "!=" {
		return cval{kind: cOpaque, lit: lit}
	}
	var res bool
	switch op {
	case "=":
		res = c == 0
	case "<>", "!=":
		res = c != 0
	case "<":
		res = c < 0
	case ">":
		res = c > 0
	case "<=":
		res = c <= 0
	case ">=":
		res = c >= 0
	}
	return cval{kind: cBool, b: res, lit: lit}
}

// compareValues orders two non-NULL constants as PostgreSQL would after
// coercing an untyped literal to the other side's type. Strings are only
// compared for equality: their order depends on the collation.
func compareValues(a, b cval) (c int, known, eqOnly bool) {
	if b.kind == cStr && a.kind != cStr && a.kind != cText {
		c, known, eqOnly = compareValues(b, a)
		return -c, known, eqOnly
	}
	switch {
	case a.kind == cNum && b.kind == cNum:
		return a.num.Cmp(b.num), true, false
	case a.kind == cBool && b.kind == cBool:
		return boolInt(a.b) - boolInt(b.b), true, false
	case (a.kind == cStr || a.kind == cText) && (b.kind == cStr || b.kind == cText):
		if a.s == b.s {
			return 0, true, true
		}
		return 1, true, true
	case a.kind == cStr && b.kind == cNum:
		if r, ok := parseNumber(strings.TrimSpace(a.s)); ok {
			return r.Cmp(b.num), true, false
		}
	case a.kind == cStr && b.kind == cBool:
		if x, ok := parseBool(a.s); ok {
			return boolInt(x) - boolInt(b.b), true, false
		}
	}
	return 0, false, false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cast applies `v::type` for the types the folder understands; other
// types make an opaque constant.
func (fo *folder) cast(v cval, tn *pg_query.TypeName) cval {
	if !v.constant() || v.kind == cNull {
		return v
	}
	if tn == nil || len(tn.GetArrayBounds()) > 0 {
		return cval{kind: cOpaque, lit: v.lit}
	}
	opaque := cval{kind: cOpaque, lit: v.lit}
	switch typ := opName(tn.GetNames()); typ {
	case "bool", "boolean":
		fo.noteLiteral(v)
		switch v.kind {
		case cBool:
			return v
		case cStr, cText:
			if b, ok := parseBool(v.s); ok {
				return cval{kind: cBool, b: b, lit: v.lit}
			}
		case cNum:
			if v.num.IsInt() {
				return cval{kind: cBool, b: v.num.Sign() != 0, lit: v.lit}
			}
		}
		return opaque
	case "int2", "int4", "int8", "numeric", "decimal":
		integer := typ != "numeric" && typ != "decimal"
		switch v.kind {
		case cNum:
			if !integer || v.num.IsInt() { // a fraction cast to an integer rounds: leave it
				return cval{kind: cNum, num: v.num, lit: v.lit}
			}
		case cStr, cText:
			s := strings.TrimSpace(v.s)
			if integer && !isPlainInteger(s) {
				return opaque
			}
			if r, ok := parseNumber(s); ok {
				return cval{kind: cNum, num: r, lit: v.lit}
			}
		case cBool:
			if typ == "int4" {
				return cval{kind: cNum, num: new(big.Rat).SetInt64(int64(boolInt(v.b))), lit: v.lit}
			}
		}
		return opaque
	case "text", "varchar", "name":
		if v.kind == cStr || v.kind == cText {
			return cval{kind: cText, s: v.s, lit: v.lit}
		}
		return opaque
	}
	return opaque // float, char(n) (pads), dates, json, …: PostgreSQL's own rules
}

func isPlainInteger(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseNumber reads a numeric literal as PostgreSQL writes them (1, 1.5,
// .5, 1e10, 1_000, 0x1F). Huge exponents are refused: big.Rat would
// allocate the digits.
func parseNumber(s string) (*big.Rat, bool) {
	if len(s) == 0 || len(s) > 1000 {
		return nil, false
	}
	body := strings.TrimLeft(s, "+-")
	if base := radix(body); base != 0 {
		z, ok := new(big.Int).SetString(strings.ReplaceAll(body[2:], "_", ""), base)
		if !ok {
			return nil, false
		}
		if strings.HasPrefix(s, "-") {
			z.Neg(z)
		}
		return new(big.Rat).SetInt(z), true
	}
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		exp, err := strconv.Atoi(body[i+1:])
		if err != nil || exp > 1000 || exp < -1000 {
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(strings.ReplaceAll(s, "_", ""))
	return r, ok
}

// radix is the base of a 0x, 0o or 0b integer literal, 0 for others.
func radix(s string) int {
	if len(s) < 2 || s[0] != '0' {
		return 0
	}
	switch s[1] | 0x20 {
	case 'x':
		return 16
	case 'o':
		return 8
	case 'b':
		return 2
	}
	return 0
}

// parseBool is PostgreSQL's boolin: any unambiguous prefix of true, false,
// yes, no; on, off; 1, 0; case-insensitive, surrounding spaces ignored.
func parseBool(s string) (value, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return false, false
	}
	switch {
	case strings.HasPrefix("true", s), strings.HasPrefix("yes", s):
		return true, true
	case strings.HasPrefix("false", s), strings.HasPrefix("no", s):
		return false, true
	case s == "on", s == "1":
		return true, true
	case s == "of", s == "off", s == "0":
		return false, true
	}
	return false, false
}
