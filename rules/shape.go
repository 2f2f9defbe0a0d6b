package rules

import (
	"strconv"
)

// Shape reduces a query string to what the rules care about: the same text
// with every literal (numbers, strings, bit and hex strings, dollar-quoted
// bodies) cut out. Two texts with the same shape differ only in literal
// values, so they share a fingerprint and (literal-sensitive rules aside) a
// classification: the cache is keyed by shape, and pgbench-style traffic
// with a new literal in every statement still hits it.
//
// The lexer follows PostgreSQL's scan.l closely enough to find literal
// boundaries: comments (nested /* */), quoted identifiers, E” escapes,
// ” doubling, U& strings, dollar quoting, and identifiers that contain $.
// Anything it cannot follow (an unterminated string or comment) makes the
// text unshapeable; callers then parse it whole, uncached.
type Shape struct {
	// Key is the text with each literal replaced by a NUL and a kind byte
	// (NUL cannot occur in a protocol string).
	Key []byte
	// Normalized is the text with each literal replaced by $n, numbered
	// after the highest $n parameter the text already has, as pg_query's
	// Normalize does: safe to log.
	Normalized []byte
	// Literals is the number of literals cut out.
	Literals int
	// TooDeep is set when the text may nest deeper than MaxNestingBound:
	// it must not reach the parser.
	TooDeep bool
}

// Literal kinds in a shape key.
const (
	litNumber = 'n'
	litString = 's'
	litBits   = 'b'
	litDollar = 'd'
	litParam  = 'p' // a $n parameter: not a literal, but listed alike
)

// span is one literal or $n parameter: text[start:end].
type span struct{ start, end int }

// Scratch holds reusable buffers for one goroutine's shaping.
type Scratch struct {
	depth  depthMeter
	spans  []span
	shape  Shape
	key    []byte
	pieces []piece
	views  []StatementView
}

// MakeShape shapes text into sc's buffers; the result is valid until the
// next call with sc. ok is false when the lexer cannot follow the text.
func MakeShape(text []byte, sc *Scratch) (sh *Shape, ok bool) {
	sc.depth = depthMeter{stack: sc.depth.stack[:0]}
	spans, maxParam, ok := scanLiterals(text, sc.spans[:0], &sc.depth)
	sc.spans = spans
	if sc.depth.tooDeep() {
		sc.shape = Shape{TooDeep: true}
		return &sc.shape, true
	}
	if !ok {
		return nil, false
	}
	key := sc.shape.Key[:0]
	norm := sc.shape.Normalized[:0]
	prev, literals := 0, 0
	var prevKind byte
	for i, sp := range spans {
		tok := text[sp.start:sp.end]
		kind := literalKind(tok)
		gap := text[prev:sp.start]
		// A run of literals of one kind ("IN (1, 2, 3)", a VALUES row, a
		// function's arguments), or of $n parameters, keys like a single
		// one: how many there are changes neither the facts the rules see
		// nor pg_query's fingerprint, and lists of every length would
		// otherwise each cost a parse.
		if i == 0 || kind != prevKind || !isListSeparator(gap) {
			key = append(key, gap...)
			if kind == litParam {
				key = append(key, tok...) // parameters stay as written
			} else {
				key = append(key, 0, kind)
			}
		}
		prevKind = kind
		norm = append(norm, gap...)
		if kind == litParam {
			norm = append(norm, tok...)
		} else {
			literals++
			norm = append(norm, '$')
			norm = strconv.AppendInt(norm, int64(maxParam+literals), 10)
		}
		prev = sp.end
	}
	key = append(key, text[prev:]...)
	norm = append(norm, text[prev:]...)
	sc.shape = Shape{Key: key, Normalized: norm, Literals: literals}
	return &sc.shape, true
}

// isListSeparator reports whether gap is a comma and white space only.
func isListSeparator(gap []byte) bool {
	comma := false
	for _, c := range gap {
		switch c {
		case ',':
			if comma {
				return false
			}
			comma = true
		case ' ', '\t', '\n', '\r', '\f', '\v':
		default:
			return false
		}
	}
	return comma
}

