package policy

import (
	"path"
	"strings"
	"unicode/utf8"
)

// glob is one users/databases/application_names pattern. The syntax is
// path.Match's (*, ?, [a-z], [^a-z], \ escapes), but * and ? also match
// "/": these are names, not paths, and "DBeaver*" must match whatever
// DBeaver appends.
type glob struct {
	pattern string
	literal bool // no metacharacters: a plain comparison
	fold    bool // case-insensitive: pattern is lower-cased, names are too
}

// compileGlob checks pattern with path.Match, which reports malformed
// patterns as path.ErrBadPattern.
func compileGlob(pattern string, fold bool) (glob, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return glob{}, err
	}
	if fold {
		pattern = strings.ToLower(pattern)
	}
	return glob{pattern: pattern, literal: !strings.ContainsAny(pattern, `*?[\`), fold: fold}, nil
}

func (g glob) match(name string) bool {
	if g.fold {
		name = strings.ToLower(name) // no allocation when already lower case
	}
	if g.literal {
		return g.pattern == name
	}
	return matchGlob(g.pattern, name)
}

// matchGlob matches a well-formed pattern against all of name, backtracking
// to the last * on a mismatch: linear in practice, never exponential.
func matchGlob(p, s string) bool {
	star, starS := -1, 0
	for i, j := 0, 0; ; {
		if i < len(p) && p[i] == '*' {
			star, starS = i, j
			i++
			continue
		}
		if j == len(s) && i == len(p) {
			return true
		}
		if i < len(p) && j < len(s) {
			if pn, sn, ok := matchOne(p[i:], s[j:]); ok {
				i, j = i+pn, j+sn
				continue
			}
		}
		if star < 0 || starS == len(s) {
			return false
		}
		// Let the last * take one more character and retry after it.
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		i, j = star+1, starS
	}
}

// matchOne matches the pattern's first element (a character, an escaped
// character, ? or a class) against s's first character, returning the bytes
// each consumed.
func matchOne(p, s string) (pn, sn int, ok bool) {
	r, sn := utf8.DecodeRuneInString(s)
	switch p[0] {
	case '?':
		return 1, sn, true
	case '[':
		pn, ok = matchClass(p, r)
		return pn, sn, ok
	case '\\':
		p = p[1:]
		pn = 1
	}
	pr, w := utf8.DecodeRuneInString(p)
	return pn + w, sn, pr == r
}

// matchClass matches r against the class p starts with ("[a-z]", "[^0-9]"),
// returning the class's length.
func matchClass(p string, r rune) (int, bool) {
	i := 1
	negated := i < len(p) && p[i] == '^'
	if negated {
		i++
	}
	in := false
	for first := true; i < len(p); first = false {
		if p[i] == ']' && !first {
			return i + 1, in != negated
		}
		lo, n := classChar(p[i:])
		i += n
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			hi, n = classChar(p[i+1:])
			i += 1 + n
		}
		if lo <= r && r <= hi {
			in = true
		}
	}
	return len(p), false // unterminated: compileGlob rejected it
}

// classChar reads one possibly escaped character of a class.
func classChar(p string) (rune, int) {
	if p[0] == '\\' && len(p) > 1 {
		r, w := utf8.DecodeRuneInString(p[1:])
		return r, 1 + w
	}
	return utf8.DecodeRuneInString(p)
}
