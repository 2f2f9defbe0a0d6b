package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// loopSession is a session's relay state inside an eventLoop. Everything
// here runs on the loop's goroutine.
type loopSession struct {
	loop      *eventLoop
	sess      *session
	clientFD  int
	serverFD  int
	up, down  loopDir // client→upstream, upstream→client
	interest  map[int]uint32
	ended     bool
	err       error
	done      chan struct{}
	maxBody   int
	terminate bool // the client sent Terminate: end after forwarding it
	// gated: a holding session's next request waits in up's buffer until
	// the answers in flight are in (hold.go); the client is not read.
	gated bool
}

// loopDir is one direction of a session: framing, inspection, and writes
// that never block (what the peer cannot take yet waits in out, and the
// source is not read meanwhile).
type loopDir struct {
	ls         *loopSession
	src, dst   int
	toUpstream bool
	buf        []byte
	start, end int
	want       int    // size of an inspected message bigger than buf
	pass       int    // bytes of a large relayed message still to come
	dropping   bool   // the passing message is dropped, not relayed
	out        []byte // written bytes the peer has not accepted yet
}

// adoptIntoLoop moves an authenticated plain-TCP session onto an event
// loop and waits until it ends there. Bytes the startup phase read ahead
// are relayed first.
func (s *session) adoptIntoLoop(l *eventLoop) error {
	cfd, err := dupFD(s.client)
	if err != nil {
		return err
	}
	sfd, err := dupFD(s.upstream)
	if err != nil {
		unix.Close(cfd)
		return err
	}
	ls := &loopSession{
		loop: l, sess: s, clientFD: cfd, serverFD: sfd,
		interest: make(map[int]uint32, 2),
		done:     make(chan struct{}),
		maxBody:  s.fromClient.maxBody,
	}
	ls.up = loopDir{ls: ls, src: cfd, dst: sfd, toUpstream: true, buf: leftover(s.fromClient)}
	ls.down = loopDir{ls: ls, src: sfd, dst: cfd, buf: leftover(s.fromServer)}
	s.onLoop.Store(ls)
	// The duplicates own the sockets now; the net.Conns leave Go's poller.
	s.client.Close()
	s.upstream.Close()
	l.command(loopCmd{kind: cmdAdopt, ls: ls})
	if s.closed.Load() { // close() ran before it could see the loop
		l.command(loopCmd{kind: cmdClose, ls: ls})
	}
	<-ls.done
	return ls.err
}

// leftover returns a read buffer holding what the startup phase read but
// did not consume.
func leftover(m *msgBuffer) []byte {
	buf := make([]byte, readBufferSize)
	n := copy(buf, m.buf[m.start:m.end])
	return buf[:n]
}

func dupFD(c net.Conn) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("connection %T has no file descriptor", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(f uintptr) {
		fd, dupErr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("dup socket: %w", dupErr)
	}
	return fd, nil
}

// start registers the sockets and relays what startup left over.
func (ls *loopSession) start() error {
	for _, d := range []*loopDir{&ls.up, &ls.down} {
		n := len(d.buf)
		d.buf = d.buf[:cap(d.buf)]
		d.end = n
	}
	ls.loop.byFD[ls.clientFD] = ls
	ls.loop.byFD[ls.serverFD] = ls
	for _, fd := range []int{ls.clientFD, ls.serverFD} {
		ls.interest[fd] = unix.EPOLLIN
		if err := unix.EpollCtl(ls.loop.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return fmt.Errorf("epoll_ctl add: %w", err)
		}
	}
	if ls.sess.state.claimIfIdle() {
		ls.writeClientBestEffort(shutdownNotice())
		return errShutdown
	}
	for _, d := range []*loopDir{&ls.up, &ls.down} {
		if d.end > 0 {
			if err := d.relay(); err != nil {
				return err
			}
		}
	}
	return nil
}

