package test

// The harness every integration test in this package uses: it builds the belay
// binary once (TestMain), finds or starts an upstream PostgreSQL, starts belay
// processes on free ports (startBelay) and runs the system psql (runPsql).
//
// Environment:
//
//	BELAY_TEST_UPSTREAM=host:port  use this PostgreSQL (user postgres, trust, db test);
//	                               unset: 127.0.0.1:5432 if it answers, else a
//	                               throwaway cluster (internal/pgcluster);
//	                               "cluster": always a throwaway cluster
//	BELAY_TEST_DIRECT=1            do not build or start belay: startBelay returns a
//	                               proc whose address is the upstream itself, which
//	                               proves a test's expectations are PostgreSQL's own
//	BELAY_TEST_RACE=1              build belay with -race (CI sets it)

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/pgcluster"
)

const (
	upstreamUser = "postgres"
	// baseDatabase is the database every PostgreSQL the tests use has;
	// each run works in a database of its own (upstreamDatabase).
	baseDatabase = "test"
	readyTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
	psqlTimeout  = 60 * time.Second
)

var (
	// belayBin is the binary built by TestMain; empty in direct mode.
	belayBin string
	// moduleRoot is the directory holding go.mod.
	moduleRoot string
	// upstream is the host:port of the PostgreSQL the tests use.
	upstream string
	// directMode makes startBelay point clients straight at upstream.
	directMode = os.Getenv("BELAY_TEST_DIRECT") == "1"
	// upstreamDatabase is this run's own database, created by TestMain and
	// dropped after: belay's schema (belay init) and the tests' tables
	// start afresh each run, whatever an earlier run left.
	upstreamDatabase = fmt.Sprintf("belay_e2e_%d", os.Getpid())
	// raceMode is set when belay is built with the race detector.
	raceMode = os.Getenv("BELAY_TEST_RACE") == "1"
)

// startCluster starts a throwaway PostgreSQL (internal/pgcluster, trust
// auth) with a database "test", when no other PostgreSQL is available. It
// returns the cluster's host:port and a function that stops it.
func startCluster(ctx context.Context) (addr string, stop func(), err error) {
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return "", nil, err
	}
	stop = func() { _ = c.Close() }
	if err := c.Exec(ctx, "CREATE DATABASE "+baseDatabase); err != nil {
		stop()
		return "", nil, err
	}
	return c.Addr(), stop, nil
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := findModuleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "belay test: %v\n", err)
		return 1
	}
	moduleRoot = root

	tmp, err := os.MkdirTemp("", "belay-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "belay test: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	if !directMode {
		bin, err := buildBelay(tmp)
		if err != nil {
			fmt.Fprintf(os.Stderr, "belay test: %v\n", err)
			return 1
		}
		belayBin = bin
	}

	stop, err := findUpstream()
	if err != nil {
		fmt.Fprintf(os.Stderr, "belay test: no PostgreSQL available: %v\n", err)
		return 1
	}
	defer stop()
	drop, err := createRunDatabase()
	if err != nil {
		fmt.Fprintf(os.Stderr, "belay test: %v\n", err)
		return 1
	}
	defer drop()
	return m.Run()
}

// createRunDatabase creates upstreamDatabase and returns what drops it.
func createRunDatabase() (drop func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, upstreamDSN(baseDatabase))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", baseDatabase, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+upstreamDatabase+" WITH (FORCE)"); err != nil {
		return nil, fmt.Errorf("drop a stale %s: %w", upstreamDatabase, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+upstreamDatabase); err != nil {
		return nil, fmt.Errorf("create %s: %w", upstreamDatabase, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, upstreamDSN(baseDatabase))
		if err != nil {
			fmt.Fprintf(os.Stderr, "belay test: drop %s: %v\n", upstreamDatabase, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+upstreamDatabase+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "belay test: drop %s: %v\n", upstreamDatabase, err)
		}
	}, nil
}

