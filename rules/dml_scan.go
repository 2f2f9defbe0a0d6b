package rules

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// dmlScan goes through a SELECT, INSERT, UPDATE, DELETE or MERGE and
// everything nested in it (CTEs, subqueries, set operations), collecting
// the tables it touches and the findings of every data-modifying
// statement it contains: `WITH x AS (DELETE FROM t) SELECT 1` deletes.
type dmlScan struct {
	tables   []TableUse
	findings []Finding
	ctes     []string  // CTE names in scope: an unqualified FROM item of that name is not a table
	lock     lockScope // FOR UPDATE/SHARE that applies to the FROM items being visited
	writes   bool      // an INSERT, UPDATE, DELETE or MERGE somewhere
	into     bool      // SELECT … INTO creates a table
	fold     folder
}

// lockScope is the FOR UPDATE/SHARE of an enclosing SELECT: all its FROM
// items, or those named in OF.
type lockScope struct {
	all   bool
	names []string
}

func (l lockScope) covers(name string) bool {
	if l.all {
		return true
	}
	for _, n := range l.names {
		if n == name {
			return true
		}
	}
	return false
}

func (s *dmlScan) visit(m protoreflect.Message) {
	switch x := m.Interface().(type) {
	case *pg_query.RangeVar:
		s.rangeVar(x)
		return
	case *pg_query.LockingClause:
		return // OF names FROM items, not tables: selectStmt handles it
	case *pg_query.IntoClause:
		s.into = true
		s.add(x.GetRel(), AccessDDL)
		return
	case *pg_query.SelectStmt:
		s.selectStmt(m, x)
		return
	case *pg_query.InsertStmt:
		s.write(m, x.GetWithClause(), x.GetRelation())
		return
	case *pg_query.UpdateStmt:
		s.checkWhere("UPDATE", "FROM", x.GetRelation(), x.GetFromClause(), x.GetWhereClause())
		s.write(m, x.GetWithClause(), x.GetRelation())
		return
	case *pg_query.DeleteStmt:
		s.checkWhere("DELETE", "USING", x.GetRelation(), x.GetUsingClause(), x.GetWhereClause())
		s.write(m, x.GetWithClause(), x.GetRelation())
		return
	case *pg_query.MergeStmt:
		s.checkMerge(x)
		s.write(m, x.GetWithClause(), x.GetRelation())
		return
	case *pg_query.SubLink:
		// A subquery in an expression is not locked by the enclosing
		// SELECT's FOR UPDATE.
		saved := s.lock
		s.lock = lockScope{}
		eachChild(m, func(_ protoreflect.FieldDescriptor, c protoreflect.Message) { s.visit(c) })
		s.lock = saved
		return
	case *pg_query.RangeSubselect:
		s.lockedItem(m, x.GetAlias())
		return
	case *pg_query.JoinExpr:
		s.lockedItem(m, x.GetAlias())
		return
	}
	eachChild(m, func(_ protoreflect.FieldDescriptor, c protoreflect.Message) { s.visit(c) })
}

// write visits a data-modifying statement. Its target is a table even
// when a CTE has its name: PostgreSQL does not look up CTEs there.
func (s *dmlScan) write(m protoreflect.Message, with *pg_query.WithClause, target *pg_query.RangeVar) {
	s.writes = true
	s.statement(m, with, nil)
	s.add(target, AccessWrite)
}

// lockedItem visits a subquery or join in FROM: FOR UPDATE OF its alias
// locks everything in it; OF other names does not reach inside.
func (s *dmlScan) lockedItem(m protoreflect.Message, alias *pg_query.Alias) {
	saved := s.lock
	switch {
	case saved.all:
	case alias != nil && saved.covers(alias.GetAliasname()):
		s.lock = lockScope{all: true}
	case len(saved.names) > 0 && m.Descriptor().Name() == "RangeSubselect":
		s.lock = lockScope{}
	}
	eachChild(m, func(_ protoreflect.FieldDescriptor, c protoreflect.Message) { s.visit(c) })
	s.lock = saved
}

