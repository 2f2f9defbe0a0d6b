package rules

// Classification is what belay knows about one query string. It is shared
// through the cache: treat it as read-only.
type Classification struct {
	// Fingerprint identifies the statement shape (pg_query fingerprint, hex),
	// the same for every literal value.
	Fingerprint string
	// Normalized is the text with literals replaced by $n placeholders: safe
	// to log, because the data in literals is often sensitive.
	Normalized string
	// Err is the parser's error when the text does not parse.
	Err *ParseError
}

// ParseError is PostgreSQL's own syntax error for a query string.
type ParseError struct {
	// Rule is RuleUnparsable, or RuleTooComplex for text belay refuses to
	// hand the parser at all.
	Rule     RuleID
	Message  string
	Position int // 1-based character position, 0 if unknown
}

func (e *ParseError) Error() string { return e.Message }
