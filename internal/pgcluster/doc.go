// Package pgcluster brings up a throwaway PostgreSQL cluster for tests.
//
// It runs Debian's (or any) initdb and pg_ctl binaries, on a random free TCP
// port on 127.0.0.1, with its Unix socket and data directory in a fresh temp
// directory that Close removes. The local socket always trusts, so setup can
// create roles; TCP connections use the authentication method the test asks
// for. When the test runs as root (initdb refuses to), the server runs as the
// "postgres" system user through runuser.
//
//	c, err := pgcluster.Start(ctx, pgcluster.Options{
//		Auth:  "scram-sha-256",
//		Users: map[string]string{"alice": "s3cret"},
//	})
//	if err != nil { ... }
//	defer c.Close()
//	conn, err := pgx.Connect(ctx, c.DSN("alice", "s3cret", "postgres"))
//
// In tests, ForTest does the same, skips when no PostgreSQL binaries are
// installed, and registers Close with t.Cleanup.
package pgcluster
