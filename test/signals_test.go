package test

// Signals and the config check: SIGHUP reloads the config file without
// dropping sessions (and keeps the old config when the new one is invalid);
// SIGTERM stops accepting at once and drains for shutdown.drain_timeout.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// stderrSince returns what belay wrote to stderr after offset.
func stderrSince(p *belayProc, offset int) string {
	s := p.Stderr()
	if offset > len(s) {
		return ""
	}
	return s[offset:]
}

// waitStderr waits until belay's stderr after offset contains sub
// (case-insensitively) and returns that part.
func waitStderr(t *testing.T, p *belayProc, offset int, sub string, within time.Duration) string {
	t.Helper()
	var got string
	ok := waitFor(within, func() bool {
		got = stderrSince(p, offset)
		return strings.Contains(strings.ToLower(got), strings.ToLower(sub))
	})
	if !ok {
		t.Fatalf("belay's stderr has no %q %v after the signal; it wrote:\n%s", sub, within, got)
	}
	return got
}

func writeConfigFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkServing runs a query on an open session and on a new one.
func checkServing(t *testing.T, p *belayProc, open *pgx.Conn, when string) {
	t.Helper()
	requireAlive(t, p)
	if got := queryString(t, open, "SELECT 'open ok'"); got != "open ok" {
		t.Fatalf("%s: open session answered %q", when, got)
	}
	out, errOut, err := runPsql(t, p.DSN(upstreamDatabase, upstreamUser), "-Atc", "SELECT 'new ok'")
	if err != nil || strings.TrimSpace(out) != "new ok" {
		t.Fatalf("%s: new session: out %q, err %v, stderr %q", when, out, err, errOut)
	}
}

// silentClientClosedWithin reports how long belay took to close a client
// that sends nothing, failing after within.
func silentClientClosedWithin(t *testing.T, p *belayProc, within time.Duration) time.Duration {
	t.Helper()
	c := dialRaw(t, p.Addr())
	res := readUntilClosed(c, within)
	if !res.closed {
		t.Fatalf("a silent client is still connected after %v", within)
	}
	return res.elapsed
}

func TestSIGHUPReload(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	initial := edgeConfig{StartupTimeout: "1s"}
	p := startBelay(t, belayOpts{ConfigYAML: initial.YAML()})
	path := configPathOf(t, p)
	open := connect(t, p.DSN(upstreamDatabase, upstreamUser))
	checkServing(t, p, open, "before any reload")

	// A valid change: logged as a reload, nothing dropped.
	offset := len(p.Stderr())
	writeConfigFile(t, path, edgeConfig{StartupTimeout: "1s", LogLevel: "debug"}.YAML())
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logged := waitStderr(t, p, offset, "reload", 5*time.Second)
	t.Logf("valid reload logged:\n%s", logged)
	checkServing(t, p, open, "after a valid reload")

	// An invalid file: the error is logged (naming the bad key), the old
	// config stays (startup_timeout is still 1s, not 30s) and sessions
	// are untouched.
	offset = len(p.Stderr())
	writeConfigFile(t, path, edgeConfig{StartupTimeout: "30s", Extra: "bogus_key: 1\n"}.YAML())
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logged = waitStderr(t, p, offset, "bogus_key", 5*time.Second)
	t.Logf("invalid reload logged:\n%s", logged)
	time.Sleep(200 * time.Millisecond) // let a wrong reload finish, if any
	checkServing(t, p, open, "after an invalid reload")
	if took := silentClientClosedWithin(t, p, 3*time.Second); took > 3*time.Second {
		t.Fatalf("silent client closed after %v", took)
	}

	// Reloading still works after a failed attempt.
	offset = len(p.Stderr())
	writeConfigFile(t, path, initial.YAML())
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitStderr(t, p, offset, "reload", 5*time.Second)
	checkServing(t, p, open, "after a second valid reload")
}

func TestSIGTERMDrain(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	// The short statement's second of sleep must end well inside the drain
	// even on a loaded machine (CI runs the other tests alongside).
	const drain = 4 * time.Second
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{DrainTimeout: "4s"}.YAML()})
	idle := connect(t, p.DSN(upstreamDatabase, upstreamUser))
	var pid int
	if err := idle.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// New connections are refused at once (listener closed, or an error
	// at startup), while the idle session may still be draining.
	refusedAfter := time.Duration(-1)
	for time.Since(start) < 2*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, p.DSN(upstreamDatabase, upstreamUser))
		cancel()
		if err != nil {
			refusedAfter = time.Since(start)
			t.Logf("new connection refused after %v: %v", refusedAfter.Round(time.Millisecond), err)
			break
		}
		c.Close(context.Background())
		time.Sleep(20 * time.Millisecond)
	}
	if refusedAfter < 0 || refusedAfter > time.Second {
		t.Errorf("new connections still accepted %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	}

	err := p.Wait(drain + 3*time.Second)
	took := time.Since(start)
	if !p.exited() {
		t.Fatalf("belay still running %v after SIGTERM with drain_timeout %v", took.Round(time.Millisecond), drain)
	}
	t.Logf("belay exited %v after SIGTERM (exit code %d)", took.Round(time.Millisecond), exitCode(err))
	if took > drain+2500*time.Millisecond {
		t.Errorf("belay took %v to exit; drain_timeout is %v", took.Round(time.Millisecond), drain)
	}

	// The idle session was closed, on both legs.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := idle.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("the idle session still answers after belay exited")
	}
	waitBackendGone(t, upstreamDSN(upstreamDatabase), pid, 5*time.Second)
}