// findModuleRoot returns the directory of go.mod, asking the go command.
func findModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// buildBelay compiles ./cmd/belay into dir, with -race when raceMode is set.
func buildBelay(dir string) (string, error) {
	bin := filepath.Join(dir, "belay")
	args := []string{"build", "-o", bin}
	if raceMode {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/belay")
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s failed: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// findUpstream sets upstream from BELAY_TEST_UPSTREAM, a local PostgreSQL on
// 127.0.0.1:5432, or a throwaway cluster, in that order
// (BELAY_TEST_UPSTREAM=cluster goes straight to the cluster).
func findUpstream() (stop func(), err error) {
	noop := func() {}
	addr := os.Getenv("BELAY_TEST_UPSTREAM")
	if addr != "" && addr != "cluster" {
		if err := pingPostgres(addr); err != nil {
			return noop, fmt.Errorf("BELAY_TEST_UPSTREAM=%s: %w", addr, err)
		}
		upstream = addr
		return noop, nil
	}
	const local = "127.0.0.1:5432"
	localErr := errors.New("not tried: BELAY_TEST_UPSTREAM=cluster")
	if addr != "cluster" {
		localErr = pingPostgres(local)
	}
	if localErr == nil {
		upstream = local
		return noop, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr, stopCluster, err := startCluster(ctx)
	if err != nil {
		return noop, fmt.Errorf("%s: %v; start throwaway cluster: %w", local, localErr, err)
	}
	upstream = addr
	return stopCluster, nil
}

// pingPostgres runs SELECT 1 as user postgres in database test at addr.
func pingPostgres(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsnFor(addr, baseDatabase, upstreamUser))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// upstreamAddr is the host:port of the PostgreSQL under test.
func upstreamAddr() string { return upstream }

// upstreamDSN is a libpq keyword DSN for db on the upstream, as user postgres.
func upstreamDSN(db string) string { return dsnFor(upstream, db, upstreamUser) }

func dsnFor(addr, db, user string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		panic(fmt.Sprintf("bad address %q: %v", addr, err))
	}
	return fmt.Sprintf("host=%s port=%s dbname=%s user=%s sslmode=disable", host, port, db, user)
}

// connectDirect opens a pgx connection to db on the upstream, bypassing belay,
// for setup and cleanup. It is closed when the test ends.
func connectDirect(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	return connect(t, upstreamDSN(db))
}

// connect opens a pgx connection closed when the test ends.
func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	return connectWith(t, dsn, nil)
}

// connectWith opens a pgx connection, after letting configure change its
// config (when not nil); it is closed when the test ends.
func connectWith(t testing.TB, dsn string, configure func(*pgx.ConnConfig)) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse %q: %v", dsn, err)
	}
	if configure != nil {
		configure(config)
	}
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		t.Fatalf("connect %q: %v", dsn, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(ctx)
	})
	return conn
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// tableName derives a unique, valid table name from the test's name, so
// parallel tests never share a table. It drops the table, through a direct
// connection, when the test ends.
func tableName(t testing.TB) string {
	t.Helper()
	name := identName(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, upstreamDSN(upstreamDatabase))
		if err != nil {
			t.Errorf("cleanup: connect: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			t.Errorf("cleanup: drop %s: %v", name, err)
		}
	})
	return name
}

