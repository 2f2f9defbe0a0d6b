package rules

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeVacuum classifies VACUUM and ANALYZE. Plain VACUUM and ANALYZE
// take SHARE UPDATE EXCLUSIVE, which lets reads and writes through; VACUUM
// FULL rewrites each table under ACCESS EXCLUSIVE.
func (a *ua) analyzeVacuum(s *pg_query.VacuumStmt) {
	a.f.Kind = KindUtility
	if s == nil {
		return
	}
	full := false
	for _, d := range utilDefElems(s.Options) {
		if strings.EqualFold(d.Defname, "full") {
			v, literal := utilBool(d)
			full = full || v
			a.f.LiteralSensitive = a.f.LiteralSensitive || literal // VACUUM (FULL 0) versus (FULL 1)
		}
	}
	access := AccessRead
	if full {
		access = AccessLock
		raiseLock(a.f, lockAccessExclusive)
	} else {
		raiseLock(a.f, lockShareUpdateExclusive)
	}
	var names []string
	for _, r := range s.Rels {
		if vr := r.GetVacuumRelation(); vr != nil {
			if name := a.useRel(vr.Relation, access); name != "" {
				names = append(names, name)
			}
		}
	}
	if !full {
		return
	}
	if len(names) == 0 {
		a.find(RuleVacuumFull, "", "VACUUM FULL without a table rewrites every table of the database, each under an ACCESS EXCLUSIVE lock")
	}
	for _, name := range names {
		a.find(RuleVacuumFull, name, "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock")
	}
}

// analyzeCluster: CLUSTER rewrites the table in index order under ACCESS
// EXCLUSIVE; without a table it does so for every table clustered before.
func (a *ua) analyzeCluster(s *pg_query.ClusterStmt) {
	a.f.Kind = KindUtility
	raiseLock(a.f, lockAccessExclusive)
	var name string
	if s != nil {
		name = a.useRel(s.Relation, AccessLock)
	}
	if name == "" {
		a.find(RuleCluster, "", "CLUSTER without a table rewrites every previously clustered table under an ACCESS EXCLUSIVE lock")
		return
	}
	a.find(RuleCluster, name, "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock")
}

// analyzeReindex: REINDEX blocks writes to the table (SHARE) and takes
// ACCESS EXCLUSIVE on each index, which the planner of every query on the
// table waits for: in practice it blocks reads too. CONCURRENTLY does not.
func (a *ua) analyzeReindex(s *pg_query.ReindexStmt) {
	a.f.Kind = KindUtility
	if s == nil {
		return
	}
	concurrent := false
	for _, d := range utilDefElems(s.Params) {
		if strings.EqualFold(d.Defname, "concurrently") {
			v, literal := utilBool(d)
			concurrent = concurrent || v
			a.f.LiteralSensitive = a.f.LiteralSensitive || literal
		}
	}
	target := s.Name
	if s.Relation != nil {
		target = a.useRel(s.Relation, AccessLock)
	}
	if concurrent {
		raiseLock(a.f, lockShareUpdateExclusive)
		return
	}
	raiseLock(a.f, lockAccessExclusive)
	what := "the table's indexes"
	switch s.Kind {
	case pg_query.ReindexObjectType_REINDEX_OBJECT_INDEX:
		what = "the index"
	case pg_query.ReindexObjectType_REINDEX_OBJECT_SCHEMA:
		what = "every index in the schema"
		a.useSchema(s.Name)
	case pg_query.ReindexObjectType_REINDEX_OBJECT_DATABASE, pg_query.ReindexObjectType_REINDEX_OBJECT_SYSTEM:
		what = "every index in the database"
	}
	a.find(RuleReindex, target, "REINDEX without CONCURRENTLY rebuilds "+what+" while blocking writes, and reads that use them")
}

// analyzeIndex: CREATE INDEX holds SHARE on the table (no writes) for the
// whole build; CONCURRENTLY holds SHARE UPDATE EXCLUSIVE instead.
func (a *ua) analyzeIndex(s *pg_query.IndexStmt) {
	a.f.Kind = KindDDL
	if s == nil {
		return
	}
	name := a.useRel(s.Relation, AccessDDL)
	if s.Concurrent {
		raiseLock(a.f, lockShareUpdateExclusive)
		return
	}
	raiseLock(a.f, lockShare)
	what := "CREATE INDEX"
	if s.Unique {
		what = "CREATE UNIQUE INDEX"
	}
	a.find(RuleCreateIndex, name, what+" without CONCURRENTLY blocks writes to the table while the index builds")
}

// analyzeRefresh: REFRESH MATERIALIZED VIEW replaces the view's rows, under
// ACCESS EXCLUSIVE (EXCLUSIVE, which lets reads through, with
// CONCURRENTLY).
func (a *ua) analyzeRefresh(s *pg_query.RefreshMatViewStmt) {
	a.f.Kind = KindUtility
	if s == nil {
		return
	}
	a.useRel(s.Relation, AccessWrite)
	if s.Concurrent {
		raiseLock(a.f, lockExclusive)
	} else {
		raiseLock(a.f, lockAccessExclusive)
	}
}
