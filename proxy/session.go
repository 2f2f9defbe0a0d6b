package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// noDeadline clears a connection deadline.
var noDeadline time.Time

// errUpstreamClosed ends a session whose upstream said its last word.
var errUpstreamClosed = errors.New("upstream closed the connection")

// session is one client connection and its own upstream connection.
//
// Two goroutines carry it once startup is done. The session's own goroutine
// reads the client, shows every statement to the Inspector, and writes to
// PostgreSQL; it is where decisions are made. The upstream pump only relays
// PostgreSQL's answers (and its asynchronous NOTIFY, NOTICE and
// ParameterStatus messages, which may come while the client is idle) and
// notes the transaction status from each ReadyForQuery. Each direction is
// written in batches: whatever complete messages one read brought in go out
// in one write, so a round trip costs one read and one write per leg.
type session struct {
	srv    *Server
	ctx    context.Context
	log    *zap.Logger
	info   SessionInfo
	dialer *upstreamDialer

	client    net.Conn
	clientTLS bool
	upstream  net.Conn
	// upstreamTLS is whether the upstream leg is encrypted.
	upstreamTLS bool

	fromClient *msgBuffer
	fromServer *msgBuffer

	// clientMu serialises writes to the client: the upstream pump relays,
	// and the session itself writes its own errors and shutdown notices.
	clientMu sync.Mutex

	key         cancelKey
	keyIssued   bool
	upstreamPID uint32

	// state is shared by both pumps and shutdown; see sessionState.
	state     sessionState
	closeOnce sync.Once
	closed    atomic.Bool
	// onLoop is set once the session is relayed by an event loop, which
	// then owns both sockets.
	onLoop     atomic.Pointer[loopSession]
	reportOnce sync.Once

	// Screening state of the client→upstream direction (see screen.go),
	// touched only by the goroutine or loop that reads the client.
	skipToSync bool // a Parse was blocked: drop messages up to Sync
	localSync  bool // ... and answer that Sync from belay
	inBatch    bool // extended messages went upstream since the last Sync

	// Holds (hold.go): lockstep is set while the session's profile holds
	// writes; holdProfile is that profile. hold is shared with the
	// server→client direction.
	lockstep    bool
	holdProfile *policy.Profile
	hold        holdState
	// upMu serialises writes upstream in the goroutine relay, where the
	// upstream pump sends belay's own requests of a hold.
	upMu sync.Mutex

	// stmt is reused for every inspection to keep the hot path allocation-free.
	stmt    Statement
	scratch rules.Scratch
}

// run serves the connection to the end. It never panics on client input:
// every problem ends this one session with an error the client can read.
func (s *session) run() {
	defer s.close()
	err := s.serve()
	s.holdSessionEnded()
	s.finish(err)
	s.info.trail.flush() // statements whose answer never came
}

func (s *session) serve() error {
	limits := s.srv.config().Limits
	_ = s.client.SetDeadline(time.Now().Add(limits.StartupTimeout))
	sp, err := s.readStartup()
	if err != nil {
		return err
	}
	s.info.User = sp.params["user"]
	s.info.Database = sp.params["database"]
	if s.info.Database == "" {
		s.info.Database = s.info.User
	}
	s.info.ApplicationName = sp.params["application_name"]
	s.log = s.log.With(zap.String("user", s.info.User), zap.String("database", s.info.Database))

	if err := s.connectUpstream(limits.StartupTimeout); err != nil {
		return err
	}
	s.fromClient = newMsgBuffer(s.client, int(limits.MaxMessageBytes))
	s.fromServer = newMsgBuffer(s.upstream, int(limits.MaxMessageBytes))
	if _, err := s.upstream.Write(s.upstreamStartup(sp)); err != nil {
		return fmt.Errorf("send startup to upstream: %w", err)
	}
	if err := s.relayAuth(); err != nil {
		return err
	}
	_ = s.client.SetDeadline(noDeadline)
	_ = s.upstream.SetDeadline(noDeadline)
	s.log.Debug("session ready", zap.Uint32("upstream_pid", s.upstreamPID), zap.Bool("client_tls", s.clientTLS), zap.Bool("upstream_tls", s.upstreamTLS))
	if loops := s.srv.loops; loops != nil && !s.clientTLS && !s.upstreamTLS {
		return s.adoptIntoLoop(loops.pick())
	}
	return s.relay()
}

