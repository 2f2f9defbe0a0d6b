package test

// TLS on both legs. The client leg (client ↔ belay) uses client_tls; the
// upstream leg (belay ↔ PostgreSQL) uses upstream.sslmode like libpq.
// pg_stat_ssl only ever describes the upstream leg, so the client leg is
// checked from the client's side (the certificate pgx sees, psql \conninfo).

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/belay-proxy/belay/internal/pgcluster"
	"github.com/belay-proxy/belay/internal/testcert"
)

func genCerts(t testing.TB, hosts ...string) testcert.Files {
	t.Helper()
	f, err := testcert.Generate(t.TempDir(), hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// upstreamSSL is whether the session's upstream leg is encrypted, as
// PostgreSQL sees it.
func upstreamSSL(t testing.TB, conn *pgx.Conn) string {
	t.Helper()
	return queryString(t, conn, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
}

// clientTLSState is the TLS state of pgx's own connection (to belay), or
// nil when it is not TLS.
func clientTLSState(conn *pgx.Conn) *tls.ConnectionState {
	tc, ok := conn.PgConn().Conn().(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}

func TestClientTLS(t *testing.T) {
	requireBelay(t) // the upstream's own certificate is not ours
	t.Parallel()
	certs := genCerts(t, "127.0.0.1", "localhost")
	wrong := genCerts(t, "127.0.0.1", "localhost")
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{ClientCert: certs.Cert, ClientKey: certs.Key}.YAML()})
	dsn := p.DSN(upstreamDatabase, upstreamUser)

	t.Run("psql sslmode=require", func(t *testing.T) {
		t.Parallel()
		out, errOut, err := runPsql(t, withParams(dsn, "sslmode", "require"),
			"-At", "-c", `\conninfo`, "-c", "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, errOut)
		}
		if !strings.Contains(out, "SSL connection") {
			t.Errorf("\\conninfo does not report an SSL connection:\n%s", out)
		}
		// The upstream leg is plain (sslmode=disable); pg_stat_ssl knows
		// only that leg.
		if lines := strings.Split(strings.TrimSpace(out), "\n"); lines[len(lines)-1] != "false" {
			t.Errorf("pg_stat_ssl.ssl for the upstream leg = %q, want false", lines[len(lines)-1])
		}
	})

	t.Run("pgx verify-full", func(t *testing.T) {
		t.Parallel()
		want, err := testcert.LoadCert(certs.Cert)
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"127.0.0.1", "localhost"} {
			conn, err := tryConnect(t, withParams(dsn, "host", host, "sslmode", "verify-full", "sslrootcert", certs.CACert))
			if err != nil {
				t.Fatalf("host=%s sslmode=verify-full: %v", host, err)
			}
			st := clientTLSState(conn)
			if st == nil || !st.HandshakeComplete {
				t.Fatalf("host=%s: pgx's connection to belay is not TLS", host)
			}
			if len(st.PeerCertificates) == 0 || !bytes.Equal(st.PeerCertificates[0].Raw, want.Raw) {
				t.Fatalf("host=%s: belay presented a different certificate", host)
			}
			if got := queryString(t, conn, "SELECT 'ok'"); got != "ok" {
				t.Fatalf("query over TLS: %q", got)
			}
		}
	})

	t.Run("pgx verify-full wrong CA", func(t *testing.T) {
		t.Parallel()
		_, err := tryConnect(t, withParams(dsn, "sslmode", "verify-full", "sslrootcert", wrong.CACert))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("verify-full against another CA: got %v, want a certificate error", err)
		}
	})

	t.Run("plain client still allowed", func(t *testing.T) {
		t.Parallel()
		conn, err := tryConnect(t, withParams(dsn, "sslmode", "disable"))
		if err != nil {
			t.Fatalf("sslmode=disable to a TLS-capable belay: %v", err)
		}
		if clientTLSState(conn) != nil {
			t.Fatal("sslmode=disable connection is TLS")
		}
		if got := queryString(t, conn, "SELECT 'ok'"); got != "ok" {
			t.Fatalf("query: %q", got)
		}
	})
}

