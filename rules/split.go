package rules

// piece is one statement of a query string: text[start:end], trimmed.
type piece struct{ start, end int }

// splitStatements finds the statements of a literal-free (normalised) text:
// pieces between semicolons at parenthesis depth 0, skipping comments and
// quoted identifiers, and dropping pieces that hold only blanks and
// comments (PostgreSQL ignores those). Function bodies written as BEGIN
// ATOMIC ... END hold semicolons at depth 0; the caller checks the count
// against the parser's and distrusts a mismatch.
func splitStatements(text []byte, out []piece) []piece {
	depth := 0
	contentStart, contentEnd := -1, -1
	mark := func(from, to int) {
		if contentStart < 0 {
			contentStart = from
		}
		contentEnd = to
	}
	flush := func() {
		if contentStart >= 0 {
			out = append(out, piece{contentStart, contentEnd})
		}
		contentStart, contentEnd = -1, -1
	}
	n := len(text)
	for i := 0; i < n; {
		c := text[i]
		switch {
		case isCommentStart(text, i):
			end, ok := skipComment(text, i)
			if !ok {
				end = n
			}
			i = end
		case c == '"':
			end, ok := skipQuoted(text, i+1, '"', false)
			if !ok {
				end = n
			}
			mark(i, end)
			i = end
		case c == ';' && depth == 0:
			flush()
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		default:
			switch c {
			case '(', '[':
				depth++
			case ')', ']':
				if depth > 0 {
					depth--
				}
			}
			mark(i, i+1)
			i++
		}
	}
	flush()
	return out
}