// event handles readiness of one of the session's sockets.
func (ls *loopSession) event(fd int, ev uint32) {
	if ls.ended {
		return
	}
	var err error
	if ev&unix.EPOLLOUT != 0 {
		err = ls.dirTo(fd).flushOut()
	}
	if err == nil && ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		if ls.canRead(fd) {
			err = ls.dirFrom(fd).readAndRelay()
		}
	}
	if err == nil && ls.gated && !ls.sess.state.gateClosed() {
		ls.gated = false
		err = ls.up.relay()
	}
	if err != nil {
		var ce *clientError
		if errors.As(err, &ce) {
			ls.writeClientBestEffort(encodeError("FATAL", ce))
		} else if errors.Is(err, errShutdown) {
			ls.writeClientBestEffort(shutdownNotice())
		}
		ls.end(err)
		return
	}
	ls.updateInterest()
}

func (ls *loopSession) dirFrom(fd int) *loopDir {
	if fd == ls.clientFD {
		return &ls.up
	}
	return &ls.down
}

func (ls *loopSession) dirTo(fd int) *loopDir {
	if fd == ls.clientFD {
		return &ls.down
	}
	return &ls.up
}

// replyBacklog bounds belay's own answers waiting for a client that does
// not read: past it, belay stops reading that client.
const replyBacklog = 64 << 10

// canRead reports whether a socket may be read now: only while the peer
// has taken everything (reading the client can also produce belay's own
// answers to it, so those are bounded too).
func (ls *loopSession) canRead(fd int) bool {
	if fd == ls.serverFD {
		return len(ls.down.out) == 0
	}
	return !ls.gated && len(ls.up.out) == 0 && len(ls.down.out) < replyBacklog
}

// updateInterest reads a socket only while its peer has taken everything,
// and asks for writability only while something waits to be written.
func (ls *loopSession) updateInterest() {
	for _, fd := range []int{ls.clientFD, ls.serverFD} {
		var want uint32
		if ls.canRead(fd) {
			want |= unix.EPOLLIN
		}
		if len(ls.dirTo(fd).out) > 0 {
			want |= unix.EPOLLOUT
		}
		if want != ls.interest[fd] {
			ls.interest[fd] = want
			_ = unix.EpollCtl(ls.loop.epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: want, Fd: int32(fd)})
		}
	}
}

// end closes both sockets (PostgreSQL rolls back what is open) and wakes
// the session's goroutine.
func (ls *loopSession) end(err error) {
	if ls.ended {
		return
	}
	ls.ended = true
	ls.err = err
	delete(ls.loop.byFD, ls.clientFD)
	delete(ls.loop.byFD, ls.serverFD)
	unix.Close(ls.clientFD)
	unix.Close(ls.serverFD)
	close(ls.done)
}

// writeClientBestEffort sends belay's own last words without blocking the
// loop; a client that does not read loses them, as with PostgreSQL.
func (ls *loopSession) writeClientBestEffort(msg []byte) {
	if ls.ended {
		return
	}
	if len(ls.down.out) > 0 {
		_, _ = unix.Write(ls.clientFD, ls.down.out)
	}
	_, _ = unix.Write(ls.clientFD, msg)
}

// readAndRelay reads once (level-triggered epoll calls again while data is
// waiting) and relays every complete message.
func (d *loopDir) readAndRelay() error {
	if d.end == len(d.buf) {
		switch {
		case d.start > 0:
			d.end = copy(d.buf, d.buf[d.start:d.end])
			d.start = 0
		case d.want > len(d.buf):
			// Grow with what arrives, not with what the header claims.
			grown := make([]byte, min(d.want, 2*len(d.buf)))
			copy(grown, d.buf[:d.end])
			d.buf = grown
		}
	}
	n, err := unix.Read(d.src, d.buf[d.end:])
	if err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return nil
		}
		return err
	}
	if n == 0 {
		if d.toUpstream {
			return io.EOF
		}
		return errUpstreamClosed
	}
	d.end += n
	return d.relay()
}