func TestClientTLSNotConfigured(t *testing.T) {
	requireBelay(t) // the upstream itself may well support SSL
	t.Parallel()
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{}.YAML()})
	dsn := p.DSN(upstreamDatabase, upstreamUser)

	_, errOut, err := runPsql(t, withParams(dsn, "sslmode", "require"), "-Atc", "SELECT 1")
	if exitCode(err) != 2 || !strings.Contains(errOut, "server does not support SSL") {
		t.Errorf("psql sslmode=require to belay without client_tls: exit %d, stderr %q; want exit 2, \"server does not support SSL\"", exitCode(err), errOut)
	}
	if _, err := tryConnect(t, withParams(dsn, "sslmode", "require")); err == nil || !strings.Contains(strings.ToLower(err.Error()), "tls") {
		t.Errorf("pgx sslmode=require to belay without client_tls: got %v, want a refused TLS error", err)
	}
	// prefer falls back to plain text.
	conn, err := tryConnect(t, withParams(dsn, "sslmode", "prefer"))
	if err != nil {
		t.Fatalf("sslmode=prefer: %v", err)
	}
	if clientTLSState(conn) != nil {
		t.Error("sslmode=prefer to belay without client_tls negotiated TLS")
	}
	if got := queryString(t, conn, "SELECT 'ok'"); got != "ok" {
		t.Fatalf("query: %q", got)
	}
	requireAlive(t, p)
}

// TestSCRAMClientTLSPlainUpstream: belay terminates the client's TLS and
// talks plain text upstream. SCRAM-SHA-256-PLUS must not be offered (its
// binding data would be belay's certificate), so the default
// channel_binding=prefer logs in without binding and require fails clearly.
func TestSCRAMClientTLSPlainUpstream(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	const pw = "scram-pw"
	cluster := pgcluster.ForTest(t, pgcluster.Options{Auth: pgcluster.AuthSCRAM, Users: map[string]string{"alice": pw}})
	certs := genCerts(t, "127.0.0.1")
	p := startBelay(t, belayOpts{
		ConfigYAML: edgeConfig{SSLMode: "disable", ClientCert: certs.Cert, ClientKey: certs.Key}.YAML(),
		Upstream:   cluster.Addr(),
	})
	dsn := withParams(p.DSN("postgres", "alice"), "sslmode", "require")
	env := []string{"PGPASSWORD=" + pw}

	out, errOut, err := runPsqlEnv(t, env, dsn, "-At", "-c", `\conninfo`, "-c", "SELECT current_user")
	if err != nil || !strings.HasSuffix(strings.TrimSpace(out), "alice") || !strings.Contains(out, "SSL connection") {
		t.Fatalf("psql over TLS, channel_binding=prefer: out %q, err %v, stderr %q", out, err, errOut)
	}
	conn, err := tryConnect(t, withParams(dsn, "password", pw))
	if err != nil {
		t.Fatalf("pgx over TLS, channel_binding=prefer: %v", err)
	}
	if clientTLSState(conn) == nil {
		t.Fatal("pgx connection is not TLS")
	}
	if got := queryString(t, conn, "SELECT current_user::text"); got != "alice" {
		t.Fatalf("current_user = %q", got)
	}

	_, errOut, err = runPsqlEnv(t, env, withParams(dsn, "channel_binding", "require"), "-Atc", "SELECT 1")
	t.Logf("psql channel_binding=require: %s", errOut)
	if err == nil || !strings.Contains(errOut, "channel binding") {
		t.Errorf("psql channel_binding=require: err %v, stderr %q; want a channel binding error", err, errOut)
	}
	_, err = tryConnect(t, withParams(dsn, "password", pw, "channel_binding", "require"))
	if err == nil || !strings.Contains(err.Error(), "channel binding") {
		t.Errorf("pgx channel_binding=require: got %v, want a channel binding error", err)
	}

	// Still serving.
	if got := queryString(t, conn, "SELECT current_user::text"); got != "alice" {
		t.Fatalf("open session after refused logins: current_user = %q", got)
	}
	requireAlive(t, p)
}

