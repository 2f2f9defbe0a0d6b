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
	// split returns the text of each statement, as PostgreSQL's parser
	// delimits them (it also validates the whole string).
	split(sql string) ([]string, error)
}

type cgoParser struct{}

func (cgoParser) fingerprint(sql string) (string, error) { return pg_query.Fingerprint(sql) }
func (cgoParser) normalize(sql string) (string, error)   { return pg_query.Normalize(sql) }

// parseError converts pg_query's error into belay's.
func parseError(err error) *ParseError {
	var pe *parser.Error
	if errors.As(err, &pe) {
		return &ParseError{Message: pe.Message, Position: pe.Cursorpos}
	}
	return &ParseError{Message: err.Error()}
}

func (cgoParser) split(sql string) ([]string, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(tree.Stmts))
	for _, st := range tree.Stmts {
		start := int(st.StmtLocation)
		end := len(sql)
		if st.StmtLen > 0 {
			end = start + int(st.StmtLen)
		}
		out = append(out, sql[start:end])
	}
	return out, nil
}
