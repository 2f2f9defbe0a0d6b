package proxy

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxStartupPacket is PostgreSQL's own limit (MAX_STARTUP_PACKET_LENGTH).
const maxStartupPacket = 10000

// errCancelDone ends a connection that only carried a CancelRequest.
var errCancelDone = errors.New("cancel request handled")

// startupPacket is the client's StartupMessage: the raw bytes to forward
// unchanged (protocol version, every parameter, _pq_ extensions) and the
// parameters belay reads for its own use.
type startupPacket struct {
	raw    []byte
	params map[string]string
}

// readStartup runs the client's side of startup up to its StartupMessage:
// SSLRequest (TLS when a certificate is configured, else 'N'),
// GSSENCRequest ('N'), and CancelRequest (routed, then errCancelDone).
func (s *session) readStartup() (*startupPacket, error) {
	sslAsked := false
	for {
		pkt, err := readStartupPacket(s.client)
		if err != nil {
			return nil, err
		}
		code := binary.BigEndian.Uint32(pkt[4:8])
		switch {
		case code == sslRequestCode:
			if sslAsked || s.clientTLS {
				return nil, protocolViolation("SSLRequest sent twice")
			}
			sslAsked = true
			if err := s.answerSSLRequest(); err != nil {
				return nil, err
			}
		case code == gssEncRequestCode:
			if _, err := s.client.Write([]byte{'N'}); err != nil {
				return nil, fmt.Errorf("answer GSSENCRequest: %w", err)
			}
		case code == cancelRequestCode:
			s.srv.cancels.forward(s.ctx, pkt[8:], s.log)
			return nil, errCancelDone
		case code>>16 == 3:
			params, err := parseStartupParams(pkt[8:])
			if err != nil {
				return nil, err
			}
			return &startupPacket{raw: pkt, params: params}, nil
		default:
			return nil, &clientError{
				code:    "08P01",
				message: fmt.Sprintf("unsupported frontend protocol %d.%d: belay speaks protocol 3", code>>16, code&0xffff),
			}
		}
	}
}

// answerSSLRequest answers 'S' and switches the client leg to TLS when a
// certificate is configured, else 'N' (the client then goes on in clear or
// gives up, as its sslmode says).
func (s *session) answerSSLRequest() error {
	tc := s.srv.clientTLS()
	if tc == nil {
		if _, err := s.client.Write([]byte{'N'}); err != nil {
			return fmt.Errorf("answer SSLRequest: %w", err)
		}
		return nil
	}
	if _, err := s.client.Write([]byte{'S'}); err != nil {
		return fmt.Errorf("answer SSLRequest: %w", err)
	}
	conn := tls.Server(s.client, tc)
	if err := conn.HandshakeContext(s.ctx); err != nil {
		return fmt.Errorf("client TLS handshake: %w", err)
	}
	s.client = conn
	s.clientTLS = true
	return nil
}

// readStartupPacket reads one length-prefixed startup-phase packet and
// returns it whole (length included), so it can be forwarded byte for byte.
func readStartupPacket(r io.Reader) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("read startup packet: %w", err)
	}
	n := binary.BigEndian.Uint32(head[:])
	if n < 8 || n > maxStartupPacket {
		return nil, protocolViolation(fmt.Sprintf("invalid startup packet length %d", n))
	}
	pkt := make([]byte, n)
	copy(pkt, head[:])
	if _, err := io.ReadFull(r, pkt[4:]); err != nil {
		return nil, fmt.Errorf("read startup packet: %w", err)
	}
	return pkt, nil
}

// parseStartupParams reads the name/value C-string pairs of a
// StartupMessage, ended by an empty name.
func parseStartupParams(b []byte) (map[string]string, error) {
	params := make(map[string]string, 8)
	for {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil, protocolViolation("startup packet: parameter list not terminated")
		}
		if i == 0 {
			break
		}
		name := string(b[:i])
		b = b[i+1:]
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			return nil, protocolViolation("startup packet: value of " + name + " not terminated")
		}
		params[name] = string(b[:j])
		b = b[j+1:]
	}
	if params["user"] == "" {
		return nil, &clientError{code: "28000", message: "no PostgreSQL user name specified in startup packet"}
	}
	return params, nil
}
