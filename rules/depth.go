package rules

// MaxNestingBound is the deepest parse tree belay lets libpg_query build.
// The parser's recursive walks (fingerprinting, serialising the tree) run
// on the C stack and kill the process on input nested a few ten thousand
// levels deep — `SELECT 1+1+…+1` with 30 000 terms is 60 KB — so belay
// refuses such text before it reaches the parser. The protobuf tree output
// already gives up at 5 000 levels, so no parseable statement is lost.
const MaxNestingBound = 3000

// depthMeter computes, during the lexer pass, an upper bound on the depth
// of the parse tree: every token can add at most one level, except that
// lists (commas), AND/OR chains (flattened by PostgreSQL) and CASE arms
// start afresh, and a parenthesised group counts as one token of its
// enclosing expression once closed.
type depthMeter struct {
	base, seg int      // levels of the enclosing groups; tokens in the current segment
	stack     [][2]int // saved (base, seg) of enclosing groups
	max       int
}

func (d *depthMeter) token() {
	d.seg++
	if b := d.base + d.seg; b > d.max {
		d.max = b
	}
}

func (d *depthMeter) open() {
	d.token()
	d.stack = append(d.stack, [2]int{d.base, d.seg})
	d.base += d.seg
	d.seg = 0
}

func (d *depthMeter) close() {
	if n := len(d.stack); n > 0 {
		d.base, d.seg = d.stack[n-1][0], d.stack[n-1][1]
		d.stack = d.stack[:n-1]
	}
}

func (d *depthMeter) separator() { d.seg = 0 }

// keyword counts an identifier, treating list-like keywords as separators.
func (d *depthMeter) keyword(word []byte) {
	if len(word) >= 2 && len(word) <= 4 {
		switch {
		case equalFold(word, "and"), equalFold(word, "or"), equalFold(word, "case"),
			equalFold(word, "when"), equalFold(word, "then"), equalFold(word, "else"), equalFold(word, "end"):
			d.separator()
			return
		}
	}
	d.token()
}

// tooDeep reports whether the bound passed MaxNestingBound.
func (d *depthMeter) tooDeep() bool { return d.max > MaxNestingBound }

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}
