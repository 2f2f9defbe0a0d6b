package proxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

// relay runs both directions until either side ends, then closes both.
func (s *session) relay() error {
	var (
		once  sync.Once
		first error
	)
	stop := func(err error) {
		once.Do(func() { first = err })
		// belay's own FATAL must reach the client before the close.
		var ce *clientError
		if errors.As(err, &ce) {
			s.reportToClient(ce)
		}
		s.close()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		stop(s.pumpUpstream())
	}()
	stop(s.pumpClient())
	<-done
	return first
}

// pumpClient reads the client, screens every message (inspecting each
// Query and Parse), and writes each run of forwarded messages upstream in
// one write.
func (s *session) pumpClient() error {
	m := s.fromClient
	for {
		if err := m.fill(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) { // a hold's timeout (hold_client.go)
				if err := s.expireHoldUpstream(); err != nil {
					return err
				}
				continue
			}
			return err
		}
		pos, requests := 0, 0
		for {
			typ, size, ok, err := m.header(pos)
			if err != nil {
				return s.clientProtocolError(err)
			}
			if !ok {
				break
			}
			if !validFrontendType(typ) {
				return s.clientProtocolError(protocolViolation(fmt.Sprintf("invalid frontend message type %d", typ)))
			}
			if !m.complete(pos, size) {
				if m.fits(size) {
					break
				}
				// Larger than the buffer: send what is ready, then this one.
				if err := s.sendUpstream(m.bytes(0, pos), requests); err != nil {
					return err
				}
				m.consume(pos)
				pos, requests = 0, 0
				if err := s.relayLargeClientMessage(typ, size); err != nil {
					return err
				}
				continue
			}
			r, err := s.screenClient(typ, m.bytes(pos, size), requests)
			if err != nil {
				return err
			}
			if r.wait { // a holding session: send what is ready, wait for the answers
				if err := s.sendUpstream(m.bytes(0, pos), requests); err != nil {
					return err
				}
				m.consume(pos)
				pos, requests = 0, 0
				if !s.state.waitGate() {
					return net.ErrClosed
				}
				continue
			}
			if r.before != nil { // belay's own request goes first
				if err := s.sendUpstream(m.bytes(0, pos), requests); err != nil {
					return err
				}
				m.consume(pos)
				pos, requests = 0, 0
				if err := s.sendUpstream(r.before, r.beforeRequests); err != nil {
					return err
				}
			}
			if !r.forward {
				if err := s.sendUpstream(m.bytes(0, pos), requests); err != nil {
					return err
				}
				m.consume(pos + size)
				pos, requests = 0, 0
				if err := s.answerFromBelay(r); err != nil {
					return err
				}
				continue
			}
			switch typ {
			case 'Q', 'F', 'S':
				requests++
			case 'X': // Terminate: pass it on, then we are done
				if err := s.sendUpstream(m.bytes(0, pos+size), requests); err != nil {
					return err
				}
				return io.EOF
			}
			pos += size
		}
		if pos > 0 {
			if err := s.sendUpstream(m.bytes(0, pos), requests); err != nil {
				return err
			}
			m.consume(pos)
		}
	}
}

// answerFromBelay sends what the screen put in place of a client message.
func (s *session) answerFromBelay(r screenResult) error {
	if r.upstream != nil {
		if r.raise {
			if !s.state.sendingRaise(r.midBatch, r.batchStart) {
				return net.ErrClosed
			}
			if err := s.writeUpstream(r.upstream); err != nil {
				return err
			}
		} else if err := s.sendUpstream(r.upstream, r.requests); err != nil {
			return err
		}
	}
	if r.client != nil {
		return s.writeClientCounted(r.client)
	}
	return nil
}

// validFrontendType reports whether typ is a message a client may send
// after startup; anything else ends the session, as in PostgreSQL.
func validFrontendType(typ byte) bool {
	switch typ {
	case 'Q', 'P', 'B', 'E', 'D', 'C', 'S', 'H', 'F', 'X', 'd', 'c', 'f', 'p':
		return true
	}
	return false
}

// sendUpstream writes a batch holding `requests` messages that PostgreSQL
// answers with ReadyForQuery.
func (s *session) sendUpstream(b []byte, requests int) error {
	if len(b) == 0 {
		return nil
	}
	if !s.state.sending(requests) {
		return net.ErrClosed
	}
	return s.writeUpstream(b)
}

