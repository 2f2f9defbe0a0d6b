package rules

import (
	"regexp"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// plFunction is the CREATE FUNCTION text libpg_query's PL/pgSQL compiler
// takes, around a body: the signature declares the parameters and, for a
// trigger function, NEW and OLD.
type plFunction struct {
	head, body, tail string
}

// plInline is the function a DO block's body compiles as.
func plInline(body string) plFunction {
	return plFunction{head: "CREATE FUNCTION belay_inline() RETURNS void LANGUAGE plpgsql AS ", body: body}
}

// plDeclared is the function a CREATE FUNCTION statement declares, with
// its body put back in a dollar quote belay chooses (PostgreSQL's deparser
// may quote it otherwise).
func plDeclared(s *pg_query.CreateFunctionStmt, body string) (plFunction, bool) {
	const placeholder = "belay_body_placeholder"
	cp := &pg_query.CreateFunctionStmt{IsProcedure: s.IsProcedure, Funcname: s.Funcname,
		Parameters: s.Parameters, ReturnType: s.ReturnType}
	for _, o := range s.Options {
		if d := o.GetDefElem(); d != nil && d.Defname == "as" {
			ph := &pg_query.Node{Node: &pg_query.Node_String_{String_: &pg_query.String{Sval: placeholder}}}
			o = &pg_query.Node{Node: &pg_query.Node_DefElem{DefElem: &pg_query.DefElem{Defname: "as",
				Arg: &pg_query.Node{Node: &pg_query.Node_List{List: &pg_query.List{Items: []*pg_query.Node{ph}}}}}}}
		}
		cp.Options = append(cp.Options, o)
	}
	text, ok := utilDeparse(&pg_query.Node{Node: &pg_query.Node_CreateFunctionStmt{CreateFunctionStmt: cp}})
	i := strings.Index(text, placeholder)
	if !ok || i < 1 {
		return plFunction{}, false
	}
	j := i + len(placeholder)
	switch {
	case strings.HasSuffix(text[:i], "$$") && strings.HasPrefix(text[j:], "$$"):
		return plFunction{head: text[:i-2], body: body, tail: text[j+2:]}, true
	case text[i-1] == '\'' && strings.HasPrefix(text[j:], "'"):
		return plFunction{head: text[:i-1], body: body, tail: text[j+1:]}, true
	}
	return plFunction{}, false
}

// text is the whole CREATE FUNCTION, with a dollar-quote tag the body
// cannot end early.
func (p plFunction) text() string {
	tag := "$belay$"
	for n := 1; strings.Index(p.body+tag, tag) != len(p.body); n++ {
		tag = "$belay" + strconv.Itoa(n) + "$"
	}
	return p.head + tag + p.body + tag + p.tail
}

// compile runs libpg_query's PL/pgSQL compiler. It cannot read the
// catalog, so it does not know that a variable declared with a table's row
// type (r t%ROWTYPE, or just r t) is composite, and an assignment to a field
// (r.a := 1) fails: "r.a" is not a known variable. Such a variable is
// declared record instead and the body compiled again; its statements are
// unchanged, and they are what belay checks.
func (p plFunction) compile() (string, error) {
	js, err := pg_query.ParsePlPgSqlToJSON(p.text())
	for try := 0; err != nil && try < 8; try++ {
		body, ok := plRetype(p.body, err.Error())
		if !ok {
			break
		}
		p.body = body
		js, err = pg_query.ParsePlPgSqlToJSON(p.text())
	}
	return js, err
}

var (
	plUnknownVariable = regexp.MustCompile(`"([^".]+)\.[^"]*" is not a known variable`)
	plDeclare         = regexp.MustCompile(`(?i)\bdeclare\b`)
	plBegin           = regexp.MustCompile(`(?i)\bbegin\b`)
)

// plRetype declares as record the variable an error names, when its
// declaration can be found in a DECLARE section of body (between DECLARE
// and the BEGIN that follows). Anything it gets wrong makes the body fail
// to compile, which fails closed.
func plRetype(body, msg string) (string, bool) {
	m := plUnknownVariable.FindStringSubmatch(msg)
	if m == nil {
		return "", false
	}
	decl, err := regexp.Compile(`(?i)(^|[\s;])(` + regexp.QuoteMeta(m[1]) + `\s+(?:constant\s+)?)([^;:=\s][^;:=]*?)(\s*(?:;|:=|=|\bdefault\b|\bnot\s+null\b))`)
	if err != nil {
		return "", false
	}
	for _, d := range plDeclare.FindAllStringIndex(body, -1) {
		start := d[1]
		end := len(body)
		if b := plBegin.FindStringIndex(body[start:]); b != nil {
			end = start + b[0]
		}
		loc := decl.FindStringSubmatchIndex(body[start:end])
		if loc == nil {
			continue
		}
		typeStart, typeEnd := start+loc[6], start+loc[7]
		if strings.EqualFold(strings.TrimSpace(body[typeStart:typeEnd]), "record") {
			return "", false
		}
		return body[:typeStart] + "record" + body[typeEnd:], true
	}
	return "", false
}