func (s *session) connectUpstream(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	conn, usedTLS, err := s.dialer.dial(ctx)
	if err != nil {
		s.srv.metrics.UpstreamErrors.WithLabelValues("connect").Inc()
		return &clientError{
			code:    "08006",
			message: "cannot connect to the upstream PostgreSQL server",
			detail:  err.Error(),
			hint:    "Check that PostgreSQL is running and that belay's upstream settings are right.",
		}
	}
	s.upstream, s.upstreamTLS = conn, usedTLS
	_ = conn.SetDeadline(time.Now().Add(timeout))
	return nil
}

// finish reports why the session ended: to the client when belay itself
// refused something, and to the log.
func (s *session) finish(err error) {
	var ce *clientError
	switch {
	case err == nil, errors.Is(err, errCancelDone):
	case errors.As(err, &ce):
		s.srv.metrics.ConnectionsRejected.WithLabelValues(ce.code).Inc()
		s.log.Warn("session refused", zap.String("sqlstate", ce.code), zap.String("reason", ce.message), zap.String("detail", ce.detail))
		s.reportToClient(ce)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, errUpstreamClosed):
		s.log.Debug("session closed", zap.Error(err))
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.srv.metrics.ConnectionsRejected.WithLabelValues("timeout").Inc()
			s.log.Info("session timed out", zap.Error(err))
			return
		}
		s.log.Info("session ended", zap.Error(err))
	}
}

// reportToClient sends belay's FATAL error once, with a short deadline so
// a client that does not read cannot hold the session.
func (s *session) reportToClient(ce *clientError) {
	s.reportOnce.Do(func() {
		_ = s.client.SetWriteDeadline(time.Now().Add(time.Second))
		_ = s.writeClient(encodeError("FATAL", ce))
	})
}

// close releases both connections (closing the upstream makes PostgreSQL
// roll back whatever the client left open) and the cancel key.
func (s *session) close() {
	s.closed.Store(true)
	s.state.end()
	if ls := s.onLoop.Load(); ls != nil {
		ls.loop.command(loopCmd{kind: cmdClose, ls: ls})
	}
	s.closeOnce.Do(func() {
		s.client.Close()
		if s.upstream != nil {
			s.upstream.Close()
		}
		if s.keyIssued {
			s.srv.cancels.unregister(s.key)
		}
	})
}

// writeClient writes whole messages to the client.
func (s *session) writeClient(b []byte) error {
	s.clientMu.Lock()
	_, err := s.client.Write(b)
	s.clientMu.Unlock()
	return err
}

// shutdown asks the session to end at its next idle point, at once if it is
// idle now. The client gets FATAL 57P01, as from a PostgreSQL shutdown.
func (s *session) shutdown() {
	if s.state.beginShutdown() {
		s.endForShutdown()
	}
}

func (s *session) endForShutdown() {
	if ls := s.onLoop.Load(); ls != nil {
		ls.loop.command(loopCmd{kind: cmdShutdownIdle, ls: ls})
		return
	}
	_ = s.client.SetWriteDeadline(time.Now().Add(time.Second))
	_ = s.writeClient(shutdownNotice())
	s.close()
}

// shutdownNotice is the FATAL a session gets when belay shuts down.
func shutdownNotice() []byte {
	return encodeError("FATAL", &clientError{
		code:    "57P01",
		message: "terminating connection because belay is shutting down",
		hint:    "Reconnect; the next belay instance or the restarted one will take the connection.",
	})
}