// identName derives a unique, valid SQL identifier from the test's name.
func identName(t testing.TB) string {
	name := "belay_t_" + strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(name) > 50 {
		sum := sha256.Sum256([]byte(t.Name()))
		name = name[:40] + "_" + hex.EncodeToString(sum[:])[:8]
	}
	return name
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// belayOpts says how to start belay.
type belayOpts struct {
	// ConfigYAML is the config file's content; empty means configs/audit-only.yaml.
	ConfigYAML string
	// Upstream is the host:port to relay to; empty means upstreamAddr().
	Upstream string
	// ExtraArgs are appended to the serve command line.
	ExtraArgs []string
	// Env is added to the process environment (KEY=VALUE).
	Env []string
}

// belayProc is a running belay, or in direct mode the upstream itself.
type belayProc struct {
	addr   string // listen host:port
	admin  string // admin host:port; empty in direct mode
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, valid after done
}

// Addr is the host:port clients connect to.
func (p *belayProc) Addr() string { return p.addr }

// Host is the host clients connect to.
func (p *belayProc) Host() string { h, _, _ := net.SplitHostPort(p.addr); return h }

// Port is the port clients connect to.
func (p *belayProc) Port() int {
	_, s, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(s)
	return n
}

// AdminURL is the admin HTTP base URL, without a trailing slash.
func (p *belayProc) AdminURL() string { return "http://" + p.admin }

// DSN is a libpq keyword connection string to db as user through belay.
func (p *belayProc) DSN(db, user string) string { return dsnFor(p.addr, db, user) }

// URL is a postgres:// connection string to db as user through belay.
func (p *belayProc) URL(db, user string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(user),
		Host:     p.addr,
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stdout is everything belay has written to stdout so far (the audit lines).
func (p *belayProc) Stdout() string { return p.stdout.String() }

// Stderr is everything belay has written to stderr so far (the logs).
func (p *belayProc) Stderr() string { return p.stderr.String() }

// Pid is belay's process id; 0 in direct mode.
func (p *belayProc) Pid() int {
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Signal sends sig to belay; a no-op in direct mode.
func (p *belayProc) Signal(sig os.Signal) error {
	if p.cmd == nil {
		return nil
	}
	return p.cmd.Process.Signal(sig)
}

// Wait waits up to timeout for belay to exit and returns its exit error.
func (p *belayProc) Wait(timeout time.Duration) error {
	if p.cmd == nil {
		return nil
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("belay (pid %d) still running after %v", p.Pid(), timeout)
	}
}

// exited reports whether belay has exited.
func (p *belayProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// requireBelay skips a test that is about belay itself (audit, metrics) in
// direct mode, where there is no belay.
func requireBelay(t testing.TB) {
	t.Helper()
	if directMode {
		t.Skip("BELAY_TEST_DIRECT=1: no belay to test")
	}
}

// startBelay starts belay and waits until it accepts connections and
// /healthz answers 200. It is stopped (SIGTERM, then kill) when the test ends.
func startBelay(t testing.TB, opts belayOpts) *belayProc {
	t.Helper()
	if opts.Upstream == "" {
		opts.Upstream = upstreamAddr()
	}
	if directMode {
		return &belayProc{addr: opts.Upstream, done: make(chan struct{})}
	}
	if opts.ConfigYAML == "" {
		opts.ConfigYAML = defaultConfig(t)
	}
	config := filepath.Join(t.TempDir(), "belay.yaml")
	if err := os.WriteFile(config, []byte(opts.ConfigYAML), 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
	// A free port may be taken by someone else between our probe and belay's
	// bind; try a few times before giving up.
	var p *belayProc
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		p, err = launchBelay(t, config, opts)
		if err == nil {
			return p
		}
		if p == nil || !strings.Contains(p.Stderr(), "address already in use") {
			break
		}
	}
	stderr := ""
	if p != nil {
		stderr = p.Stderr()
	}
	t.Fatalf("start belay: %v\n--- belay stderr ---\n%s", err, stderr)
	return nil
}

// defaultConfig is configs/audit-only.yaml from the repository.
func defaultConfig(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "configs", "audit-only.yaml"))
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	return string(b)
}

func launchBelay(t testing.TB, config string, opts belayOpts) (*belayProc, error) {
	p := &belayProc{
		addr:  freeAddr(t),
		admin: freeAddr(t),
		done:  make(chan struct{}),
	}
	args := []string{"serve", "--config", config,
		"--listen", p.addr, "--upstream", opts.Upstream, "--admin-listen", p.admin}
	args = append(args, opts.ExtraArgs...)
	p.cmd = exec.Command(belayBin, args...)
	p.cmd.Env = os.Environ()
	if raceMode {
		// the race runtime sleeps 1 s at exit by default
		p.cmd.Env = append(p.cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	p.cmd.Env = append(p.cmd.Env, opts.Env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec %s: %w", belayBin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(); err != nil {
		p.stop()
		return p, err
	}
	t.Cleanup(func() {
		if !p.stop() {
			t.Errorf("belay (pid %d) ignored SIGTERM for %v and was killed", p.Pid(), stopTimeout)
		}
		if strings.Contains(p.Stderr(), "WARNING: DATA RACE") {
			t.Errorf("the race detector found a data race in belay (see its stderr)")
		}
		if t.Failed() {
			t.Logf("--- belay stderr ---\n%s", p.Stderr())
		}
	})
	return p, nil
}

// waitReady polls until the listen port accepts TCP and /healthz answers 200.
func (p *belayProc) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: time.Second}
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("belay exited before it was ready: %v", p.err)
		}
		last = p.probe(client)
		if last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("belay not ready after %v: %v", readyTimeout, last)
}

func (p *belayProc) probe(client *http.Client) error {
	c, err := net.DialTimeout("tcp", p.addr, time.Second)
	if err != nil {
		return err
	}
	c.Close()
	resp, err := client.Get(p.AdminURL() + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz: %s", resp.Status)
	}
	return nil
}

// stop sends SIGTERM and waits; after stopTimeout it kills. It reports
// whether belay exited on SIGTERM alone.
func (p *belayProc) stop() bool {
	if p.cmd == nil || p.exited() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// freeAddr returns 127.0.0.1:P for a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// requireTool fails the test when a client binary is missing: CI installs
// them, and a silent skip would hide a broken CI.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH (install postgresql-client): %v", name, err)
	}
	return path
}