func literalKind(lit []byte) byte {
	switch c := lit[0]; {
	case c >= '0' && c <= '9', c == '.':
		return litNumber
	case c == '$' && len(lit) > 1 && isDigit(lit[1]):
		return litParam
	case c == '$':
		return litDollar
	case c == 'b' || c == 'B' || c == 'x' || c == 'X':
		return litBits
	default:
		return litString
	}
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanLiterals appends the spans of the literals and $n parameters of text
// to spans and returns the highest $n parameter number seen.
func scanLiterals(text []byte, spans []span, d *depthMeter) ([]span, int, bool) {
	maxParam := 0
	n := len(text)
	i := 0
	for i < n {
		c := text[i]
		switch {
		case isCommentStart(text, i):
			end, ok := skipComment(text, i)
			if !ok {
				return spans, 0, false
			}
			i = end
		case c == '"':
			end, ok := skipQuoted(text, i+1, '"', false)
			if !ok {
				return spans, 0, false
			}
			d.token()
			i = end
		case c == '\'':
			end, ok := skipQuoted(text, i+1, '\'', false)
			if !ok {
				return spans, 0, false
			}
			spans = append(spans, span{i, end})
			d.token()
			i = end
		case c == '$':
			if i+1 < n && isDigit(text[i+1]) { // $n parameter
				j := i + 1
				for j < n && isDigit(text[j]) {
					j++
				}
				if p, err := strconv.Atoi(string(text[i+1 : j])); err == nil && p > maxParam {
					maxParam = p
				}
				spans = append(spans, span{i, j}) // MakeShape keys runs of them as one
				d.token()
				i = j
				continue
			}
			end, ok, isQuote := skipDollarQuote(text, i)
			if !isQuote {
				i++ // a lone $ (an operator character in some contexts)
				continue
			}
			if !ok {
				return spans, 0, false
			}
			spans = append(spans, span{i, end})
			d.token()
			i = end
		case isDigit(c) || c == '.' && i+1 < n && isDigit(text[i+1]):
			end := skipNumber(text, i)
			spans = append(spans, span{i, end})
			d.token()
			i = end
		case isIdentStart(c):
			// String prefixes: E'', B'', X'', N'', U&'' (and U&"" identifiers).
			if i+1 < n && text[i+1] == '\'' {
				switch c {
				case 'e', 'E', 'b', 'B', 'x', 'X', 'n', 'N':
					// Only E'' strings treat backslash as an escape.
					end, ok := skipQuoted(text, i+2, '\'', c == 'e' || c == 'E')
					if !ok {
						return spans, 0, false
					}
					spans = append(spans, span{i, end})
					d.token()
					i = end
					continue
				}
			}
			if (c == 'u' || c == 'U') && i+2 < n && text[i+1] == '&' && (text[i+2] == '\'' || text[i+2] == '"') {
				q := text[i+2]
				end, ok := skipQuoted(text, i+3, q, false)
				if !ok {
					return spans, 0, false
				}
				if q == '\'' {
					spans = append(spans, span{i, end})
				}
				d.token()
				i = end
				continue
			}
			j := i + 1
			for j < n && isIdentCont(text[j]) {
				j++
			}
			d.keyword(text[i:j])
			i = j
		default:
			switch c {
			case '(', '[':
				d.open()
			case ')', ']':
				d.close()
			case ',', ';':
				d.separator()
			case ' ', '\t', '\n', '\r', '\f', '\v':
			default:
				d.token()
			}
			i++
		}
		if d.tooDeep() {
			return spans, maxParam, true
		}
	}
	return spans, maxParam, true
}

// skipQuoted returns the index after the closing quote q, starting inside
// the literal at i. A doubled quote is an escaped quote; with backslashes
// (E” strings) a backslash escapes the next byte.
func skipQuoted(text []byte, i int, q byte, backslashes bool) (int, bool) {
	for i < len(text) {
		c := text[i]
		switch {
		case backslashes && c == '\\':
			i += 2
		case c == q:
			if i+1 < len(text) && text[i+1] == q {
				i += 2
				continue
			}
			return i + 1, true
		default:
			i++
		}
	}
	return 0, false
}

// isCommentStart reports whether a -- or /* comment starts at i.
func isCommentStart(text []byte, i int) bool {
	return i+1 < len(text) && (text[i] == '-' && text[i+1] == '-' || text[i] == '/' && text[i+1] == '*')
}

// skipComment returns the index after the comment at i; ok is false for an
// unterminated block comment.
func skipComment(text []byte, i int) (int, bool) {
	if text[i] == '/' {
		return skipBlockComment(text, i)
	}
	for i < len(text) && text[i] != '\n' && text[i] != '\r' {
		i++
	}
	return i, true
}

// skipBlockComment skips a /* */ comment starting at i; they nest.
func skipBlockComment(text []byte, i int) (int, bool) {
	depth := 0
	for i+1 < len(text) {
		switch {
		case text[i] == '/' && text[i+1] == '*':
			depth++
			i += 2
		case text[i] == '*' && text[i+1] == '/':
			depth--
			i += 2
			if depth == 0 {
				return i, true
			}
		default:
			i++
		}
	}
	return 0, false
}

// skipDollarQuote handles $tag$...$tag$ at i. isQuote is false when the $
// does not open a dollar quote.
func skipDollarQuote(text []byte, i int) (end int, ok, isQuote bool) {
	j := i + 1
	if j < len(text) && isIdentStart(text[j]) {
		for j < len(text) && isIdentCont(text[j]) && text[j] != '$' {
			j++
		}
	}
	if j >= len(text) || text[j] != '$' {
		return 0, false, false
	}
	tag := text[i : j+1]
	body := j + 1
	for k := body; k+len(tag) <= len(text); k++ {
		if text[k] == '$' && string(text[k:k+len(tag)]) == string(tag) {
			return k + len(tag), true, true
		}
	}
	return 0, false, true
}

// skipNumber skips a numeric literal: digits with _ separators, a fraction,
// an exponent, or a 0x / 0o / 0b prefix.
func skipNumber(text []byte, i int) int {
	n := len(text)
	if text[i] == '0' && i+1 < n {
		switch text[i+1] {
		case 'x', 'X', 'o', 'O', 'b', 'B':
			j := i + 2
			for j < n && (isIdentCont(text[j]) && text[j] != '$') {
				j++
			}
			return j
		}
	}
	j := i
	for j < n && (isDigit(text[j]) || text[j] == '_') {
		j++
	}
	if j < n && text[j] == '.' && !(j+1 < n && text[j+1] == '.') {
		j++
		for j < n && (isDigit(text[j]) || text[j] == '_') {
			j++
		}
	}
	if j < n && (text[j] == 'e' || text[j] == 'E') {
		k := j + 1
		if k < n && (text[k] == '+' || text[k] == '-') {
			k++
		}
		if k < n && isDigit(text[k]) {
			j = k
			for j < n && isDigit(text[j]) {
				j++
			}
		}
	}
	return j
}
