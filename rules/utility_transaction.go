package rules

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeTransaction: BEGIN, COMMIT, ROLLBACK, savepoints, two-phase
// commit. Which one it is comes from keywords, never from a literal (a
// savepoint name or a prepared transaction's id is a literal the shape
// cuts out, and neither decides EndsTransaction): COMMIT and ROLLBACK have
// different shapes, so the cache cannot hand one the other's facts.
func (a *ua) analyzeTransaction(s *pg_query.TransactionStmt) {
	a.f.Kind = KindTransaction
	switch s.GetKind() {
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, // COMMIT, END, COMMIT AND CHAIN
		pg_query.TransactionStmtKind_TRANS_STMT_PREPARE,         // PREPARE TRANSACTION: durable, to be committed later
		pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED: // COMMIT PREPARED 'gid'
		a.f.EndsTransaction = true
	}
}