// TestSIGTERMDrainBusy: sessions end at their next idle point. A statement
// in flight at SIGTERM finishes and its result arrives; a transaction open
// at SIGTERM can still commit; a statement that outlasts drain_timeout is
// cut off when it expires.
func TestSIGTERMDrainBusy(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	const drain = 2 * time.Second
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{DrainTimeout: "2s"}.YAML()})
	table := tableName(t)
	direct := connectDirect(t, upstreamDatabase)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := direct.Exec(ctx, "CREATE TABLE "+table+" (id int)"); err != nil {
		t.Fatal(err)
	}

	short := connect(t, p.DSN(upstreamDatabase, upstreamUser))
	inTx := connect(t, p.DSN(upstreamDatabase, upstreamUser))
	long := connect(t, p.DSN(upstreamDatabase, upstreamUser))
	var longPID, shortPID int
	if err := long.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&longPID); err != nil {
		t.Fatal(err)
	}
	if err := short.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&shortPID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the upstream notices a closed socket only after pg_sleep
		_, _ = direct.Exec(context.Background(), "SELECT pg_terminate_backend($1)", longPID)
	})
	if _, err := inTx.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := inTx.Exec(ctx, "INSERT INTO "+table+" VALUES (1)"); err != nil {
		t.Fatal(err)
	}

	shortDone := make(chan error, 1)
	go func() {
		var s string
		err := short.QueryRow(ctx, "SELECT pg_sleep(1)::text || 'slept'").Scan(&s)
		if err == nil && s != "slept" {
			err = errors.New("short statement returned " + s)
		}
		shortDone <- err
	}()
	longDone := make(chan error, 1)
	go func() {
		_, err := long.Exec(ctx, "SELECT pg_sleep(12)")
		longDone <- err
	}()
	// Both statements are running upstream before the signal.
	if !waitFor(5*time.Second, func() bool {
		var n int
		// These two backends only: other tests sleep on the same cluster.
		_ = direct.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid IN ($1, $2)", shortPID, longPID).Scan(&n)
		return n == 2
	}) {
		t.Fatal("the sleeping statements did not start")
	}

	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	// The open transaction may still finish.
	if _, err := inTx.Exec(ctx, "COMMIT"); err != nil {
		t.Errorf("COMMIT of a transaction open at SIGTERM: %v", err)
	}
	var n int
	if err := direct.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows committed during the drain: %d, %v; want 1", n, err)
	}
	// The statement in flight delivers its result.
	if err := <-shortDone; err != nil {
		t.Errorf("statement in flight at SIGTERM: %v", err)
	}
	// The one that outlasts drain_timeout is cut off when it expires.
	select {
	case err := <-longDone:
		took := time.Since(start)
		if err == nil {
			t.Errorf("a 12 s statement completed %v after SIGTERM with drain_timeout %v", took, drain)
		}
		if took < drain-200*time.Millisecond || took > drain+2*time.Second {
			t.Errorf("long statement ended %v after SIGTERM; want about drain_timeout (%v)", took.Round(time.Millisecond), drain)
		}
	case <-time.After(drain + 3*time.Second):
		t.Errorf("long statement still waiting %v after SIGTERM", drain+3*time.Second)
	}
	err := p.Wait(3 * time.Second)
	if !p.exited() {
		t.Fatalf("belay still running %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	}
	took := time.Since(start)
	t.Logf("belay exited %v after SIGTERM (exit code %d)", took.Round(time.Millisecond), exitCode(err))
	if took > drain+2*time.Second {
		t.Errorf("belay took %v to exit; drain_timeout is %v", took.Round(time.Millisecond), drain)
	}
}

func TestSIGTERMNoSessions(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{DrainTimeout: "30s"}.YAML()})
	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := p.Wait(3 * time.Second)
	if !p.exited() {
		t.Fatalf("belay with no sessions still running 3s after SIGTERM (drain_timeout 30s must not apply)")
	}
	t.Logf("exited after %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("belay exited with %v (exit code %d), want 0\n--- stderr ---\n%s", err, exitCode(err), p.Stderr())
	}
}

func TestCheckConfigCLI(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	dir := t.TempDir()
	bad := []struct {
		name, content string
		want          []string // substrings of the output
	}{
		{"unknown top-level key", "listen: 127.0.0.1:6432\nadmin_listen: 127.0.0.1:9632\nunknown_key: true\n",
			[]string{"line 3", "unknown_key"}},
		{"unknown nested key", "listen: 127.0.0.1:6432\nupstream:\n  address: 127.0.0.1:5432\n  sslmod: require\n",
			[]string{"line 4", "sslmod"}},
		{"invalid value", "upstream:\n  address: 127.0.0.1:5432\n  sslmode: sometimes\n",
			[]string{"line 3", "sslmode"}},
		{"not YAML", "listen: [unterminated\n", []string{"line"}},
	}
	for _, tc := range bad {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
		writeConfigFile(t, path, tc.content)
		out, code := runBelayCLI(t, "check-config", path)
		if code != 1 {
			t.Errorf("%s: check-config exit code %d, want 1; output:\n%s", tc.name, code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output does not contain %q:\n%s", tc.name, w, out)
			}
		}
	}

	out, code := runBelayCLI(t, "check-config", filepath.Join(dir, "missing.yaml"))
	if code == 0 {
		t.Errorf("check-config on a missing file: exit 0; output:\n%s", out)
	}

	for _, good := range []string{"configs/audit-only.yaml", "configs/belay.yaml"} {
		out, code := runBelayCLI(t, "check-config", filepath.Join(moduleRoot, good))
		if code != 0 || !strings.Contains(out, "ok") {
			t.Errorf("check-config %s: exit %d, output %q; want exit 0 and ok", good, code, out)
		}
	}
}
