package proxy

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Authentication request codes (the int32 after an 'R' message's length).
const (
	authOK           = 0
	authSASL         = 10
	authSASLContinue = 11
	authSASLFinal    = 12
)

// scramPlus is the channel-binding SCRAM mechanism. Its binding data is the
// hash of the server certificate the client sees, which is belay's when
// belay terminates the client's TLS, so it can never verify upstream.
const scramPlus = "SCRAM-SHA-256-PLUS"

// relayAuth passes the upstream's authentication exchange through to the
// client unchanged, up to and including the first ReadyForQuery. belay
// stores no passwords: it only carries the messages. It swaps the upstream's
// BackendKeyData for belay's own so that cancels come through belay.
func (s *session) relayAuth() error {
	for {
		typ, msg, err := s.fromServer.readWhole()
		if err != nil {
			return fmt.Errorf("upstream during authentication: %w", err)
		}
		switch typ {
		case 'R':
			if err := s.relayAuthRequest(msg); err != nil {
				return err
			}
		case 'K':
			if err := s.registerCancelKey(msg[5:]); err != nil {
				return err
			}
		case 'E':
			// Authentication failed or the server refused us: the client
			// gets PostgreSQL's own error, then the connection ends.
			_ = s.writeClient(msg)
			return errUpstreamClosed
		case 'Z':
			if _, endNow := s.state.answered(msg[5]); endNow {
				_ = s.writeClient(msg)
				s.endForShutdown()
				return errUpstreamClosed
			}
			return s.writeClient(msg)
		default: // ParameterStatus, NoticeResponse, NegotiateProtocolVersion
			if err := s.writeClient(msg); err != nil {
				return err
			}
		}
	}
}

func (s *session) relayAuthRequest(msg []byte) error {
	if len(msg) < 9 {
		return fmt.Errorf("upstream sent a short authentication message")
	}
	code := binary.BigEndian.Uint32(msg[5:9])
	switch code {
	case authOK, authSASLFinal:
		return s.writeClient(msg)
	case authSASL:
		if s.clientTLS {
			msg = withoutMechanism(msg, scramPlus)
		}
		if err := s.writeClient(msg); err != nil {
			return err
		}
		return s.relayClientAuthResponse(true)
	default: // cleartext, MD5, SASL continue, GSS, SSPI: the client answers
		if err := s.writeClient(msg); err != nil {
			return err
		}
		return s.relayClientAuthResponse(false)
	}
}

// relayClientAuthResponse forwards the client's answer ('p') to the
// upstream. For the first SASL message it refuses a client that announces
// channel-binding support ("y") when both legs are TLS: PostgreSQL would
// reject it as a downgrade attack with a message that names neither belay
// nor the fix.
func (s *session) relayClientAuthResponse(saslInitial bool) error {
	typ, msg, err := s.fromClient.readWhole()
	if err != nil {
		return fmt.Errorf("client during authentication: %w", err)
	}
	if typ != 'p' {
		return protocolViolation(fmt.Sprintf("expected an authentication response, got message type %q", typ))
	}
	if saslInitial && s.clientTLS && s.upstreamTLS && gs2Flag(msg) == 'y' {
		return &clientError{
			code:    "28000",
			message: "SCRAM channel binding cannot pass through belay: both the client connection and the upstream connection use TLS",
			detail:  "Channel binding ties authentication to the server certificate the client sees, which is belay's, not PostgreSQL's.",
			hint:    "Connect with channel_binding=disable; the connection to belay is still encrypted, and belay uses its own TLS to PostgreSQL.",
		}
	}
	_, err = s.upstream.Write(msg)
	return err
}

// gs2Flag returns the channel-binding flag of a SASLInitialResponse:
// 'n' (client cannot bind), 'y' (can, but thinks the server cannot), 'p'.
func gs2Flag(msg []byte) byte {
	body := msg[5:]
	i := bytes.IndexByte(body, 0)
	if i < 0 || len(body) < i+1+4+1 {
		return 0
	}
	return body[i+1+4]
}

// withoutMechanism re-encodes an AuthenticationSASL message without one
// mechanism name.
func withoutMechanism(msg []byte, drop string) []byte {
	out := make([]byte, 9, len(msg))
	copy(out, msg[:9])
	for rest := msg[9:]; len(rest) > 0; {
		i := bytes.IndexByte(rest, 0)
		if i <= 0 {
			break
		}
		if name := string(rest[:i]); name != drop {
			out = append(out, rest[:i+1]...)
		}
		rest = rest[i+1:]
	}
	out = append(out, 0)
	binary.BigEndian.PutUint32(out[1:5], uint32(len(out)-1))
	return out
}