func (s *dmlScan) selectStmt(m protoreflect.Message, x *pg_query.SelectStmt) {
	own := s.lock // set when this SELECT is a locked subquery in FROM
	for _, n := range x.GetLockingClause() {
		lc := n.GetLockingClause()
		if lc == nil {
			continue
		}
		if len(lc.GetLockedRels()) == 0 {
			own = lockScope{all: true}
			continue
		}
		for _, r := range lc.GetLockedRels() {
			if rv := r.GetRangeVar(); rv != nil {
				own.names = append(own.names, rv.GetRelname())
			}
		}
	}
	s.statement(m, x.GetWithClause(), func(fd protoreflect.FieldDescriptor) lockScope {
		if fd.Name() == "from_clause" {
			return own
		}
		return lockScope{}
	})
}

// statement visits a statement's fields with its CTEs in scope. In a
// plain WITH, each CTE sees the ones before it; in WITH RECURSIVE, all.
// lockFor gives the lock scope of each field (none when nil).
func (s *dmlScan) statement(m protoreflect.Message, with *pg_query.WithClause, lockFor func(protoreflect.FieldDescriptor) lockScope) {
	outer := len(s.ctes)
	saved := s.lock
	s.lock = lockScope{}
	var names []string
	for _, c := range with.GetCtes() {
		names = append(names, c.GetCommonTableExpr().GetCtename())
	}
	for i, c := range with.GetCtes() {
		visible := names[:i]
		if with.GetRecursive() {
			visible = names
		}
		s.ctes = append(s.ctes[:outer], visible...)
		s.visit(c.ProtoReflect())
	}
	s.ctes = append(s.ctes[:outer], names...)
	eachChild(m, func(fd protoreflect.FieldDescriptor, c protoreflect.Message) {
		if fd.Name() == "with_clause" {
			return
		}
		s.lock = lockScope{}
		if lockFor != nil {
			s.lock = lockFor(fd)
		}
		s.visit(c)
	})
	s.lock = saved
	s.ctes = s.ctes[:outer]
}

func (s *dmlScan) isCTE(rv *pg_query.RangeVar) bool {
	if rv.GetSchemaname() != "" || rv.GetCatalogname() != "" {
		return false
	}
	for _, n := range s.ctes {
		if n == rv.GetRelname() {
			return true
		}
	}
	return false
}

// rangeVar records a table read (or locked) in FROM, JOIN, USING or a
// subquery. The targets of writes are recorded by their statements.
func (s *dmlScan) rangeVar(rv *pg_query.RangeVar) {
	if s.isCTE(rv) {
		return
	}
	access := AccessRead
	if s.lock.covers(refName(rv)) {
		access = AccessLock
	}
	s.add(rv, access)
}

// refName is how the rest of the statement refers to a FROM item: its
// alias, or its name.
func refName(rv *pg_query.RangeVar) string {
	if a := rv.GetAlias().GetAliasname(); a != "" {
		return a
	}
	return rv.GetRelname()
}

// accessRank orders accesses: a table both read and written is listed once,
// as written.
func accessRank(a Access) int {
	switch a {
	case AccessRead:
		return 1
	case AccessLock:
		return 2
	case AccessWrite:
		return 3
	case AccessDDL:
		return 4
	}
	return 0
}

func (s *dmlScan) add(rv *pg_query.RangeVar, access Access) {
	if rv.GetRelname() == "" {
		return
	}
	s.tables = addTable(s.tables, TableUse{Schema: rv.GetSchemaname(), Name: rv.GetRelname(), Access: access})
}

// addTable adds t to tables, once per schema and name, with the strongest
// access seen.
func addTable(tables []TableUse, t TableUse) []TableUse {
	for i := range tables {
		if tables[i].Schema == t.Schema && tables[i].Name == t.Name {
			if accessRank(t.Access) > accessRank(tables[i].Access) {
				tables[i].Access = t.Access
			}
			return tables
		}
	}
	return append(tables, t)
}
