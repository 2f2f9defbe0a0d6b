package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries is returned (wrapped) by Start when no PostgreSQL server
// binaries (initdb, pg_ctl) can be found. Tests skip on it.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries not found")

// Authentication methods for TCP connections (pg_hba.conf "host" lines).
const (
	AuthTrust    = "trust"
	AuthPassword = "password"
	AuthMD5      = "md5"
	AuthSCRAM    = "scram-sha-256"
)

// Options configures a throwaway cluster. The zero value is a plain cluster
// with trust authentication and only the superuser "postgres".
type Options struct {
	// Auth is the pg_hba method for TCP connections from 127.0.0.1: "trust"
	// (default), "password", "md5" or "scram-sha-256". The Unix socket
	// always trusts.
	Auth string
	// SSL turns on ssl=on with CertFile and KeyFile (PEM) as the server
	// certificate. The files are copied into the cluster directory with
	// the ownership and mode PostgreSQL demands.
	SSL      bool
	CertFile string
	KeyFile  string
	// HostSSLOnly writes "hostssl" instead of "host" lines, so plain TCP
	// connections find no pg_hba entry. Requires SSL.
	HostSSLOnly bool
	// Users maps role name to password. Each role is created with LOGIN
	// and the password hashed as Auth needs it (md5 for "md5", SCRAM
	// otherwise), and may create objects in schema public of database
	// "postgres". "postgres" itself may be listed to give the superuser a
	// password.
	Users map[string]string
	// ExtraConf lines are appended to postgresql.conf (after belay's own
	// settings, so they win).
	ExtraConf []string
	// BinDir overrides where initdb, pg_ctl and postgres are looked up.
	// Default: $PGCLUSTER_BINDIR, then `pg_config --bindir`, then the
	// newest /usr/lib/postgresql/*/bin.
	BinDir string
}

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	Host      string // "127.0.0.1"
	Port      int
	DataDir   string
	SocketDir string // Unix socket directory (libpq "host")
	Superuser string // "postgres"
	BinDir    string
	LogFile   string // server log (pg_ctl -l)

	baseDir   string
	cred      *syscall.Credential // nil: run binaries as the current user
	closeOnce sync.Once
	closeErr  error
}

