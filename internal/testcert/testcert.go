// Package testcert generates a throwaway certificate authority and a server
// certificate signed by it, as PEM files, for TLS tests.
//
//	files, err := testcert.Generate(t.TempDir(), "127.0.0.1", "localhost")
//	// files.CACert: sslrootcert for clients; files.Cert/files.Key: server side
//
// Keys are ECDSA P-256 and written with mode 0600. When the process runs as
// root, GenerateFor can hand the files to another user (PostgreSQL refuses a
// key file that is readable by others or not owned by it or root); the
// pgcluster package copies them itself, so plain Generate is enough there.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// Files are the paths of the generated PEM files.
type Files struct {
	CACert string // CA certificate: what a client trusts (sslrootcert)
	CAKey  string // CA private key
	Cert   string // server certificate, signed by the CA
	Key    string // server private key
}

// Generate writes a new CA and a server certificate for hosts into dir.
// Each host that parses as an IP address becomes an IP SAN, any other a DNS
// SAN. Without hosts, the certificate is for 127.0.0.1, ::1 and localhost.
func Generate(dir string, hosts ...string) (Files, error) {
	return GenerateFor(dir, "", hosts...)
}

// GenerateFor is Generate, and then, when owner is a user name and the
// process runs as root, changes the owner of the files to that user.
func GenerateFor(dir, owner string, hosts ...string) (Files, error) {
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("testcert: %w", err)
	}
	now := time.Now()

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Files{}, fmt.Errorf("testcert: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "belay test CA " + strconv.FormatInt(now.UnixNano(), 36)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return Files{}, fmt.Errorf("testcert: CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Files{}, fmt.Errorf("testcert: CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Files{}, fmt.Errorf("testcert: server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return Files{}, fmt.Errorf("testcert: server certificate: %w", err)
	}

	f := Files{
		CACert: filepath.Join(dir, "ca.crt"),
		CAKey:  filepath.Join(dir, "ca.key"),
		Cert:   filepath.Join(dir, "server.crt"),
		Key:    filepath.Join(dir, "server.key"),
	}
	if err := writePEM(f.CACert, "CERTIFICATE", caDER, 0o644); err != nil {
		return Files{}, err
	}
	if err := writeKey(f.CAKey, caKey); err != nil {
		return Files{}, err
	}
	if err := writePEM(f.Cert, "CERTIFICATE", der, 0o644); err != nil {
		return Files{}, err
	}
	if err := writeKey(f.Key, key); err != nil {
		return Files{}, err
	}
	if owner != "" && os.Geteuid() == 0 {
		u, err := user.Lookup(owner)
		if err != nil {
			return Files{}, fmt.Errorf("testcert: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{f.CACert, f.CAKey, f.Cert, f.Key} {
			if err := os.Chown(p, uid, gid); err != nil {
				return Files{}, fmt.Errorf("testcert: %w", err)
			}
		}
	}
	return f, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("testcert: marshal key: %w", err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("testcert: write %s: %w", path, err)
	}
	// WriteFile keeps the mode of an existing file; be exact.
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("testcert: chmod %s: %w", path, err)
	}
	return nil
}

// ErrNoPEM is returned by LoadCert when a file has no certificate in it.
var ErrNoPEM = errors.New("testcert: no PEM certificate")

// LoadCert reads the first certificate of a PEM file.
func LoadCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("testcert: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w in %s", ErrNoPEM, path)
	}
	return x509.ParseCertificate(block.Bytes)
}
