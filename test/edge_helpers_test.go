package test

// Helpers shared by the edge-case tests (auth, TLS, bad input, signals):
// belay configs built from a few knobs, raw protocol connections, reading
// what belay sends until it closes, and watching the upstream's backends.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// edgeConfig is a belay config with the knobs these tests turn. Empty
// fields keep belay's documented defaults. The listen, admin and upstream
// addresses come from startBelay's command line.
type edgeConfig struct {
	SSLMode         string // upstream.sslmode; default "disable"
	SSLRootCert     string // upstream.sslrootcert
	ClientCert      string // client_tls.cert_file
	ClientKey       string // client_tls.key_file
	StartupTimeout  string // limits.startup_timeout
	MaxMessageBytes string // limits.max_message_bytes
	DrainTimeout    string // shutdown.drain_timeout
	LogLevel        string // log.level; default "info"
	Extra           string // appended verbatim (top-level keys)
}

// YAML renders the config file.
func (c edgeConfig) YAML() string {
	var b strings.Builder
	sslmode := c.SSLMode
	if sslmode == "" {
		sslmode = "disable"
	}
	level := c.LogLevel
	if level == "" {
		level = "info"
	}
	fmt.Fprintf(&b, "upstream:\n  address: 127.0.0.1:5432\n  sslmode: %s\n  connect_timeout: 5s\n", sslmode)
	if c.SSLRootCert != "" {
		fmt.Fprintf(&b, "  sslrootcert: %q\n", c.SSLRootCert)
	}
	if c.ClientCert != "" || c.ClientKey != "" {
		fmt.Fprintf(&b, "client_tls:\n  cert_file: %q\n  key_file: %q\n", c.ClientCert, c.ClientKey)
	}
	b.WriteString("classify: true\n")
	b.WriteString("audit:\n  output: stdout\n  literals: false\n")
	fmt.Fprintf(&b, "log:\n  format: console\n  level: %s\n", level)
	if c.StartupTimeout != "" || c.MaxMessageBytes != "" {
		b.WriteString("limits:\n")
		if c.StartupTimeout != "" {
			fmt.Fprintf(&b, "  startup_timeout: %s\n", c.StartupTimeout)
		}
		if c.MaxMessageBytes != "" {
			fmt.Fprintf(&b, "  max_message_bytes: %s\n", c.MaxMessageBytes)
		}
	}
	if c.DrainTimeout != "" {
		fmt.Fprintf(&b, "shutdown:\n  drain_timeout: %s\n", c.DrainTimeout)
	}
	b.WriteString(c.Extra)
	return b.String()
}

// withParams appends libpq keyword=value settings to a keyword DSN; a later
// keyword overrides an earlier one in both libpq and pgx.
func withParams(dsn string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		dsn += " " + kv[i] + "=" + quoteDSNValue(kv[i+1])
	}
	return dsn
}

func quoteDSNValue(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\\") {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// tryConnect opens a pgx connection, closed when the test ends, and returns
// the error instead of failing: many tests here expect a failure.
func tryConnect(t testing.TB, dsn string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(ctx)
	})
	return conn, nil
}

// queryString runs a one-value query and fails the test on error.
func queryString(t testing.TB, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var s string
	if err := conn.QueryRow(ctx, sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// sqlState is the SQLSTATE of a PostgreSQL (or belay) error, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// errText is an error's whole text: for a PostgreSQL (or belay) error its
// message, detail and hint, which pgx's Error() leaves partly out.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return err.Error() + "\nDETAIL: " + pgErr.Detail + "\nHINT: " + pgErr.Hint
	}
	return err.Error()
}

// runPsqlEnv is runPsql with extra environment (PGPASSWORD=...), never
// prompting for a password (-w).
func runPsqlEnv(t testing.TB, env []string, dsn string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runPsqlWith(t, env, dsn, append([]string{"-w"}, args...)...)
}

// rawConn is a client connection driven message by message.
type rawConn struct {
	net.Conn
	fe *pgproto3.Frontend
}

// dialRaw opens a TCP connection to addr without saying anything.
func dialRaw(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// startupRaw connects to addr and completes startup as user/db with trust
// (or cleartext password) authentication, up to the first ReadyForQuery.
func startupRaw(t testing.TB, addr, user, db string) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	fe := pgproto3.NewFrontend(c, c)
	fe.Send(&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters:      map[string]string{"user": user, "database": db, "application_name": "belay-edge-test"},
	})
	if err := fe.Flush(); err != nil {
		t.Fatalf("send startup: %v", err)
	}
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("startup: %v", err)
		}
		switch m := msg.(type) {
		case *pgproto3.AuthenticationOk, *pgproto3.ParameterStatus, *pgproto3.BackendKeyData, *pgproto3.NoticeResponse:
		case *pgproto3.ErrorResponse:
			t.Fatalf("startup: %s %s: %s", m.Severity, m.Code, m.Message)
		case *pgproto3.ReadyForQuery:
			_ = c.SetDeadline(time.Time{})
			return &rawConn{Conn: c, fe: fe}
		default:
			t.Fatalf("startup: unexpected %T (only trust authentication is handled)", msg)
		}
	}
}