// writeUpstream writes whole messages upstream. The lock keeps a hold's
// own requests (sent by the upstream pump) from interleaving with the
// client's.
func (s *session) writeUpstream(b []byte) error {
	s.upMu.Lock()
	n, err := s.upstream.Write(b)
	s.upMu.Unlock()
	s.srv.metrics.BytesClientToServer.Add(float64(n))
	if err != nil {
		return fmt.Errorf("write upstream: %w", err)
	}
	return nil
}

// expireHoldUpstream rolls back a hold idle past its timeout, if due.
func (s *session) expireHoldUpstream() error {
	_ = s.client.SetReadDeadline(noDeadline)
	if req := s.expireHold(); req != nil {
		return s.writeUpstream(req)
	}
	return nil
}

// relayLargeClientMessage handles a message larger than the read buffer:
// statements and FunctionCalls are read whole (they must be inspected, up
// to max_message_bytes like any message), anything else (a big Bind
// parameter, CopyData) streams through — or is dropped, while skipping to
// Sync after a blocked Parse.
func (s *session) relayLargeClientMessage(typ byte, size int) error {
	m := s.fromClient
	switch typ {
	case 'Q', 'P', 'F':
		_, msg, err := m.readWhole()
		if err != nil {
			return err
		}
		defer m.releaseOversize()
		r, err := s.screenClient(typ, msg, 0)
		for err == nil && r.wait {
			if !s.state.waitGate() {
				return net.ErrClosed
			}
			r, err = s.screenClient(typ, msg, 0)
		}
		if err != nil {
			return err
		}
		if !r.forward {
			return s.answerFromBelay(r)
		}
		requests := 0
		if typ != 'P' {
			requests = 1
		}
		return s.sendUpstream(msg, requests)
	case 'B', 'd':
		if s.skipToSync {
			return m.streamTo(io.Discard, size)
		}
		if typ == 'B' {
			if s.lockstep {
				r, err := s.screenLargeBind(m.bytes(0, m.buffered()))
				if err != nil {
					return err
				}
				if r.before != nil {
					if err := s.sendUpstream(r.before, r.beforeRequests); err != nil {
						return err
					}
				}
			}
			s.noteBind(m.bytes(0, m.buffered()))
		}
		if !s.state.sending(0) {
			return net.ErrClosed
		}
		w := countingWriter{w: s.upstream, n: s.srv.metrics.BytesClientToServer}
		s.upMu.Lock()
		defer s.upMu.Unlock()
		return m.streamTo(w, size)
	default:
		return s.clientProtocolError(protocolViolation(fmt.Sprintf("message type %q of %d bytes is too large", typ, size)))
	}
}

// inspectQuery shows a Query's text to the Inspector.
func (s *session) inspectQuery(msg []byte) Verdict {
	s.stmt = Statement{Protocol: Simple, Text: queryText(msg), Scratch: &s.scratch}
	return s.srv.inspect(&s.info, &s.stmt)
}

// inspectParse shows a Parse's statement to the Inspector.
func (s *session) inspectParse(msg []byte) (Verdict, error) {
	body := msg[headerLen:]
	i := bytes.IndexByte(body, 0)
	if i < 0 {
		return Verdict{}, s.clientProtocolError(protocolViolation("Parse message: statement name not terminated"))
	}
	name := body[:i]
	text := body[i+1:]
	j := bytes.IndexByte(text, 0)
	if j < 0 {
		return Verdict{}, s.clientProtocolError(protocolViolation("Parse message: query not terminated"))
	}
	s.stmt = Statement{Protocol: Extended, Text: text[:j], Scratch: &s.scratch}
	if len(name) > 0 {
		s.stmt.Name = string(name)
	}
	return s.srv.inspect(&s.info, &s.stmt), nil
}

