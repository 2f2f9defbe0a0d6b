// Package rules classifies SQL statements with PostgreSQL's own parser
// (libpg_query through pg_query_go). It is pure: no network, no database.
//
// Parsing costs tens of microseconds, so every result is cached by the
// exact statement text; a cache hit costs a map lookup:
//
//	c := rules.NewClassifier(rules.Options{CacheBytes: 64 << 20})
//	cl := c.Classify("SELECT * FROM orders WHERE id = 42")
//	fmt.Println(cl.Fingerprint, cl.Normalized) // "…", "SELECT * FROM orders WHERE id = $1"
package rules
