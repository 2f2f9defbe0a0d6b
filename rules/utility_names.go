package rules

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// ua is one utility statement's analysis: the facts being filled and
// where it sits among code bodies (DO, function bodies).
type ua struct {
	f     *Facts
	scope codeScope
}

func (a *ua) find(rule RuleID, target, detail string) {
	for _, x := range a.f.Findings {
		if x.Rule == rule && x.Target == target && x.Detail == detail {
			return
		}
	}
	a.f.Findings = append(a.f.Findings, Finding{Rule: rule, Target: target, Detail: detail})
}

// use records a table (or, for protected-schema, any object) the
// statement touches, once.
func (a *ua) use(schema, name string, access Access) {
	for _, t := range a.f.Tables {
		if t.Schema == schema && t.Name == name && t.Access == access {
			return
		}
	}
	a.f.Tables = append(a.f.Tables, TableUse{Schema: schema, Name: name, Access: access})
}

// useRel records a relation given as a RangeVar; it returns the name for
// findings ("" for nil).
func (a *ua) useRel(rv *pg_query.RangeVar, access Access) string {
	if rv == nil || rv.Relname == "" {
		return ""
	}
	a.use(rv.Schemaname, rv.Relname, access)
	return utilRelName(rv)
}

// useObject records a non-relation object (function, type, …) only when it
// lives in belay's schema: Tables is about tables, but protected-schema
// must see every change to belay's objects.
func (a *ua) useObject(parts []string) {
	// DDL on anything in belay's schemas is recorded as a TableUse there,
	// so that the protected-schema check (which looks at every statement's
	// non-read uses) sees it.
	if len(parts) >= 2 && isProtectedSchema(parts[len(parts)-2]) {
		a.use(parts[len(parts)-2], parts[len(parts)-1], AccessDDL)
	}
}

// useSchema records a change to a whole schema (only belay's matters).
func (a *ua) useSchema(name string) {
	if isProtectedSchema(name) {
		a.use(name, "", AccessDDL)
	}
}

func utilRelName(rv *pg_query.RangeVar) string {
	if rv == nil {
		return ""
	}
	if rv.Schemaname == "" {
		return rv.Relname
	}
	return rv.Schemaname + "." + rv.Relname
}

// utilNameParts is the dotted name of an object as the parser gives it: a
// String, a List of Strings, a TypeName, an ObjectWithArgs or a RangeVar.
func utilNameParts(n *pg_query.Node) []string {
	if n == nil {
		return nil
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_String_:
		if x.String_ != nil {
			return []string{x.String_.Sval}
		}
	case *pg_query.Node_List:
		if x.List != nil {
			return utilStrings(x.List.Items)
		}
	case *pg_query.Node_TypeName:
		if x.TypeName != nil {
			return utilStrings(x.TypeName.Names)
		}
	case *pg_query.Node_ObjectWithArgs:
		if x.ObjectWithArgs != nil {
			return utilStrings(x.ObjectWithArgs.Objname)
		}
	case *pg_query.Node_RangeVar:
		if rv := x.RangeVar; rv != nil {
			if rv.Schemaname != "" {
				return []string{rv.Schemaname, rv.Relname}
			}
			return []string{rv.Relname}
		}
	}
	return nil
}

// utilStrings keeps the String items of a name list.
func utilStrings(items []*pg_query.Node) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s := it.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

// utilSplitRel turns a dotted relation name into schema and name.
func utilSplitRel(parts []string) (schema, name string) {
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	default:
		return parts[len(parts)-2], parts[len(parts)-1]
	}
}

func utilJoin(parts []string) string { return strings.Join(parts, ".") }

// utilRelationObject reports whether objects of type t are relations, recorded
// in Tables whatever their schema.
func utilRelationObject(t pg_query.ObjectType) bool {
	switch t {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW, pg_query.ObjectType_OBJECT_MATVIEW,
		pg_query.ObjectType_OBJECT_INDEX, pg_query.ObjectType_OBJECT_SEQUENCE, pg_query.ObjectType_OBJECT_FOREIGN_TABLE:
		return true
	}
	return false
}

// utilSubObject reports whether objects of type t are named relative to a
// relation: [schema.]table.name (columns, triggers, rules, policies,
// table constraints).
func utilSubObject(t pg_query.ObjectType) bool {
	switch t {
	case pg_query.ObjectType_OBJECT_COLUMN, pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_RULE,
		pg_query.ObjectType_OBJECT_POLICY, pg_query.ObjectType_OBJECT_TABCONSTRAINT:
		return true
	}
	return false
}

// useNamed records an object named by n, of type t, changed by DDL.
func (a *ua) useNamed(t pg_query.ObjectType, n *pg_query.Node) {
	parts := utilNameParts(n)
	switch {
	case len(parts) == 0:
	case t == pg_query.ObjectType_OBJECT_SCHEMA:
		a.useSchema(parts[0])
	case utilRelationObject(t):
		schema, name := utilSplitRel(parts)
		a.use(schema, name, AccessDDL)
	case utilSubObject(t):
		if len(parts) >= 2 {
			schema, name := utilSplitRel(parts[:len(parts)-1])
			a.use(schema, name, AccessDDL)
		}
	default:
		a.useObject(parts)
	}
}

// utilBool reads a boolean option as PostgreSQL's defGetBoolean does: no
// argument means true. literal reports that the value came from text the
// shape cuts out (a number or a string), so the facts depend on it.
func utilBool(d *pg_query.DefElem) (value, literal bool) {
	if d == nil || d.Arg == nil {
		return true, false
	}
	switch x := d.Arg.Node.(type) {
	case *pg_query.Node_Integer:
		return x.Integer == nil || x.Integer.Ival != 0, true
	case *pg_query.Node_Boolean:
		return x.Boolean == nil || x.Boolean.Boolval, false
	case *pg_query.Node_String_:
		if x.String_ != nil {
			if v, ok := utilParseBool(x.String_.Sval); ok {
				return v, true
			}
		}
	case *pg_query.Node_AConst:
		if x.AConst != nil {
			switch {
			case x.AConst.GetIval() != nil:
				return x.AConst.GetIval().Ival != 0, true
			case x.AConst.GetBoolval() != nil:
				return x.AConst.GetBoolval().Boolval, false
			case x.AConst.GetSval() != nil:
				if v, ok := utilParseBool(x.AConst.GetSval().Sval); ok {
					return v, true
				}
			}
		}
	}
	// PostgreSQL rejects anything else; count it as set, to fail closed.
	return true, true
}

// utilParseBool is PostgreSQL's parse_bool: true/false, yes/no, on/off,
// 1/0, and unique prefixes of the words, any case.
func utilParseBool(s string) (value, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return false, false
	}
	prefix := func(word string, min int) bool { return len(s) >= min && strings.HasPrefix(word, s) }
	switch {
	case prefix("true", 1), prefix("yes", 1), prefix("on", 2), s == "1":
		return true, true
	case prefix("false", 1), prefix("no", 1), prefix("off", 2), s == "0":
		return false, true
	}
	return false, false
}

// utilDefElems yields the DefElems of an option list.
func utilDefElems(opts []*pg_query.Node) []*pg_query.DefElem {
	out := make([]*pg_query.DefElem, 0, len(opts))
	for _, o := range opts {
		if d := o.GetDefElem(); d != nil {
			out = append(out, d)
		}
	}
	return out
}