// inspectFunctionCall shows a FunctionCall to the Inspector: the OID it
// calls (its arguments are not shown), and whether it may run outside a
// transaction block. unsent is as for screenClient.
func (s *session) inspectFunctionCall(msg []byte, unsent int) (Verdict, error) {
	body := msg[headerLen:]
	if len(body) < 4 {
		return Verdict{}, s.clientProtocolError(protocolViolation("FunctionCall message: function OID missing"))
	}
	oid := binary.BigEndian.Uint32(body)
	s.stmt = Statement{
		Protocol:           FunctionCall,
		Function:           oid,
		Text:               fmt.Appendf(nil, "fast-path call of function OID %d", oid),
		Scratch:            &s.scratch,
		OutsideTransaction: unsent > 0 || !s.state.inTransactionBlock(),
	}
	return s.srv.inspect(&s.info, &s.stmt), nil
}

// clientProtocolError turns a framing problem into a FATAL for the client.
func (s *session) clientProtocolError(err error) error {
	var ce *clientError
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, errMessageTooLarge) {
		return &clientError{code: "54000", message: err.Error(), hint: "Raise limits.max_message_bytes if such messages are expected."}
	}
	return protocolViolation(err.Error())
}

// pumpUpstream relays PostgreSQL's messages to the client, a read's worth
// of complete messages per write, noting each ReadyForQuery.
func (s *session) pumpUpstream() error {
	m := s.fromServer
	for {
		if err := m.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return errUpstreamClosed
			}
			return err
		}
		pos, endNow := 0, false
		for {
			typ, size, ok, err := m.header(pos)
			if err != nil {
				return fmt.Errorf("upstream: %w", err)
			}
			if !ok {
				break
			}
			if !m.complete(pos, size) {
				if m.fits(size) {
					break
				}
				if err := s.writeClientCounted(m.bytes(0, pos)); err != nil {
					return err
				}
				m.consume(pos)
				pos = 0
				if err := s.streamToClient(size); err != nil {
					return err
				}
				continue
			}
			if s.hold.engaged.Load() {
				if act := s.holdServer(typ, m.bytes(pos, size)); act.own {
					if err := s.writeClientCounted(m.bytes(0, pos)); err != nil {
						return err
					}
					m.consume(pos + size)
					pos = 0
					if err := s.writeClientCounted(act.client); err != nil {
						return err
					}
					if act.upstream != nil {
						if err := s.writeUpstream(act.upstream); err != nil {
							return err
						}
					}
					endNow = endNow || act.endNow
					continue
				}
			}
			switch typ {
			case 'E':
				if s.state.raisesOut.Load() > 0 {
					if mine, ok := unmarkRaise(m.bytes(pos, size)); ok {
						s.state.raisedError()
						if err := s.writeClientCounted(m.bytes(0, pos)); err != nil {
							return err
						}
						if err := s.writeClientCounted(mine); err != nil {
							return err
						}
						m.consume(pos + size)
						pos = 0
						continue
					}
				}
				s.info.trail.answer(typ, m.bytes(pos, size))
			case 'C', 'I', 's', 'V':
				s.info.trail.answer(typ, m.bytes(pos, size))
			case 'Z':
				swallow, end := s.state.answered(m.bytes(pos, size)[headerLen])
				endNow = endNow || end
				if swallow { // answers belay's raise inside an extended batch
					if err := s.writeClientCounted(m.bytes(0, pos)); err != nil {
						return err
					}
					m.consume(pos + size)
					pos = 0
					continue
				}
				s.info.trail.answer(typ, m.bytes(pos, size))
			}
			pos += size
		}
		if pos > 0 {
			if err := s.writeClientCounted(m.bytes(0, pos)); err != nil {
				return err
			}
			m.consume(pos)
		}
		if endNow {
			s.endForShutdown()
			return errShutdown
		}
	}
}

// errShutdown ends a session that belay closed for its own shutdown.
var errShutdown = errors.New("closed for shutdown")

func (s *session) writeClientCounted(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	s.clientMu.Lock()
	n, err := s.client.Write(b)
	s.clientMu.Unlock()
	s.srv.metrics.BytesServerToClient.Add(float64(n))
	if err != nil {
		return fmt.Errorf("write client: %w", err)
	}
	return nil
}

// streamToClient relays one large message (a wide DataRow, say) without
// holding it whole in memory.
func (s *session) streamToClient(size int) error {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	return s.fromServer.streamTo(countingWriter{w: s.client, n: s.srv.metrics.BytesServerToClient}, size)
}

// countingWriter counts relayed bytes into a Prometheus counter.
type countingWriter struct {
	w io.Writer
	n interface{ Add(float64) }
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(float64(n))
	return n, err
}