// relay walks the complete messages in the buffer, screens what the client
// sends, and writes runs of forwarded messages on in one call.
func (d *loopDir) relay() error {
	s := d.ls.sess
	d.want = 0
	pos, requests := d.start, 0
	var endNow bool
	for pos < d.end {
		if d.pass > 0 {
			k := min(d.pass, d.end-pos)
			pos += k
			d.pass -= k
			if d.dropping {
				// The rest of a large message after a blocked Parse.
				if err := d.cut(pos-k, pos, requests); err != nil {
					return err
				}
				requests = 0
				d.dropping = d.pass > 0
			}
			continue
		}
		if d.end-pos < headerLen {
			break
		}
		typ := d.buf[pos]
		length := int(binary.BigEndian.Uint32(d.buf[pos+1:]))
		if length < 4 {
			return d.framingError(fmt.Errorf("invalid message length %d for type %q", length, typ))
		}
		if length-4 > d.ls.maxBody {
			return d.framingError(fmt.Errorf("%w: type %q declares %d bytes, limit is %d", errMessageTooLarge, typ, length-4, d.ls.maxBody))
		}
		if d.toUpstream && !validFrontendType(typ) {
			return s.clientProtocolError(protocolViolation(fmt.Sprintf("invalid frontend message type %d", typ)))
		}
		size := 1 + length
		if d.end-pos < size {
			if d.toUpstream && (typ == 'Q' || typ == 'P' || typ == 'F') {
				d.want = size // inspected whole: grow the buffer as it arrives
				break
			}
			if size <= len(d.buf) {
				break
			}
			// Too big to hold and not inspected: relay it as it comes
			// (or drop it, while skipping to Sync after a blocked Parse).
			d.pass = size - (d.end - pos)
			if d.toUpstream && s.skipToSync {
				if err := d.cut(pos, d.end, requests); err != nil {
					return err
				}
				requests = 0
				d.dropping = true
			} else if d.toUpstream && typ == 'B' {
				if s.lockstep {
					if s.startsRequest(typ) && (requests > 0 || s.state.gateClosed()) {
						d.pass = 0
						d.ls.gated = true
						break
					}
					r, err := s.screenLargeBind(d.buf[pos:d.end])
					if err != nil {
						return err
					}
					if r.before != nil {
						if err := d.sendBefore(pos, requests, &r); err != nil {
							return err
						}
						requests = 0
					}
				}
				s.noteBind(d.buf[pos:d.end])
			}
			pos = d.end
			continue
		}
		msg := d.buf[pos : pos+size]
		if d.toUpstream {
			r, err := s.screenClient(typ, msg, requests)
			if err != nil {
				return err
			}
			if r.wait { // a holding session: the rest waits for the answers in flight
				d.ls.gated = true
				break
			}
			if r.before != nil {
				if err := d.sendBefore(pos, requests, &r); err != nil {
					return err
				}
				requests = 0
			}
			if !r.forward {
				if err := d.cut(pos, pos+size, requests); err != nil {
					return err
				}
				requests = 0
				if err := d.ls.answerFromBelay(r); err != nil {
					return err
				}
				pos += size
				continue
			}
			switch typ {
			case 'Q', 'S', 'F':
				requests++
			case 'X':
				d.ls.terminate = true
			}
		} else {
			if s.hold.engaged.Load() {
				if act := s.holdServer(typ, msg); act.own {
					if err := d.cut(pos, pos+size, 0); err != nil {
						return err
					}
					if err := d.emit(act.client); err != nil {
						return err
					}
					if act.upstream != nil {
						if err := d.ls.up.emit(act.upstream); err != nil {
							return err
						}
					}
					endNow = endNow || act.endNow
					pos += size
					continue
				}
			}
			switch typ {
			case 'E':
				if s.state.raisesOut.Load() > 0 {
					if mine, ok := unmarkRaise(msg); ok {
						s.state.raisedError()
						if err := d.cut(pos, pos+size, 0); err != nil {
							return err
						}
						if err := d.emit(mine); err != nil {
							return err
						}
						break
					}
				}
				s.info.trail.answer(typ, msg)
			case 'C', 'I', 's', 'V':
				s.info.trail.answer(typ, msg)
			case 'Z':
				swallow, end := s.state.answered(msg[headerLen])
				endNow = endNow || end
				if swallow {
					if err := d.cut(pos, pos+size, 0); err != nil {
						return err
					}
				} else {
					s.info.trail.answer(typ, msg)
				}
			}
		}
		pos += size
		if d.ls.terminate {
			break
		}
	}
	if err := d.cut(pos, pos, requests); err != nil {
		return err
	}
	if d.start == d.end {
		d.start, d.end = 0, 0
		if len(d.buf) > readBufferSize && d.want == 0 {
			d.buf = make([]byte, readBufferSize)
		}
	}
	if d.ls.terminate {
		return io.EOF
	}
	if endNow {
		return errShutdown
	}
	return nil
}