// psqlCmd prepares psql -X -v ON_ERROR_STOP=1 -d dsn args... with a clean
// libpq environment; the caller runs it.
func psqlCmd(ctx context.Context, t testing.TB, dsn string, args ...string) *exec.Cmd {
	t.Helper()
	bin := requireTool(t, "psql")
	full := append([]string{"-X", "-v", "ON_ERROR_STOP=1", "-d", dsn}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = clientEnv()
	return cmd
}

// clientEnv is the environment for libpq clients: ours without PG* variables
// that could redirect them, plus a connect timeout.
func clientEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return append(env, "PGCONNECT_TIMEOUT=10")
}

// runPsql runs psql against dsn with a 60 s timeout and returns its output.
// err is non-nil (an *exec.ExitError) when psql exits non-zero.
func runPsql(t testing.TB, dsn string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runPsqlWith(t, nil, dsn, args...)
}

// runPsqlWith runs psql with extra environment (KEY=VALUE).
func runPsqlWith(t testing.TB, env []string, dsn string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), psqlTimeout)
	defer cancel()
	cmd := psqlCmd(ctx, t, dsn, args...)
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("psql %v: timed out after %v: %w", args, psqlTimeout, err)
	}
	return out.String(), errOut.String(), err
}

// exitCode is the exit code in err from exec, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// tableThroughBelay starts belay with the default config, connects through
// it to database test, and creates a fresh table with the given columns
// (dropped when the test ends). The context ends with the test, or after
// 30 seconds.
func tableThroughBelay(t *testing.T, columns string) (context.Context, *pgx.Conn, string) {
	t.Helper()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn := connect(t, p.URL(upstreamDatabase, "postgres"))
	tbl := tableName(t)
	if _, err := conn.Exec(ctx, "CREATE TABLE "+tbl+" ("+columns+")"); err != nil {
		t.Fatal(err)
	}
	return ctx, conn, tbl
}
