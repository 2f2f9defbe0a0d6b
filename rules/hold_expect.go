package rules

import (
	"fmt"
	"strconv"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// expectWord starts an expectation comment; belay only looks for it in
// text that holds expectPrefix at all.
const (
	expectPrefix = "belay:"
	expectWord   = "belay:expect"
)

// ExpectedRows finds the row count an operator expects a held write to
// touch, written in a comment: /* belay:expect 3 */ or -- belay:expect 3.
// The keyword's case does not matter and white space before the count is
// optional; the count is decimal digits, and after it (and white space)
// the comment may go on. Only real comments count, as PostgreSQL's own
// scanner finds them: the words in a string literal, a dollar-quoted body
// or a quoted identifier are data, not an expectation.
//
// Several comments may repeat one count. Counts that differ, a negative
// or non-numeric count, or belay:expect with no count are errors, which
// the proxy returns to the client: an expectation mistyped must not pass
// for no expectation. With an error, n and found are zero.
//
// Text the scanner rejects (an unterminated quote or comment) has no
// expectation: found is false and err nil; the parser reports the text.
// Text without "belay:" (any case) is answered without scanning.
func ExpectedRows(sql string) (n int64, found bool, err error) {
	if !containsFold(sql, expectPrefix) {
		return 0, false, nil
	}
	res, scanErr := pg_query.Scan(sql)
	if scanErr != nil {
		return 0, false, nil
	}
	for _, tok := range res.GetTokens() {
		switch tok.GetToken() {
		case pg_query.Token_SQL_COMMENT, pg_query.Token_C_COMMENT:
		default:
			continue
		}
		comment := sql[tok.GetStart():tok.GetEnd()]
		for {
			i := indexFold(comment, expectWord)
			if i < 0 {
				break
			}
			comment = comment[i+len(expectWord):]
			count, rest := expectCountWord(comment)
			comment = rest
			c, cerr := expectCount(count)
			if cerr != nil {
				return 0, false, cerr
			}
			if found && c != n {
				return 0, false, fmt.Errorf("conflicting belay:expect comments: %d and %d rows", n, c)
			}
			n, found = c, true
		}
	}
	return n, found, nil
}

// expectCountWord splits what follows belay:expect in a comment into the
// count as written (after white space, up to the next white space or the
// comment's end) and the rest.
func expectCountWord(s string) (word, rest string) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSpace(s[j]) && !(s[j] == '*' && j+1 < len(s) && s[j+1] == '/') {
		j++
	}
	return s[i:j], s[j:]
}

// expectCount reads the count word of a belay:expect comment.
func expectCount(word string) (int64, error) {
	if word == "" {
		return 0, fmt.Errorf("belay:expect needs a row count, as in /* belay:expect 3 */")
	}
	if n, ok := parseCount(word); ok {
		return n, nil
	}
	digits := word
	if word[0] == '-' {
		digits = word[1:]
	}
	if allDigits(digits) {
		if digits != word {
			return 0, fmt.Errorf("belay:expect row count %s is negative", word)
		}
		return 0, fmt.Errorf("belay:expect row count %s is too large", word)
	}
	if len(word) > 24 {
		word = word[:24] + "…"
	}
	return 0, fmt.Errorf("belay:expect row count %s is not a non-negative integer", strconv.Quote(word))
}
