package test

// Authentication passes through belay: PostgreSQL asks, the client answers,
// belay only carries the messages and stores no password. One throwaway
// cluster per method, since pg_hba decides the method.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/pgcluster"
)

func TestAuthPassthrough(t *testing.T) {
	t.Parallel()
	for _, method := range []string{pgcluster.AuthPassword, pgcluster.AuthMD5, pgcluster.AuthSCRAM} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			const alicePW, bobPW = "alice-Secret-1", "bob's pass word"
			cluster := pgcluster.ForTest(t, pgcluster.Options{
				Auth:  method,
				Users: map[string]string{"alice": alicePW, "bob": bobPW},
			})
			cfg := edgeConfig{}.YAML()
			if strings.Contains(cfg, "password") {
				t.Fatalf("test config must hold no password:\n%s", cfg)
			}
			p := startBelay(t, belayOpts{ConfigYAML: cfg, Upstream: cluster.Addr()})
			dsn := func(user string) string { return p.DSN("postgres", user) }

			// psql, password from PGPASSWORD.
			out, errOut, err := runPsqlEnv(t, []string{"PGPASSWORD=" + alicePW}, dsn("alice"), "-Atc", "SELECT current_user")
			if err != nil || strings.TrimSpace(out) != "alice" {
				t.Fatalf("psql as alice: out %q, err %v, stderr %q", out, err, errOut)
			}

			// pgx, password in the connection string; this session stays
			// open while others fail to log in.
			bob, err := tryConnect(t, withParams(dsn("bob"), "password", bobPW))
			if err != nil {
				t.Fatalf("pgx as bob: %v", err)
			}
			if got := queryString(t, bob, "SELECT current_user::text"); got != "bob" {
				t.Fatalf("pgx current_user = %q, want bob", got)
			}

			// Wrong password: PostgreSQL's own error, SQLSTATE 28P01.
			_, errOut, err = runPsqlEnv(t, []string{"PGPASSWORD=wrong"}, dsn("alice"), "-Atc", "SELECT 1")
			if exitCode(err) != 2 || !strings.Contains(errOut, `password authentication failed for user "alice"`) {
				t.Fatalf("psql wrong password: exit %d (want 2), stderr %q", exitCode(err), errOut)
			}
			_, err = tryConnect(t, withParams(dsn("alice"), "password", "wrong"))
			if sqlState(err) != "28P01" || !strings.Contains(err.Error(), "password authentication failed") {
				t.Fatalf("pgx wrong password: got %v, want SQLSTATE 28P01 password authentication failed", err)
			}
			// No password at all: libpq gives up without asking (-w).
			_, errOut, err = runPsqlEnv(t, nil, dsn("alice"), "-Atc", "SELECT 1")
			if err == nil || !strings.Contains(errOut, "no password supplied") {
				t.Fatalf("psql without password: err %v, stderr %q", err, errOut)
			}

			// belay keeps serving: the open session and a new one work.
			if got := queryString(t, bob, "SELECT current_user::text"); got != "bob" {
				t.Fatalf("open session after failed logins: current_user = %q", got)
			}
			out, errOut, err = runPsqlEnv(t, []string{"PGPASSWORD=" + bobPW}, dsn("bob"), "-Atc", "SELECT current_user")
			if err != nil || strings.TrimSpace(out) != "bob" {
				t.Fatalf("psql as bob after failed logins: out %q, err %v, stderr %q", out, err, errOut)
			}
			requireAlive(t, p)

			// Passwords never show up in belay's logs or audit trail.
			for _, pw := range []string{alicePW, bobPW, "wrong"} {
				if strings.Contains(p.Stderr(), pw) || strings.Contains(p.Stdout(), pw) {
					t.Errorf("belay's output contains the password %q", pw)
				}
			}
		})
	}
}

// TestAuthConcurrentLogins interleaves right and wrong passwords from many
// clients at once: every one must get its own answer, and no exchange may
// leak into another connection.
func TestAuthConcurrentLogins(t *testing.T) {
	t.Parallel()
	users := map[string]string{}
	for i := 0; i < 4; i++ {
		users[fmt.Sprintf("user%d", i)] = fmt.Sprintf("pw-%d-%d", i, i*7919)
	}
	cluster := pgcluster.ForTest(t, pgcluster.Options{Auth: pgcluster.AuthSCRAM, Users: users})
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{}.YAML(), Upstream: cluster.Addr()})

	const rounds = 5
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(users)*rounds)
	for user, pw := range users {
		for r := 0; r < rounds; r++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				conn, err := pgx.Connect(ctx, withParams(p.DSN("postgres", user), "password", pw))
				if err != nil {
					errs <- fmt.Errorf("%s right password: %w", user, err)
					return
				}
				defer conn.Close(ctx)
				var got string
				if err := conn.QueryRow(ctx, "SELECT current_user::text").Scan(&got); err != nil || got != user {
					errs <- fmt.Errorf("%s: current_user = %q, %v", user, got, err)
				}
			}()
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				conn, err := pgx.Connect(ctx, withParams(p.DSN("postgres", user), "password", pw+"x"))
				if err == nil {
					conn.Close(ctx)
					errs <- fmt.Errorf("%s wrong password: connected", user)
					return
				}
				if sqlState(err) != "28P01" {
					errs <- fmt.Errorf("%s wrong password: %v, want SQLSTATE 28P01", user, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	requireAlive(t, p)
}
