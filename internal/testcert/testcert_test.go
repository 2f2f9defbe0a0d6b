package testcert_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"testing"

	"github.com/belay-proxy/belay/internal/testcert"
)

func TestGenerate(t *testing.T) {
	f, err := testcert.Generate(t.TempDir(), "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err != nil {
		t.Fatalf("server pair does not load: %v", err)
	}
	for _, key := range []string{f.Key, f.CAKey} {
		fi, err := os.Stat(key)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", key, fi.Mode().Perm())
		}
	}
	ca, err := testcert.LoadCert(f.CACert)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := testcert.LoadCert(f.Cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "otherhost"}); err == nil {
		t.Error("certificate verifies for a name it was not made for")
	}

	// A second CA does not vouch for the first one's certificate.
	g, err := testcert.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := testcert.LoadCert(g.CACert)
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: otherRoots, DNSName: "127.0.0.1"}); err == nil {
		t.Error("certificate verifies against an unrelated CA")
	}
}

func TestGenerateForOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing file owners needs root")
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("no postgres user: %v", err)
	}
	f, err := testcert.GenerateFor(t.TempDir(), "postgres", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.Key)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || strconv.Itoa(int(st.Uid)) != u.Uid {
		t.Errorf("key not owned by postgres (uid %s)", u.Uid)
	}
}
