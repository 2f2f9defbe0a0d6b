package rules

import "strconv"

// Helpers shared by the hold guards (hold_expect.go, hold_limit.go,
// hold_expect_setting.go). Each guard runs on every write of a session
// that holds, so each first looks for its magic word in the bytes and
// calls the scanner or parser only when it is there.

// containsFold reports whether s contains word, ignoring ASCII case. word
// is lower case ASCII. No allocation: this runs on every statement.
func containsFold(s, word string) bool {
	return indexFold(s, word) >= 0
}

// indexFold is the byte index of the first occurrence of word (lower case
// ASCII) in s, ignoring ASCII case, or -1.
func indexFold(s, word string) int {
	if len(word) == 0 {
		return 0
	}
	first := word[0]
	for i := 0; i+len(word) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(word) && lowerASCII(s[i+j]) == word[j] {
			j++
		}
		if j == len(word) {
			return i
		}
	}
	return -1
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// parseCount reads a row count written as decimal digits only: no sign,
// no spaces, no underscores, no 0x. ok is false for anything else and for
// values beyond int64.
func parseCount(s string) (int64, bool) {
	if !allDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// allDigits: s is one or more decimal digits.
func allDigits(s string) bool {
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

// holdParseSafe applies to text the hold guards hand the parser the caps
// the relay applies before it parses (see Inspect): nothing too large or
// nested too deep for libpg_query, whichever path the text came by.
func holdParseSafe(sql string) bool {
	return len(sql) <= DefaultMaxStatementBytes && utilTextSafe(sql) == textChecked
}

// isSpace is PostgreSQL's white space (scan.l's space class).
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v':
		return true
	}
	return false
}
