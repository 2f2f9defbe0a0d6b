package rules

import (
	"errors"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// parser is the one seam to libpg_query, so that the cgo binding can be
// swapped (for a WebAssembly build, say) without touching the rules.
type sqlParser interface {
	fingerprint(sql string) (string, error)
	normalize(sql string) (string, error)
	// analyze parses sql and returns each statement's facts.
	analyze(sql string) ([]Analyzed, *ParseError)
}

func (cgoParser) analyze(sql string) ([]Analyzed, *ParseError) { return Analyze(sql) }

type cgoParser struct{}

func (cgoParser) fingerprint(sql string) (string, error) { return pg_query.Fingerprint(sql) }
func (cgoParser) normalize(sql string) (string, error)   { return pg_query.Normalize(sql) }

// parseError converts pg_query's error into belay's.
func parseError(err error) *ParseError {
	var pe *parser.Error
	if errors.As(err, &pe) {
		return &ParseError{Rule: RuleUnparsable, Message: pe.Message, Position: pe.Cursorpos}
	}
	return &ParseError{Rule: RuleUnparsable, Message: err.Error()}
}
