package rules

import (
	"fmt"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// StatementInfo is what belay knows about one statement of a query string;
// cached per shape (or per exact text when the facts depend on literals).
type StatementInfo struct {
	Fingerprint string
	Facts       *Facts // shared through the cache: read-only
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
	// Err is set when the text cannot be checked; Statements is then empty.
	Err *ParseError
}

// maxUnshapedBytes bounds text the lexer could not follow (an unterminated
// quote or comment) that still goes to the parser for its error message:
// 16 KB cannot nest deep enough to hurt it (see MaxNestingBound).
const maxUnshapedBytes = 16 << 10

var (
	errTooDeep = &ParseError{Rule: RuleTooComplex, Message: fmt.Sprintf("statement nests deeper than belay inspects (more than %d levels)", MaxNestingBound)}
	// PostgreSQL would reject such text too: an unterminated string,
	// quoted identifier or comment.
	errUnshaped = &ParseError{Rule: RuleUnparsable, Message: "unterminated quoted string, identifier or comment"}
)

// shapeEntry is the cache value for a shape (or an exact text): one
// StatementInfo per statement, and whether the lexer's split agrees with
// the parser's.
type shapeEntry struct {
	statements []StatementInfo
	lexerSplit bool
	err        bool // did not parse: re-parse each text for its error
	// exact: some statement's facts depend on its literals; look the text
	// itself up (key prefix 1) instead of sharing this shape's facts.
	exact bool
}

// Cache key prefixes: shape keys and exact-text keys never meet (nor
// Classify's, which are bare text).
const (
	shapeKeyPrefix = 0
	exactKeyPrefix = 1
)

// Inspect classifies a query string on the relay's hot path: it shapes the
// text (a lexer pass, no parser), looks the shape up, and parses only on a
// miss. Results point into sc; reuse one Scratch per session.
func (c *Classifier) Inspect(text []byte, sc *Scratch) Inspection {
	if len(text) > c.maxStatementBytes {
		return Inspection{Err: &ParseError{Rule: RuleTooComplex, Message: fmt.Sprintf("statement of %d bytes is larger than belay inspects (%d)", len(text), c.maxStatementBytes)}}
	}
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
	sc.key = append(append(sc.key[:0], shapeKeyPrefix), sh.Key...)
	e, hit := c.shapes.get(sc.key)
	c.countLookup(hit)
	if !hit {
		var exact *shapeEntry
		e, exact = c.learn(text, sh)
		c.shapes.put(string(sc.key), e)
		if exact != nil {
			c.shapes.put(string(append([]byte{exactKeyPrefix}, text...)), exact)
		}
	}
	if e.exact {
		sc.key = append(append(sc.key[:0], exactKeyPrefix), text...)
		var hit bool
		if e, hit = c.shapes.get(sc.key); !hit {
			_, e = c.learn(text, sh)
			c.shapes.put(string(sc.key), e)
		}
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

// learn parses a text whose shape was not cached. When some statement's
// facts depend on literal values it returns a shape entry that says so and
// the entry for this exact text.
func (c *Classifier) learn(text []byte, sh *Shape) (shape, exact *shapeEntry) {
	start := time.Now()
	stmts, perr := c.parser.analyze(string(text))
	defer c.observeParse(start)
	if perr != nil {
		return &shapeEntry{err: true}, nil
	}
	e := &shapeEntry{statements: make([]StatementInfo, len(stmts))}
	literal := false
	for i := range stmts {
		fp, err := c.parser.fingerprint(stmts[i].Text)
		if err != nil {
			return &shapeEntry{err: true}, nil
		}
		e.statements[i] = StatementInfo{Fingerprint: fp, Facts: &stmts[i].Facts}
		literal = literal || stmts[i].LiteralSensitive
	}
	e.lexerSplit = len(splitStatements(sh.Normalized, nil)) == len(stmts)
	if literal {
		return &shapeEntry{exact: true}, e
	}
	return e, nil
}

// inspectSlow parses the text itself, uncached: for texts the lexer cannot
// follow, texts that do not parse (the error's position depends on the
// literals), and the rare shapes whose statements the lexer splits wrongly.
func (c *Classifier) inspectSlow(text []byte, sc *Scratch) Inspection {
	start := time.Now()
	stmts, perr := c.parser.analyze(string(text))
	c.observeParse(start)
	if perr != nil {
		return Inspection{Err: perr}
	}
	sc.views = sc.views[:0]
	for i := range stmts {
		fp, err := c.parser.fingerprint(stmts[i].Text)
		if err != nil {
			return Inspection{Err: parseError(err)}
		}
		view := StatementView{StatementInfo: StatementInfo{Fingerprint: fp, Facts: &stmts[i].Facts}}
		var own Scratch
		if sh, ok := MakeShape([]byte(stmts[i].Text), &own); ok {
			view.Normalized = sh.Normalized
		} else if norm, err := pg_query.Normalize(stmts[i].Text); err == nil {
			view.Normalized = []byte(norm)
		}
		sc.views = append(sc.views, view)
	}
	return Inspection{Statements: sc.views}
}
