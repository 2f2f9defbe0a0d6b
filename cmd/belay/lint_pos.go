package main

import (
	"strings"
	"unicode/utf8"
)

// Positions for lint: editors want line:col, the parser gives byte offsets
// (statements) and 1-based character positions (syntax errors).

// lineCol turns a byte offset into a 1-based line and character column.
func lineCol(text string, offset int) (line, col int) {
	offset = min(max(offset, 0), len(text))
	before := text[:offset]
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return strings.Count(before, "\n") + 1, utf8.RuneCountInString(before[lineStart:]) + 1
}

// charOffset turns the parser's 1-based character position into a byte
// offset; 0 (unknown) is the start of the text.
func charOffset(text string, pos int) int {
	i := 0
	for n := 1; n < pos && i < len(text); n++ {
		_, w := utf8.DecodeRuneInString(text[i:])
		i += w
	}
	return i
}

// skipSpaceAndComments moves a statement's offset past what the parser
// counts as part of it but a reader does not: the whitespace and comments
// after the previous statement's semicolon.
func skipSpaceAndComments(text string, i int) int {
	for i < len(text) {
		switch {
		case strings.IndexByte(" \t\n\r\f\v", text[i]) >= 0:
			i++
		case strings.HasPrefix(text[i:], "--"):
			nl := strings.IndexByte(text[i:], '\n')
			if nl < 0 {
				return len(text)
			}
			i += nl + 1
		case strings.HasPrefix(text[i:], "/*"):
			i = skipBlockComment(text, i)
		default:
			return i
		}
	}
	return i
}

// skipBlockComment returns the offset after the comment at i; PostgreSQL's
// block comments nest.
func skipBlockComment(text string, i int) int {
	depth := 0
	for i < len(text) {
		switch {
		case strings.HasPrefix(text[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(text[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return i
}
