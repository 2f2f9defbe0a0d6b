package pgcluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/belay-proxy/belay/internal/pgcluster"
	"github.com/belay-proxy/belay/internal/testcert"
)

func connect(ctx context.Context, t *testing.T, dsn string) (*pgx.Conn, error) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

func wantAuthFailed(t *testing.T, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("wrong password: got %v, want SQLSTATE 28P01", err)
	}
}

func TestPasswordMethods(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{pgcluster.AuthPassword, pgcluster.AuthMD5, pgcluster.AuthSCRAM} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := pgcluster.ForTest(t, pgcluster.Options{
				Auth:  auth,
				Users: map[string]string{"alice": "s3cret 'quoted'"},
			})

			conn, err := connect(ctx, t, c.DSN("alice", "s3cret 'quoted'", "postgres"))
			if err != nil {
				t.Fatalf("connect with the right password: %v\n%s", err, c.LogTail(2000))
			}
			var user string
			if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
				t.Fatal(err)
			}
			if user != "alice" {
				t.Fatalf("current_user = %q, want alice", user)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE alice_t (id int)"); err != nil {
				t.Fatalf("user cannot create a table in public: %v", err)
			}

			_, err = connect(ctx, t, c.DSN("alice", "wrong", "postgres"))
			wantAuthFailed(t, err)
			_, err = connect(ctx, t, c.DSN("alice", "", "postgres"))
			if err == nil {
				t.Fatal("connect without a password succeeded")
			}

			// The stored hash is of the kind the method needs.
			su, err := c.ConnectSuperuser(ctx, "postgres")
			if err != nil {
				t.Fatal(err)
			}
			defer su.Close(ctx)
			var hash string
			if err := su.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'").Scan(&hash); err != nil {
				t.Fatal(err)
			}
			wantPrefix := "SCRAM-SHA-256$"
			if auth == pgcluster.AuthMD5 {
				wantPrefix = "md5"
			}
			if len(hash) < len(wantPrefix) || hash[:len(wantPrefix)] != wantPrefix {
				t.Fatalf("stored password %.20q..., want prefix %q", hash, wantPrefix)
			}

			// The method on the TCP line is the one asked for.
			var method string
			if err := su.QueryRow(ctx,
				"SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' AND address = '127.0.0.1'").Scan(&method); err != nil {
				t.Fatal(err)
			}
			if method != auth {
				t.Fatalf("pg_hba method %q, want %q", method, auth)
			}
		})
	}
}

func TestTrustAndClose(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if errors.Is(err, pgcluster.ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.DSN("postgres", "", "postgres"))
	if err != nil {
		c.Close()
		t.Fatalf("trust connect: %v", err)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	conn.Close(ctx)

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(c.DataDir); !os.IsNotExist(err) {
		t.Fatalf("data dir still there after Close: %v", err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
	defer ccancel()
	if conn, err := pgx.Connect(cctx, c.DSN("postgres", "", "postgres")); err == nil {
		conn.Close(ctx)
		t.Fatal("server still accepts connections after Close")
	}
}

func TestSSLHostSSLOnly(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	certs, err := testcert.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := pgcluster.ForTest(t, pgcluster.Options{
		Auth:        pgcluster.AuthSCRAM,
		SSL:         true,
		CertFile:    certs.Cert,
		KeyFile:     certs.Key,
		HostSSLOnly: true,
		Users:       map[string]string{"bob": "pw"},
	})
	base := c.DSN("bob", "pw", "postgres")

	// sslmode=disable (what DSN says): no hostssl entry matches plain TCP.
	_, err = connect(ctx, t, base)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" {
		t.Fatalf("plain TCP to hostssl-only: got %v, want SQLSTATE 28000", err)
	}

	conn, err := connect(ctx, t, base+" sslmode=verify-full sslrootcert="+certs.CACert)
	if err != nil {
		t.Fatalf("verify-full: %v\n%s", err, c.LogTail(2000))
	}
	var ssl bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
		t.Fatal(err)
	}
	if !ssl {
		t.Fatal("pg_stat_ssl.ssl = false over verify-full")
	}

	// A CA that did not sign the server certificate.
	other, err := testcert.Generate(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(ctx, t, base+" sslmode=verify-full sslrootcert="+other.CACert); err == nil {
		t.Fatal("verify-full with the wrong CA succeeded")
	}
}

func TestExtraConfAndBadOptions(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pgcluster.Start(ctx, pgcluster.Options{Auth: "ident"}); err == nil {
		t.Fatal("Start accepted auth method ident")
	}
	if _, err := pgcluster.Start(ctx, pgcluster.Options{HostSSLOnly: true}); err == nil {
		t.Fatal("Start accepted HostSSLOnly without SSL")
	}
	c := pgcluster.ForTest(t, pgcluster.Options{ExtraConf: []string{"application_name = 'from_extra_conf'"}})
	conn, err := c.ConnectSuperuser(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var fsync, appName string
	if err := conn.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('application_name')").Scan(&fsync, &appName); err != nil {
		t.Fatal(err)
	}
	if fsync != "off" {
		t.Errorf("fsync = %q, want off", fsync)
	}
	// pgx sets no application_name by default; the server default comes
	// from ExtraConf.
	if appName != "from_extra_conf" {
		t.Errorf("application_name = %q, want from_extra_conf", appName)
	}
}

func TestBadStartupIncludesLog(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{ExtraConf: []string{"shared_buffers = 'not a size'"}})
	if errors.Is(err, pgcluster.ErrNoBinaries) {
		t.Skip(err)
	}
	if err == nil {
		c.Close()
		t.Fatal("Start succeeded with an invalid shared_buffers")
	}
	if !strings.Contains(err.Error(), "shared_buffers") {
		t.Fatalf("error does not include the server log: %v", err)
	}
}
