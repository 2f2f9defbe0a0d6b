package test

// pgbench through belay: load in all three query modes, many clients.

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

const pgbenchDatabase = "belay_test_pgbench"

func TestPgbench(t *testing.T) {
	t.Parallel()
	requireTool(t, "pgbench")
	createDatabase(t, pgbenchDatabase)
	p := startBelay(t, belayOpts{})

	// -i runs DDL, COPY FROM STDIN and VACUUM through belay.
	if out, err := runPgbench(t, p, "-i", "-s", "1", "-q"); err != nil {
		t.Fatalf("pgbench -i: %v\n%s", err, out)
	}

	for _, args := range [][]string{
		{"-M", "extended"},
		{"-M", "prepared"},
		{"-S", "-M", "simple"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			full := append([]string{"-T", "3", "-c", "4", "-j", "2"}, args...)
			out, err := runPgbench(t, p, full...)
			if err != nil {
				t.Fatalf("pgbench %v: %v\n%s", full, err, out)
			}
			if strings.Contains(strings.ToLower(out), "abort") {
				t.Errorf("pgbench %v reports aborted clients:\n%s", full, out)
			}
			if n := pgbenchNumber(out, `number of failed transactions: (\d+)`); n != 0 {
				t.Errorf("pgbench %v: %v failed transactions:\n%s", full, n, out)
			}
			processed := pgbenchNumber(out, `number of transactions actually processed: (\d+)`)
			tps := pgbenchNumber(out, `tps = ([0-9.]+)`)
			if processed <= 0 || tps <= 0 {
				t.Errorf("pgbench %v: %v transactions, tps %v; want both > 0:\n%s", full, processed, tps, out)
			}
			t.Logf("pgbench %v: %v transactions, tps %.0f", full, processed, tps)
		})
	}
}

// runPgbench runs pgbench against belay and returns stdout and stderr together.
func runPgbench(t *testing.T, p *belayProc, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"-h", p.Host(), "-p", strconv.Itoa(p.Port()), "-U", "postgres"}, args...)
	full = append(full, pgbenchDatabase)
	cmd := exec.CommandContext(ctx, requireTool(t, "pgbench"), full...)
	cmd.Env = clientEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// pgbenchNumber is the first number matched by pattern's group in out, or -1.
func pgbenchNumber(out, pattern string) float64 {
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return f
}

// createDatabase creates db on the upstream, directly, unless it exists.
func createDatabase(t *testing.T, db string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := connectDirect(t, upstreamDatabase).Exec(ctx, "CREATE DATABASE "+db)
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // duplicate_database
		t.Fatalf("create database %s: %v", db, err)
	}
}
