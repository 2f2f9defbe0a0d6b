package rules

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// SplitLimitGuard recognises the LIMIT people put on UPDATE and DELETE out
// of habit (MySQL has it; PostgreSQL does not): ok when sql is one UPDATE
// or DELETE statement, optionally starting with WITH, whose last tokens
// (before any semicolons, white space and comments) are LIMIT and an
// integer of at least 1, and which parses as exactly one UPDATE or DELETE
// once those two tokens are blanked out. stripped is sql with the two
// tokens replaced by spaces, and only them (a comment between them stays):
// same bytes, same characters, so offsets and the parser's error
// positions are the same in both texts. limit is the integer.
//
// Anything else is not ok, and PostgreSQL rejects it as written: LIMIT on
// a SELECT (it parses as it is), LIMIT 0, LIMIT ALL, LIMIT $1, LIMIT -1,
// LIMIT (5), LIMIT 1 OFFSET 2, FETCH FIRST, two statements, PREPARE or
// EXPLAIN around the statement, and text that parses without the cut (a
// LIMIT inside a subquery). RETURNING … LIMIT n is ok: the LIMIT bounds the
// rows written, and so the rows returned. The words in string literals,
// dollar quotes, identifiers and comments are not tokens: only PostgreSQL's
// own scanner decides what LIMIT is.
//
// Text without "limit" (any case) is answered without scanning.
func SplitLimitGuard(sql string) (stripped string, limit int64, ok bool) {
	if !containsFold(sql, "limit") || !holdParseSafe(sql) {
		return "", 0, false
	}
	res, err := pg_query.Scan(sql)
	if err != nil {
		return "", 0, false
	}
	// The last two significant tokens, before trailing semicolons.
	var last [2]*pg_query.ScanToken
	var trailing bool // past a trailing semicolon: only more may follow
	for _, tok := range res.GetTokens() {
		switch tok.GetToken() {
		case pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
			continue
		case pg_query.Token_ASCII_59: // ; (leading ones are empty statements)
			trailing = last[1] != nil
			continue
		}
		if trailing {
			return "", 0, false // a second statement
		}
		last[0], last[1] = last[1], tok
	}
	kw, num := last[0], last[1]
	if kw == nil || kw.GetToken() != pg_query.Token_LIMIT {
		return "", 0, false
	}
	// Big integers scan as FCONST; 1.5 and 1e3 do too, and are not digits.
	if t := num.GetToken(); t != pg_query.Token_ICONST && t != pg_query.Token_FCONST {
		return "", 0, false
	}
	limit, isCount := parseCount(sql[num.GetStart():num.GetEnd()])
	if !isCount || limit < 1 {
		return "", 0, false
	}
	b := []byte(sql)
	for _, tok := range [...]*pg_query.ScanToken{kw, num} {
		for i := tok.GetStart(); i < tok.GetEnd(); i++ {
			b[i] = ' '
		}
	}
	stripped = string(b)
	if !limitGuardTarget(stripped) {
		return "", 0, false
	}
	// Text that parses with its LIMIT has it somewhere PostgreSQL knows
	// (a subquery, a SELECT): not a habit to take off.
	if _, err := pg_query.Parse(sql); err == nil {
		return "", 0, false
	}
	return stripped, limit, true
}

// limitGuardTarget: sql parses as exactly one UPDATE or DELETE (a WITH
// clause is part of it).
func limitGuardTarget(sql string) bool {
	tree, err := pg_query.Parse(sql)
	if err != nil || len(tree.GetStmts()) != 1 {
		return false
	}
	switch tree.GetStmts()[0].GetStmt().GetNode().(type) {
	case *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
		return true
	}
	return false
}
