package rules

import pg_query "github.com/pganalyze/pg_query_go/v6"

// analyzeUtility fills f for DDL, privilege, transaction-control and
// utility statements, and reports whether n was one of them.
func analyzeUtility(n *pg_query.Node, f *Facts) bool { return false }