// FindBinDir returns a directory holding initdb, pg_ctl and postgres.
func FindBinDir() (string, error) {
	var candidates []string
	if d := os.Getenv("PGCLUSTER_BINDIR"); d != "" {
		candidates = append(candidates, d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(globbed, func(i, j int) bool { // newest major version first
		return pgMajor(globbed[i]) > pgMajor(globbed[j])
	})
	candidates = append(candidates, globbed...)
	for _, d := range candidates {
		if isBinDir(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %v)", ErrNoBinaries, candidates)
}

func pgMajor(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isBinDir(d string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if fi, err := os.Stat(filepath.Join(d, name)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// Start initialises and starts a new cluster. The caller must Close it.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	auth := opts.Auth
	if auth == "" {
		auth = AuthTrust
	}
	switch auth {
	case AuthTrust, AuthPassword, AuthMD5, AuthSCRAM:
	default:
		return nil, fmt.Errorf("pgcluster: unsupported auth method %q", auth)
	}
	if opts.HostSSLOnly && !opts.SSL {
		return nil, errors.New("pgcluster: HostSSLOnly needs SSL")
	}
	if opts.SSL && (opts.CertFile == "" || opts.KeyFile == "") {
		return nil, errors.New("pgcluster: SSL needs CertFile and KeyFile")
	}

	binDir := opts.BinDir
	if binDir == "" {
		var err error
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	} else if !isBinDir(binDir) {
		return nil, fmt.Errorf("%w in %s", ErrNoBinaries, binDir)
	}

	c := &Cluster{Host: "127.0.0.1", Superuser: "postgres", BinDir: binDir}
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the server as "postgres".
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: running as root needs a postgres system user: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}

	base, err := os.MkdirTemp("", "pgcluster-")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: temp dir: %w", err)
	}
	c.baseDir = base
	c.SocketDir = base
	c.DataDir = filepath.Join(base, "data")
	c.LogFile = filepath.Join(base, "postgres.log")
	ok := false
	defer func() {
		if !ok {
			_ = c.Close()
		}
	}()
	if uid >= 0 {
		if err := os.Chown(base, uid, gid); err != nil {
			return nil, fmt.Errorf("pgcluster: chown %s: %w", base, err)
		}
	}

	if out, err := c.run(ctx, "initdb", "-D", c.DataDir, "-U", c.Superuser,
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("pgcluster: initdb: %w\n%s", err, out)
	}

	conf := []string{
		"",
		"# pgcluster",
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = " + quoteConf(c.SocketDir),
		"fsync = off",
		"synchronous_commit = off",
		"full_page_writes = off",
		"shared_buffers = 32MB",
		"max_connections = 100",
	}
	if auth == AuthMD5 {
		conf = append(conf, "password_encryption = md5")
	}
	if opts.SSL {
		certPath, keyPath, err := c.installCert(opts.CertFile, opts.KeyFile, uid, gid)
		if err != nil {
			return nil, err
		}
		conf = append(conf, "ssl = on",
			"ssl_cert_file = "+quoteConf(certPath),
			"ssl_key_file = "+quoteConf(keyPath))
	}
	conf = append(conf, opts.ExtraConf...)
	if err := appendFile(filepath.Join(c.DataDir, "postgresql.conf"), strings.Join(conf, "\n")+"\n"); err != nil {
		return nil, fmt.Errorf("pgcluster: postgresql.conf: %w", err)
	}

	hostType := "host"
	if opts.HostSSLOnly {
		hostType = "hostssl"
	}
	hba := strings.Join([]string{
		"# pgcluster: local socket trusts so setup can create roles",
		"local all all trust",
		fmt.Sprintf("%s all all 127.0.0.1/32 %s", hostType, auth),
		fmt.Sprintf("%s all all ::1/128 %s", hostType, auth),
		// "all" does not cover replication connections (pg_recvlogical).
		fmt.Sprintf("%s replication all 127.0.0.1/32 %s", hostType, auth),
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(c.DataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, fmt.Errorf("pgcluster: pg_hba.conf: %w", err)
	}

	if err := c.startServer(ctx); err != nil {
		return nil, err
	}
	if err := c.createUsers(ctx, auth, opts.Users); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// startServer picks a free port and runs pg_ctl start, retrying when another
// process took the port between the probe and the bind.
func (c *Cluster) startServer(ctx context.Context) error {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return fmt.Errorf("pgcluster: free port: %w", err)
		}
		c.Port = port
		out, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.DataDir,
			"-l", c.LogFile, "-o", fmt.Sprintf("-p %d", port))
		if err == nil {
			return nil
		}
		tail := c.LogTail(4096)
		lastErr = fmt.Errorf("pgcluster: pg_ctl start (port %d): %w\n%s\nserver log tail:\n%s", port, err, out, tail)
		if !strings.Contains(tail, "could not bind") && !strings.Contains(tail, "could not create any TCP/IP sockets") {
			return lastErr
		}
	}
	return lastErr
}

func (c *Cluster) createUsers(ctx context.Context, auth string, users map[string]string) error {
	if len(users) == 0 {
		return nil
	}
	conn, err := c.ConnectSuperuser(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	enc := "scram-sha-256"
	if auth == AuthMD5 {
		enc = "md5"
	}
	if _, err := conn.Exec(ctx, "SET password_encryption = '"+enc+"'"); err != nil {
		return fmt.Errorf("pgcluster: set password_encryption: %w", err)
	}
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ident := pgx.Identifier{name}.Sanitize()
		pw := QuoteLiteral(users[name])
		var stmts []string
		if name == c.Superuser {
			stmts = []string{"ALTER ROLE " + ident + " PASSWORD " + pw}
		} else {
			stmts = []string{
				"CREATE ROLE " + ident + " LOGIN PASSWORD " + pw,
				"GRANT CREATE, USAGE ON SCHEMA public TO " + ident,
			}
		}
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("pgcluster: role %s: %w", name, err)
			}
		}
	}
	return nil
}

// installCert copies the server certificate and key into the cluster
// directory, owned by the server's user, the key with mode 0600 (PostgreSQL
// refuses a key readable by others).
func (c *Cluster) installCert(certFile, keyFile string, uid, gid int) (string, string, error) {
	dir := filepath.Join(c.baseDir, "ssl")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("pgcluster: ssl dir: %w", err)
	}
	certPath := filepath.Join(dir, "server.crt")
	keyPath := filepath.Join(dir, "server.key")
	for _, f := range []struct{ src, dst string }{{certFile, certPath}, {keyFile, keyPath}} {
		data, err := os.ReadFile(f.src)
		if err != nil {
			return "", "", fmt.Errorf("pgcluster: read %s: %w", f.src, err)
		}
		if err := os.WriteFile(f.dst, data, 0o600); err != nil {
			return "", "", fmt.Errorf("pgcluster: write %s: %w", f.dst, err)
		}
	}
	if uid >= 0 {
		for _, p := range []string{dir, certPath, keyPath} {
			if err := os.Chown(p, uid, gid); err != nil {
				return "", "", fmt.Errorf("pgcluster: chown %s: %w", p, err)
			}
		}
	}
	return certPath, keyPath, nil
}

