// Package test holds belay's integration tests: real clients (psql, pgbench,
// pgx) talking to a real PostgreSQL through a real belay process.
//
// TestMain builds ./cmd/belay once (with -race when BELAY_TEST_RACE=1) and
// finds a PostgreSQL: BELAY_TEST_UPSTREAM (host:port, user postgres, trust
// auth, database test), else 127.0.0.1:5432, else a throwaway cluster
// (internal/pgcluster; BELAY_TEST_UPSTREAM=cluster forces one). Each
// test starts its own belay on free ports with startBelay and connects to it:
//
//	p := startBelay(t, belayOpts{})
//	out, _, err := runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-Atc", "SELECT 1")
//
// With BELAY_TEST_DIRECT=1 nothing is built and startBelay returns the upstream
// itself, which proves that what a test expects is what PostgreSQL does; tests
// about belay alone (audit, metrics) skip then.
//
//	go test ./test/ -count=1
//	BELAY_TEST_DIRECT=1 go test ./test/ -run 'Psql|Pgx|Pgbench' -count=1
//
// psql and pgbench must be installed: a missing client fails, never skips.
package test
