package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// ExpectRowsSetting is the session setting that gives an expected row
// count to every held write, as a belay:expect comment does to one.
const ExpectRowsSetting = "belay.expect_rows"

// ParseExpectSetting recognises the statements that set or reset
// belay.expect_rows: ok when sql is exactly one statement (semicolons,
// white space and comments around it allowed) that is
//
//	SET [SESSION | LOCAL] belay.expect_rows { = | TO } N
//	SET [SESSION | LOCAL] belay.expect_rows { = | TO } DEFAULT
//	RESET belay.expect_rows
//
// with N an integer or a string of decimal digits ('3'). The name is
// case-insensitive, quoted or not, as PostgreSQL's setting names are
// ("Belay"."Expect_Rows" is the same setting). reset is true for DEFAULT
// and RESET. SET LOCAL is recognised like SET: the caller decides what
// LOCAL means for it.
//
// A value that is not a non-negative integer (-1, 2.5, 'three', on, an
// empty string, two values, FROM CURRENT) is ok with err: the statement is
// about the setting, and the proxy answers it with the error. RESET ALL
// and other settings are not ok: they are PostgreSQL's.
//
// Text without "expect_rows" (any case) is answered without parsing.
func ParseExpectSetting(sql string) (n int64, reset bool, ok bool, err error) {
	if !containsFold(sql, "expect_rows") || !holdParseSafe(sql) {
		return 0, false, false, nil
	}
	tree, perr := pg_query.Parse(sql)
	if perr != nil || len(tree.GetStmts()) != 1 {
		return 0, false, false, nil
	}
	set := tree.GetStmts()[0].GetStmt().GetVariableSetStmt()
	if set == nil || !strings.EqualFold(set.GetName(), ExpectRowsSetting) {
		return 0, false, false, nil
	}
	switch set.GetKind() {
	case pg_query.VariableSetKind_VAR_SET_DEFAULT, pg_query.VariableSetKind_VAR_RESET:
		return 0, true, true, nil
	case pg_query.VariableSetKind_VAR_SET_VALUE:
		n, err := expectSettingValue(set.GetArgs())
		return n, false, true, err
	}
	return 0, false, true, fmt.Errorf("%s takes a row count: SET %s = N, SET %s = DEFAULT or RESET %s",
		ExpectRowsSetting, ExpectRowsSetting, ExpectRowsSetting, ExpectRowsSetting)
}

var errExpectSettingValue = errors.New(ExpectRowsSetting + " must be a non-negative integer")

// expectSettingValue reads the value of SET belay.expect_rows: one
// integer constant, or one string of decimal digits.
func expectSettingValue(args []*pg_query.Node) (int64, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("%s takes one value, not %d", ExpectRowsSetting, len(args))
	}
	c := args[0].GetAConst()
	if c == nil || c.GetIsnull() {
		return 0, errExpectSettingValue
	}
	var text string
	switch {
	case c.GetIval() != nil: // SET … = -1 is the integer -1
		v := c.GetIval().GetIval()
		if v < 0 {
			return 0, fmt.Errorf("%s must not be negative (%d)", ExpectRowsSetting, v)
		}
		return int64(v), nil
	case c.GetFval() != nil: // 2.5, 1e3, and integers too big for int4
		text = c.GetFval().GetFval()
	case c.GetSval() != nil: // '3', and words: on, three
		text = c.GetSval().GetSval()
	default:
		return 0, errExpectSettingValue
	}
	if n, ok := parseCount(text); ok {
		return n, nil
	}
	if strings.HasPrefix(text, "-") && allDigits(text[1:]) {
		return 0, fmt.Errorf("%s must not be negative (%s)", ExpectRowsSetting, text)
	}
	if allDigits(text) {
		return 0, fmt.Errorf("%s %s is too large", ExpectRowsSetting, text)
	}
	if len(text) > 24 {
		text = text[:24] + "…"
	}
	return 0, fmt.Errorf("%s must be a non-negative integer, not %s", ExpectRowsSetting, strconv.Quote(text))
}