// run executes one of the cluster binaries as the server's user, with its
// output going to a file: pg_ctl start leaves the postmaster running, and a
// pipe it inherited would keep the command from finishing.
func (c *Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	outFile, err := os.CreateTemp("", "pgcluster-"+name+"-*.out")
	if err != nil {
		return "", err
	}
	defer os.Remove(outFile.Name())
	defer outFile.Close()

	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, name), args...)
	cmd.Dir = c.baseDir
	cmd.Stdout = outFile
	cmd.Stderr = outFile
	cmd.Stdin = nil
	// Locale-independent messages; no inherited PG* variables steering
	// pg_ctl or initdb somewhere else.
	env := []string{"LC_ALL=C", "LANG=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Env = append(cmd.Env, "HOME="+c.baseDir)
	}
	runErr := cmd.Run()
	_, _ = outFile.Seek(0, io.SeekStart)
	out, _ := io.ReadAll(outFile)
	return string(out), runErr
}

// Addr is the TCP address, "127.0.0.1:port".
func (c *Cluster) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// DSN is a keyword/value connection string for TCP to this cluster.
// An empty password is left out.
func (c *Cluster) DSN(user, password, dbname string) string {
	s := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		c.Host, c.Port, quoteDSN(user), quoteDSN(dbname))
	if password != "" {
		s += " password=" + quoteDSN(password)
	}
	return s
}

// SuperuserDSN connects as the superuser through the Unix socket, which
// always trusts, whatever Options.Auth says.
func (c *Cluster) SuperuserDSN(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		c.SocketDir, c.Port, c.Superuser, quoteDSN(dbname))
}

// ConnectSuperuser opens a pgx connection as the superuser over the socket.
func (c *Cluster) ConnectSuperuser(ctx context.Context, dbname string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, c.SuperuserDSN(dbname))
	if err != nil {
		return nil, fmt.Errorf("pgcluster: connect as superuser: %w", err)
	}
	return conn, nil
}

// Exec runs statements as the superuser in database "postgres".
func (c *Cluster) Exec(ctx context.Context, sql ...string) error {
	conn, err := c.ConnectSuperuser(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("pgcluster: %q: %w", s, err)
		}
	}
	return nil
}

// LogTail returns up to the last n bytes of the server log.
func (c *Cluster) LogTail(n int64) string {
	f, err := os.Open(c.LogFile)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// Close stops the server (pg_ctl -m immediate) and removes its directory.
// It is safe to call more than once.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		if c.baseDir == "" {
			return
		}
		if _, err := os.Stat(filepath.Join(c.DataDir, "postmaster.pid")); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			out, err := c.run(ctx, "pg_ctl", "stop", "-m", "immediate", "-w", "-D", c.DataDir)
			cancel()
			if err != nil {
				c.closeErr = fmt.Errorf("pgcluster: pg_ctl stop: %w\n%s", err, out)
			}
		}
		if err := os.RemoveAll(c.baseDir); err != nil && c.closeErr == nil {
			c.closeErr = fmt.Errorf("pgcluster: remove %s: %w", c.baseDir, err)
		}
	})
	return c.closeErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// quoteConf quotes a postgresql.conf string value.
func quoteConf(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// QuoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func QuoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteDSN quotes a libpq keyword/value connection string value.
func quoteDSN(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\\\t\n") {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
