package rules

import pg_query "github.com/pganalyze/pg_query_go/v6"

// PostgreSQL's table lock modes, weakest first, as its documentation and
// pg_locks (without the "Lock" suffix) spell them.
const (
	lockAccessShare          = "ACCESS SHARE"
	lockRowShare             = "ROW SHARE"
	lockRowExclusive         = "ROW EXCLUSIVE"
	lockShareUpdateExclusive = "SHARE UPDATE EXCLUSIVE"
	lockShare                = "SHARE"
	lockShareRowExclusive    = "SHARE ROW EXCLUSIVE"
	lockExclusive            = "EXCLUSIVE"
	lockAccessExclusive      = "ACCESS EXCLUSIVE"
)

// lockModes lists the modes by strength; LockStmt.Mode is the index (1-8),
// as in PostgreSQL's lockdefs.h.
var lockModes = [...]string{"", lockAccessShare, lockRowShare, lockRowExclusive, lockShareUpdateExclusive,
	lockShare, lockShareRowExclusive, lockExclusive, lockAccessExclusive}

// lockRank is a mode's strength; 0 for "" and unknown names.
func lockRank(mode string) int {
	for i, m := range lockModes {
		if m == mode {
			return i
		}
	}
	return 0
}

// raiseLock records mode in f when it is heavier than what f holds:
// LockLevel is the heaviest lock a statement takes.
func raiseLock(f *Facts, mode string) {
	if lockRank(mode) > lockRank(f.LockLevel) {
		f.LockLevel = mode
	}
}

// analyzeLock: LOCK TABLE holds its lock until the transaction ends. Modes
// up to ROW EXCLUSIVE are the ones ordinary SELECT, SELECT FOR UPDATE and
// INSERT/UPDATE/DELETE take anyway (pg_dump locks every table in ACCESS
// SHARE), so only the stronger modes fire lock-table.
func (a *ua) analyzeLock(s *pg_query.LockStmt) {
	a.f.Kind = KindUtility
	if s == nil {
		return
	}
	mode := lockAccessExclusive // LOCK t without IN … MODE
	if s.Mode > 0 && int(s.Mode) < len(lockModes) {
		mode = lockModes[s.Mode]
	}
	raiseLock(a.f, mode)
	for _, r := range s.Relations {
		name := a.useRel(r.GetRangeVar(), AccessLock)
		if name != "" && lockRank(mode) > lockRank(lockRowExclusive) {
			a.find(RuleLockTable, name, "LOCK TABLE … IN "+mode+" MODE holds the lock until the transaction ends")
		}
	}
}