// TestSCRAMBothLegsTLS: with TLS on both legs, a client that can bind
// ("y" gs2 flag: supports binding but was not offered it) would be refused
// by PostgreSQL as a downgrade attack. belay answers it first, with a hint
// naming the fix; channel_binding=disable works.
func TestSCRAMBothLegsTLS(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	const pw = "both-legs-pw"
	upCerts := genCerts(t, "127.0.0.1")
	cluster := pgcluster.ForTest(t, pgcluster.Options{
		Auth: pgcluster.AuthSCRAM, Users: map[string]string{"alice": pw},
		SSL: true, CertFile: upCerts.Cert, KeyFile: upCerts.Key, HostSSLOnly: true,
	})
	certs := genCerts(t, "127.0.0.1")
	p := startBelay(t, belayOpts{
		ConfigYAML: edgeConfig{SSLMode: "require", ClientCert: certs.Cert, ClientKey: certs.Key}.YAML(),
		Upstream:   cluster.Addr(),
	})
	dsn := withParams(p.DSN("postgres", "alice"), "sslmode", "require")
	env := []string{"PGPASSWORD=" + pw}

	_, errOut, err := runPsqlEnv(t, env, dsn, "-Atc", "SELECT 1")
	t.Logf("psql channel_binding=prefer: %s", errOut)
	if err == nil || !strings.Contains(errOut, "channel_binding=disable") {
		t.Errorf("psql channel_binding=prefer through TLS on both legs: err %v, stderr %q; want an error whose hint names channel_binding=disable", err, errOut)
	}
	_, err = tryConnect(t, withParams(dsn, "password", pw))
	if err == nil {
		t.Error("pgx channel_binding=prefer through TLS on both legs connected; want belay's channel binding error")
	} else if !strings.Contains(pgHint(err), "channel_binding=disable") {
		t.Errorf("pgx channel_binding=prefer: got %v (hint %q), want a hint naming channel_binding=disable", err, pgHint(err))
	}

	out, errOut, err := runPsqlEnv(t, env, withParams(dsn, "channel_binding", "disable"),
		"-At", "-c", "SELECT current_user", "-c", "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	if f := strings.Fields(out); err != nil || len(f) != 2 || f[0] != "alice" || f[1] != "true" {
		t.Fatalf("psql channel_binding=disable: out %q, err %v, stderr %q; want alice and an encrypted upstream leg", out, err, errOut)
	}
	conn, err := tryConnect(t, withParams(dsn, "password", pw, "channel_binding", "disable"))
	if err != nil {
		t.Fatalf("pgx channel_binding=disable: %v", err)
	}
	if clientTLSState(conn) == nil {
		t.Fatal("pgx connection is not TLS")
	}
	if got := upstreamSSL(t, conn); got != "true" {
		t.Fatalf("upstream leg ssl = %s, want true", got)
	}
	requireAlive(t, p)
}

// pgHint is the HINT of a PostgreSQL (or belay) error, or "".
func pgHint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Hint
	}
	return ""
}

