package rules

import (
	"encoding/json"
	"sort"
	"strings"
)

// checkPlpgsql compiles a PL/pgSQL function with libpg_query's PL/pgSQL
// compiler and checks every SQL statement and expression in it. The status
// is the body's own: a body that does not compile runs nothing (PostgreSQL
// rejects it too), but belay says it did not look.
func (a *ua) checkPlpgsql(fn plFunction, context string, runsNow bool) textStatus {
	if a.scope.depth >= maxCodeDepth {
		return textTooComplex
	}
	if st := utilTextSafe(fn.body); st != textChecked {
		return st
	}
	js, err := fn.compile()
	if err != nil {
		return textUnparsable
	}
	var tree any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return textUnparsable
	}
	w := plWalker{a: a, context: context, runsNow: runsNow}
	w.walk(tree)
	if w.worst != textChecked {
		a.notChecked(w.worst, "a statement", context, runsNow)
	}
	return textChecked
}

// plWalker goes through the JSON of a compiled PL/pgSQL function. It does
// not follow the statement types one by one: every PLpgSQL_expr anywhere
// (statements, conditions, loop bounds, variable defaults, cursor queries,
// RAISE arguments …) is checked, so a construct belay does not know is
// still searched.
type plWalker struct {
	a       *ua
	context string
	runsNow bool
	worst   textStatus
	dynamic bool
}

func (w *plWalker) walk(v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // findings in a stable order
		for _, k := range keys {
			switch k {
			case "PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors", "dynquery":
				// EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE, RETURN
				// QUERY EXECUTE: SQL built at run time.
				w.dynamicSQL()
			case "PLpgSQL_expr":
				w.expr(x[k])
				continue
			}
			w.walk(x[k])
		}
	case []any:
		for _, e := range x {
			w.walk(e)
		}
	}
}

func (w *plWalker) dynamicSQL() {
	if w.dynamic {
		return
	}
	w.dynamic = true
	w.a.find(RuleOpaqueCode, "", "dynamic SQL "+w.context+" cannot be checked")
	if w.runsNow {
		w.a.f.MayWrite = true
	}
}

// expr checks one PL/pgSQL expression or SQL statement. parseMode is
// PostgreSQL's RawParseMode: 0 a whole statement, 2 an expression (which
// PL/pgSQL runs as SELECT expr), 3-5 an assignment "target := expr".
func (w *plWalker) expr(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	q, _ := m["query"].(string)
	mode, _ := m["parseMode"].(float64)
	if strings.TrimSpace(q) == "" {
		return
	}
	var sql string
	switch mode {
	case 0:
		sql = q
	case 2:
		sql = "SELECT " + q
	case 3, 4, 5:
		sql = "SELECT " + plAssignValue(q)
	default:
		return // 1: a type name
	}
	if st := w.a.checkText(sql, w.context, w.runsNow); st > w.worst {
		w.worst = st
	}
}

// plAssignValue is the expression of a PL/pgSQL assignment: what follows
// the first := or = outside brackets and quotes ("a[i] := f(x)" → "f(x)").
// Expressions in the target's subscripts are not checked.
func plAssignValue(q string) string {
	depth := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; c {
		case '"', '\'':
			i = plSkipQuoted(q, i)
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case ':':
			if depth == 0 && i+1 < len(q) && q[i+1] == '=' {
				return q[i+2:]
			}
		case '=':
			if depth == 0 {
				return q[i+1:]
			}
		}
	}
	return q
}

// plSkipQuoted returns the index of the quote closing the one at q[i]
// (a doubled quote stands for itself), or the last index.
func plSkipQuoted(q string, i int) int {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		if q[j] == quote {
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j
		}
	}
	return len(q) - 1
}
