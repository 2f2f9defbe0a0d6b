// Package testpg finds a PostgreSQL server for tests: BELAY_TEST_UPSTREAM
// (host:port, user postgres, trust) if set, else the one on 127.0.0.1:5432
// when it answers, else a throwaway cluster started for the test binary.
// BELAY_TEST_UPSTREAM=cluster always starts the throwaway cluster.
package testpg

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/pgcluster"
)

var (
	once    sync.Once
	addr    string
	cluster *pgcluster.Cluster
	findErr error
)

// Upstream returns host:port of a PostgreSQL server that accepts user
// postgres without a password on database postgres.
func Upstream(t testing.TB) string {
	t.Helper()
	once.Do(find)
	if findErr != nil {
		t.Fatalf("no PostgreSQL for tests: %v", findErr)
	}
	return addr
}

func find() {
	env := os.Getenv("BELAY_TEST_UPSTREAM")
	if env != "" && env != "cluster" {
		addr = env
		return
	}
	if env == "" && reachable("127.0.0.1:5432") {
		addr = "127.0.0.1:5432"
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, findErr = pgcluster.Start(ctx, pgcluster.Options{Auth: pgcluster.AuthTrust})
	if findErr == nil {
		addr = cluster.Addr()
	}
}

func reachable(a string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DSN(a, "postgres"))
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx) == nil
}

// DSN is a pgx/libpq URL for user postgres on addr.
func DSN(addr, db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&connect_timeout=10", addr, db)
}

// Main runs a package's tests and then removes the throwaway cluster, if
// one was started: TestMain(m) { testpg.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop removes a throwaway cluster, if one was started; call from TestMain.
func Stop() {
	if cluster != nil {
		_ = cluster.Close()
	}
}