// simpleQuery runs one simple query and returns the first column of each
// row as text.
func (r *rawConn) simpleQuery(t testing.TB, sql string) []string {
	t.Helper()
	_ = r.SetDeadline(time.Now().Add(15 * time.Second))
	defer r.SetDeadline(time.Time{})
	r.fe.Send(&pgproto3.Query{String: sql})
	if err := r.fe.Flush(); err != nil {
		t.Fatalf("send %q: %v", sql, err)
	}
	var rows []string
	var qerr *pgproto3.ErrorResponse
	for {
		msg, err := r.fe.Receive()
		if err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if len(m.Values) > 0 {
				rows = append(rows, string(m.Values[0]))
			}
		case *pgproto3.ErrorResponse:
			cp := *m
			qerr = &cp
		case *pgproto3.ReadyForQuery:
			if qerr != nil {
				t.Fatalf("%q: %s %s: %s", sql, qerr.Severity, qerr.Code, qerr.Message)
			}
			return rows
		}
	}
}

// closedResult is what a client saw from the moment it stopped sending
// until belay closed the connection.
type closedResult struct {
	data    []byte        // every byte received
	closed  bool          // EOF or reset seen (false: still open at the deadline)
	reset   bool          // closed by a reset rather than a FIN
	elapsed time.Duration // until closed
}

// readUntilClosed reads from c until EOF or a reset, for at most within.
func readUntilClosed(c net.Conn, within time.Duration) closedResult {
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(within))
	var res closedResult
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		res.data = append(res.data, buf[:n]...)
		if err == nil {
			continue
		}
		res.elapsed = time.Since(start)
		var ne net.Error
		switch {
		case errors.Is(err, io.EOF):
			res.closed = true
		case errors.As(err, &ne) && ne.Timeout():
		default: // ECONNRESET and friends
			res.closed, res.reset = true, true
		}
		return res
	}
}

// backendMsg is one framed message from the server side.
type backendMsg struct {
	typ  byte
	body []byte
}

// splitBackend frames received bytes into messages; a trailing partial
// message is returned as an error.
func splitBackend(data []byte) ([]backendMsg, error) {
	var out []backendMsg
	for len(data) > 0 {
		if len(data) == 1 && (data[0] == 'N' || data[0] == 'S') {
			// A lone SSLRequest/GSSENCRequest answer.
			out = append(out, backendMsg{typ: data[0]})
			return out, nil
		}
		if len(data) < 5 {
			return out, fmt.Errorf("trailing %d bytes %q", len(data), data)
		}
		n := int(binary.BigEndian.Uint32(data[1:5]))
		if n < 4 || len(data) < 1+n {
			return out, fmt.Errorf("partial message type %q length %d, have %d bytes", data[0], n, len(data)-1)
		}
		out = append(out, backendMsg{typ: data[0], body: data[5 : 1+n]})
		data = data[1+n:]
	}
	return out, nil
}

// errorsIn decodes every ErrorResponse in received bytes.
func errorsIn(t testing.TB, data []byte) []*pgproto3.ErrorResponse {
	t.Helper()
	msgs, err := splitBackend(data)
	if err != nil {
		t.Errorf("framing what belay sent: %v (all bytes: %q)", err, truncateBytes(data, 300))
	}
	var out []*pgproto3.ErrorResponse
	for _, m := range msgs {
		if m.typ != 'E' {
			continue
		}
		e := new(pgproto3.ErrorResponse)
		if err := e.Decode(m.body); err != nil {
			t.Errorf("decode ErrorResponse %q: %v", m.body, err)
			continue
		}
		out = append(out, e)
	}
	return out
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func describeErrors(errs []*pgproto3.ErrorResponse) string {
	var parts []string
	for _, e := range errs {
		parts = append(parts, fmt.Sprintf("%s %s: %s (hint %q)", e.Severity, e.Code, e.Message, e.Hint))
	}
	return strings.Join(parts, "; ")
}

// backendAlive reports whether pid is in pg_stat_activity of the database
// server reached by superDSN.
func backendAlive(t testing.TB, superDSN string, pid int) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, superDSN)
	if err != nil {
		t.Fatalf("connect to upstream: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n); err != nil {
		t.Fatalf("pg_stat_activity: %v", err)
	}
	return n > 0
}

// waitBackendGone polls until pid leaves pg_stat_activity; it returns how
// long that took, or fails the test after within.
func waitBackendGone(t testing.TB, superDSN string, pid int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if !backendAlive(t, superDSN, pid) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("upstream backend %d still in pg_stat_activity %v after the client went away", pid, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rssKiB is the resident set size of a process, from /proc.
func rssKiB(t testing.TB, pid int) int64 {
	t.Helper()
	return procStatusKiB(t, pid, "VmRSS:")
}

// procStatusKiB reads one "Key: N kB" line of /proc/PID/status.
func procStatusKiB(t testing.TB, pid int, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read /proc/%d/status: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return n
				}
			}
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// configPathOf finds the --config argument of a running belay from
// /proc/PID/cmdline, so a test can rewrite the file and send SIGHUP.
func configPathOf(t testing.TB, p *belayProc) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.Pid()))
	if err != nil {
		t.Fatalf("read belay's command line: %v", err)
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v
		}
	}
	t.Fatalf("no --config in belay's command line %q", args)
	return ""
}

// waitFor polls cond every 50 ms for at most within.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireAlive fails the test when belay has exited.
func requireAlive(t testing.TB, p *belayProc) {
	t.Helper()
	if p.exited() {
		t.Fatalf("belay exited: %v\n--- belay stderr ---\n%s", p.err, p.Stderr())
	}
}

// runBelayCLI runs the built belay binary with args and returns its
// combined output and exit code.
func runBelayCLI(t testing.TB, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, belayBin, args...)
	cmd.Dir = moduleRoot
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("belay %v: timed out", args)
	}
	code := exitCode(err)
	if code < 0 {
		t.Fatalf("belay %v: %v", args, err)
	}
	return string(out), code
}
