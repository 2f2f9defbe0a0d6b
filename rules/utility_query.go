package rules

import pg_query "github.com/pganalyze/pg_query_go/v6"

// analyzeCreateTableAs: CREATE TABLE AS and CREATE MATERIALIZED VIEW run
// their query now (unless WITH NO DATA), and the query may write through a
// data-modifying WITH.
func (a *ua) analyzeCreateTableAs(s *pg_query.CreateTableAsStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	a.useRel(s.GetInto().GetRel(), AccessDDL)
	if s.Query == nil {
		return
	}
	in := a.treeFacts(s.Query)
	if s.GetInto().GetSkipData() {
		// WITH NO DATA runs nothing: only the findings count (an
		// unknown statement inside is still unknown).
		a.merge(&in, "", false)
		return
	}
	a.merge(&in, "", true)
	if in.Prepared != nil && in.Prepared.Op == ExecuteOp {
		// CREATE TABLE … AS EXECUTE p: what runs is what p was prepared as.
		a.f.Prepared = in.Prepared
	}
}

// analyzeDeclare: DECLARE CURSOR plans a query that FETCH runs; PostgreSQL
// allows only a SELECT or VALUES without data-modifying WITH, so it reads.
func (a *ua) analyzeDeclare(s *pg_query.DeclareCursorStmt) {
	a.f.Kind = KindRead
	if s == nil || s.Query == nil {
		return
	}
	in := a.treeFacts(s.Query)
	a.merge(&in, "", true)
	if in.Kind == KindWrite || in.Kind == KindUnknown {
		a.f.Kind = in.Kind
	}
}

// analyzeCreateSchema: CREATE SCHEMA may create tables, views, indexes,
// sequences and triggers in the same statement; they land in the new
// schema when unqualified.
func (a *ua) analyzeCreateSchema(s *pg_query.CreateSchemaStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	a.useSchema(s.Schemaname)
	for _, elt := range s.SchemaElts {
		in := a.treeFacts(elt)
		for i := range in.Tables {
			if in.Tables[i].Schema == "" {
				in.Tables[i].Schema = s.Schemaname
			}
		}
		a.merge(&in, "", true)
	}
}
