package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/belay-proxy/belay/config"
)

// sslRequestCode, gssEncRequestCode and cancelRequestCode are the special
// protocol "versions" of the startup packet.
const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102
)

// upstreamDialer opens connections to PostgreSQL with libpq's sslmode rules.
type upstreamDialer struct {
	address string
	sslmode string
	tls     *tls.Config // nil when sslmode is disable
}

func newUpstreamDialer(cfg config.Upstream) (*upstreamDialer, error) {
	d := &upstreamDialer{address: cfg.Address, sslmode: cfg.SSLMode}
	if cfg.SSLMode == "disable" {
		return d, nil
	}
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("upstream address: %w", err)
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	mode := cfg.SSLMode
	// libpq: require with a root certificate behaves like verify-ca.
	if mode == "require" && cfg.SSLRootCert != "" {
		mode = "verify-ca"
	}
	var roots *x509.CertPool
	if mode == "verify-ca" || mode == "verify-full" {
		roots, err = loadRoots(cfg.SSLRootCert)
		if err != nil {
			return nil, err
		}
	}
	switch mode {
	case "prefer", "require":
		tc.InsecureSkipVerify = true // libpq does not verify in these modes either
	case "verify-ca":
		// Chain only, any host name: Go can only express that by skipping
		// its own verification and doing the chain check ourselves.
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
	case "verify-full":
		tc.RootCAs = roots
	}
	d.tls = tc
	return d, nil
}

func loadRoots(path string) (*x509.CertPool, error) {
	if path == "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("upstream sslrootcert: none given and no system pool: %w", err)
		}
		return pool, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("upstream sslrootcert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("upstream sslrootcert %s: no PEM certificates found", path)
	}
	return pool, nil
}

func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("upstream presented no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("upstream certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	if err != nil {
		return fmt.Errorf("upstream certificate verify failed: %w", err)
	}
	return nil
}

// dial connects and negotiates TLS as sslmode says. usedTLS reports whether
// the returned connection is encrypted.
func (d *upstreamDialer) dial(ctx context.Context) (conn net.Conn, usedTLS bool, err error) {
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", d.address)
	if err != nil {
		return nil, false, fmt.Errorf("connect to upstream %s: %w", d.address, err)
	}
	if d.tls == nil {
		return raw, false, nil
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	defer func() {
		if err != nil {
			raw.Close()
		} else {
			_ = raw.SetDeadline(noDeadline)
		}
	}()
	var req [8]byte
	binary.BigEndian.PutUint32(req[0:], 8)
	binary.BigEndian.PutUint32(req[4:], sslRequestCode)
	if _, err := raw.Write(req[:]); err != nil {
		return nil, false, fmt.Errorf("upstream SSLRequest: %w", err)
	}
	var answer [1]byte
	if _, err := io.ReadFull(raw, answer[:]); err != nil {
		return nil, false, fmt.Errorf("upstream SSLRequest answer: %w", err)
	}
	switch answer[0] {
	case 'S':
		tc := tls.Client(raw, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, false, fmt.Errorf("upstream TLS handshake (sslmode=%s): %w", d.sslmode, err)
		}
		return tc, true, nil
	case 'N':
		if d.sslmode == "prefer" {
			return raw, false, nil
		}
		return nil, false, fmt.Errorf("upstream %s does not support SSL, but sslmode=%s requires it", d.address, d.sslmode)
	default:
		return nil, false, fmt.Errorf("upstream answered SSLRequest with %q: not a PostgreSQL server?", answer[0])
	}
}