// TestUpstreamTLS runs belay against SSL-only and plain clusters with every
// upstream sslmode and checks what PostgreSQL sees.
func TestUpstreamTLS(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	certs := genCerts(t, "127.0.0.1")
	otherCA := genCerts(t, "127.0.0.1") // a CA that signed nothing we serve
	sslOnly := pgcluster.ForTest(t, pgcluster.Options{
		SSL: true, CertFile: certs.Cert, KeyFile: certs.Key, HostSSLOnly: true,
	})
	// A certificate for a name that is not the address belay dials.
	otherHost := genCerts(t, "otherhost")
	otherHostCluster := pgcluster.ForTest(t, pgcluster.Options{
		SSL: true, CertFile: otherHost.Cert, KeyFile: otherHost.Key, HostSSLOnly: true,
	})
	plain := pgcluster.ForTest(t, pgcluster.Options{})

	cases := []struct {
		name     string
		upstream *pgcluster.Cluster
		cfg      edgeConfig
		wantSSL  string // "true" or "false" when the connection must work
		wantErr  string // substring of the client's error when it must fail
		wantCode string // SQLSTATE of that error, when it is PostgreSQL's
	}{
		{name: "require", upstream: sslOnly, cfg: edgeConfig{SSLMode: "require"}, wantSSL: "true"},
		{name: "prefer ssl server", upstream: sslOnly, cfg: edgeConfig{SSLMode: "prefer"}, wantSSL: "true"},
		{name: "disable hostssl only", upstream: sslOnly, cfg: edgeConfig{SSLMode: "disable"},
			wantErr: "no pg_hba.conf entry", wantCode: "28000"},
		{name: "verify-full right CA", upstream: sslOnly, cfg: edgeConfig{SSLMode: "verify-full", SSLRootCert: certs.CACert}, wantSSL: "true"},
		{name: "verify-ca right CA", upstream: sslOnly, cfg: edgeConfig{SSLMode: "verify-ca", SSLRootCert: certs.CACert}, wantSSL: "true"},
		{name: "verify-full wrong CA", upstream: sslOnly, cfg: edgeConfig{SSLMode: "verify-full", SSLRootCert: otherCA.CACert}, wantErr: "certificate"},
		{name: "verify-ca wrong CA", upstream: sslOnly, cfg: edgeConfig{SSLMode: "verify-ca", SSLRootCert: otherCA.CACert}, wantErr: "certificate"},
		// libpq: require with a root certificate verifies the chain.
		{name: "require with wrong root cert", upstream: sslOnly, cfg: edgeConfig{SSLMode: "require", SSLRootCert: otherCA.CACert}, wantErr: "certificate"},
		{name: "verify-ca other host name", upstream: otherHostCluster, cfg: edgeConfig{SSLMode: "verify-ca", SSLRootCert: otherHost.CACert}, wantSSL: "true"},
		{name: "verify-full other host name", upstream: otherHostCluster, cfg: edgeConfig{SSLMode: "verify-full", SSLRootCert: otherHost.CACert}, wantErr: "certificate"},
		{name: "prefer plain server", upstream: plain, cfg: edgeConfig{SSLMode: "prefer"}, wantSSL: "false"},
		{name: "require plain server", upstream: plain, cfg: edgeConfig{SSLMode: "require"}, wantErr: "SSL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startBelay(t, belayOpts{ConfigYAML: tc.cfg.YAML(), Upstream: tc.upstream.Addr()})
			dsn := p.DSN("postgres", "postgres")
			conn, err := tryConnect(t, dsn)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("connected (upstream ssl=%s); want an error containing %q", upstreamSSL(t, conn), tc.wantErr)
				}
				t.Logf("refused as expected: %s", errText(err))
				if !strings.Contains(errText(err), tc.wantErr) {
					t.Errorf("error %q does not contain %q", errText(err), tc.wantErr)
				}
				if tc.wantCode != "" && sqlState(err) != tc.wantCode {
					t.Errorf("SQLSTATE %q, want %s (error %v)", sqlState(err), tc.wantCode, err)
				}
				// psql shows the same failure.
				_, errOut, perr := runPsql(t, dsn, "-Atc", "SELECT 1")
				if exitCode(perr) != 2 || !strings.Contains(errOut, tc.wantErr) {
					t.Errorf("psql: exit %d, stderr %q; want exit 2 and %q", exitCode(perr), errOut, tc.wantErr)
				}
				// When belay itself gave up on the upstream, the operator
				// reading belay's log learns the cause too, not only the
				// client. (PostgreSQL's own refusals are in its log.)
				if tc.wantCode == "" && !waitFor(2*time.Second, func() bool { return strings.Contains(p.Stderr(), tc.wantErr) }) {
					t.Errorf("belay's log does not say why the session failed (no %q; stderr is logged below)", tc.wantErr)
				}
				requireAlive(t, p)
				return
			}
			if err != nil {
				t.Fatalf("connect through belay: %v", err)
			}
			if got := upstreamSSL(t, conn); got != tc.wantSSL {
				t.Fatalf("pg_stat_ssl.ssl = %s, want %s", got, tc.wantSSL)
			}
			out, errOut, err := runPsql(t, dsn, "-Atc", "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
			if err != nil || strings.TrimSpace(out) != tc.wantSSL {
				t.Fatalf("psql: out %q, err %v, stderr %q; want %s", out, err, errOut, tc.wantSSL)
			}
		})
	}
}

// TestClientTLSBadHandshake: a client that asks for TLS and then sends
// garbage, or nothing, loses only its own connection, within
// startup_timeout.
func TestClientTLSBadHandshake(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	certs := genCerts(t, "127.0.0.1")
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{
		ClientCert: certs.Cert, ClientKey: certs.Key, StartupTimeout: "1s",
	}.YAML()})
	witness := connect(t, withParams(p.DSN(upstreamDatabase, upstreamUser), "sslmode", "require"))

	sslRequest := func(t *testing.T) net.Conn {
		c := dialRaw(t, p.Addr())
		if _, err := c.Write(append(be32(8), be32(80877103)...)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var answer [1]byte
		if _, err := c.Read(answer[:]); err != nil || answer[0] != 'S' {
			t.Fatalf("SSLRequest answer %q, %v; want 'S'", answer[0], err)
		}
		return c
	}
	t.Run("garbage instead of ClientHello", func(t *testing.T) {
		c := sslRequest(t)
		writeAll(c, bytes.Repeat([]byte("not a TLS record "), 100))
		expectClosed(t, c, closeBound)
	})
	t.Run("silence after S", func(t *testing.T) {
		c := sslRequest(t)
		res := expectClosed(t, c, 3*time.Second) // startup_timeout is 1s
		t.Logf("closed after %v", res.elapsed.Round(time.Millisecond))
	})
	t.Run("silence after handshake", func(t *testing.T) {
		c := sslRequest(t)
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		res := expectClosed(t, tc, 3*time.Second) // no StartupMessage
		t.Logf("closed after %v", res.elapsed.Round(time.Millisecond))
	})

	requireAlive(t, p)
	if got := queryString(t, witness, "SELECT 'ok'"); got != "ok" {
		t.Fatalf("witness session: %q", got)
	}
}