// cut writes the run of forwarded messages before pos (holding requests
// requests) and resumes after skip, dropping what lies between.
func (d *loopDir) cut(pos, skip, requests int) error {
	if pos > d.start {
		if d.toUpstream && !d.ls.sess.state.sending(requests) {
			return errShutdown
		}
		if err := d.emit(d.buf[d.start:pos]); err != nil {
			return err
		}
	}
	d.start = skip
	return nil
}

// sendBefore writes the forwarded run before pos, then belay's own request
// that must reach PostgreSQL ahead of the message at pos.
func (d *loopDir) sendBefore(pos, requests int, r *screenResult) error {
	if err := d.cut(pos, pos, requests); err != nil {
		return err
	}
	if !d.ls.sess.state.sending(r.beforeRequests) {
		return errShutdown
	}
	return d.emit(r.before)
}

// answerFromBelay sends what the screen put in place of a client message.
func (ls *loopSession) answerFromBelay(r screenResult) error {
	if r.upstream != nil {
		if r.raise && !ls.sess.state.sendingRaise(r.midBatch, r.batchStart) {
			return errShutdown
		}
		if !r.raise && !ls.sess.state.sending(r.requests) {
			return errShutdown
		}
		if err := ls.up.emit(r.upstream); err != nil {
			return err
		}
	}
	if r.client != nil {
		return ls.down.emit(r.client)
	}
	return nil
}

// emit writes b after whatever still waits for the peer, keeping order.
func (d *loopDir) emit(b []byte) error {
	if len(d.out) > 0 {
		d.out = append(d.out, b...)
		return nil
	}
	return d.send(b)
}

func (d *loopDir) framingError(err error) error {
	if d.toUpstream {
		return d.ls.sess.clientProtocolError(err)
	}
	return fmt.Errorf("upstream: %w", err)
}

// send writes b to the peer, keeping what it cannot take yet.
func (d *loopDir) send(b []byte) error {
	m := d.ls.sess.srv.metrics
	for len(b) > 0 {
		n, err := unix.Write(d.dst, b)
		if n > 0 {
			if d.toUpstream {
				m.BytesClientToServer.Add(float64(n))
			} else {
				m.BytesServerToClient.Add(float64(n))
			}
			b = b[n:]
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.EAGAIN) {
				d.out = append(d.out[:0], b...)
				return nil
			}
			return err
		}
	}
	return nil
}

// flushOut writes what waited for the peer to become writable.
func (d *loopDir) flushOut() error {
	pending := d.out
	d.out = d.out[:0]
	if err := d.send(pending); err != nil {
		return err
	}
	if len(d.out) == 0 && cap(d.out) > 4*readBufferSize {
		d.out = nil
	}
	return nil
}
