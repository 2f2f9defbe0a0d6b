package rules

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// StatementInfo is what belay knows about one statement of a query string
// whatever its literal values; it is cached per shape.
type StatementInfo struct {
	Fingerprint string
}

// StatementView is one statement of a query string as the relay reports
// it: the cached facts plus this text's own normalised form.
type StatementView struct {
	StatementInfo
	// Normalized is the statement with literals replaced by $n. It points
	// into the Scratch and is valid until the next Inspect with it.
	Normalized []byte
}

// Inspection is the result of Inspect.
type Inspection struct {
	Statements []StatementView
	// Err is set when the text does not parse; Statements is then empty.
	Err *ParseError
}

// maxUnshapedBytes bounds text the lexer could not follow (an unterminated
// quote or comment) that still goes to the parser for its error message:
// 16 KB cannot nest deep enough to hurt it (see MaxNestingBound).
const maxUnshapedBytes = 16 << 10

var (
	errTooDeep = &ParseError{Message: fmt.Sprintf("statement nests deeper than belay inspects (more than %d levels)", MaxNestingBound)}
	// PostgreSQL would reject such text too: an unterminated string,
	// quoted identifier or comment.
	errUnshaped = &ParseError{Message: "unterminated quoted string, identifier or comment"}
)

// shapeEntry is the cache value for a shape: one StatementInfo per
// statement, and whether the lexer's split agrees with the parser's.
type shapeEntry struct {
	statements []StatementInfo
	lexerSplit bool
	err        bool // the shape did not parse: re-parse each text for its error
}

// Inspect classifies a query string on the relay's hot path: it shapes the
// text (a lexer pass, no parser), looks the shape up, and parses only on a
// miss. Results point into sc; reuse one Scratch per session.
func (c *Classifier) Inspect(text []byte, sc *Scratch) Inspection {
	sh, ok := MakeShape(text, sc)
	if ok && sh.TooDeep {
		return Inspection{Err: errTooDeep}
	}
	if !ok {
		if len(text) > maxUnshapedBytes {
			return Inspection{Err: errUnshaped}
		}
		return c.inspectSlow(text, sc)
	}
	sc.key = append(append(sc.key[:0], 0), sh.Key...) // NUL prefix: shape keys never meet Classify's text keys
	e, hit := c.shapes.get(sc.key)
	if !hit {
		e = c.learnShape(text, sh)
		c.shapes.put(string(sc.key), e)
	}
	if e.err || !e.lexerSplit {
		return c.inspectSlow(text, sc)
	}
	sc.pieces = splitStatements(sh.Normalized, sc.pieces[:0])
	sc.views = sc.views[:0]
	for i, p := range sc.pieces {
		sc.views = append(sc.views, StatementView{StatementInfo: e.statements[i], Normalized: sh.Normalized[p.start:p.end]})
	}
	return Inspection{Statements: sc.views}
}

// learnShape parses a text whose shape was not cached.
func (c *Classifier) learnShape(text []byte, sh *Shape) *shapeEntry {
	stmts, err := c.parser.split(string(text))
	if err != nil {
		return &shapeEntry{err: true}
	}
	e := &shapeEntry{statements: make([]StatementInfo, len(stmts))}
	for i, s := range stmts {
		fp, err := c.parser.fingerprint(s)
		if err != nil {
			return &shapeEntry{err: true}
		}
		e.statements[i].Fingerprint = fp
	}
	e.lexerSplit = len(splitStatements(sh.Normalized, nil)) == len(stmts)
	return e
}

// inspectSlow parses the text itself, uncached: for texts the lexer cannot
// follow, texts that do not parse (the error's position depends on the
// literals), and the rare shapes whose statements the lexer splits wrongly.
func (c *Classifier) inspectSlow(text []byte, sc *Scratch) Inspection {
	stmts, err := c.parser.split(string(text))
	if err != nil {
		return Inspection{Err: parseError(err)}
	}
	sc.views = sc.views[:0]
	for _, s := range stmts {
		fp, err := c.parser.fingerprint(s)
		if err != nil {
			return Inspection{Err: parseError(err)}
		}
		view := StatementView{StatementInfo: StatementInfo{Fingerprint: fp}}
		var own Scratch
		if sh, ok := MakeShape([]byte(s), &own); ok {
			view.Normalized = sh.Normalized
		} else if norm, err := pg_query.Normalize(s); err == nil {
			view.Normalized = []byte(norm)
		}
		sc.views = append(sc.views, view)
	}
	return Inspection{Statements: sc.views}
}
