package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/belay-proxy/belay/config"
)

// Server accepts client connections and runs a session for each.
type Server struct {
	log       *zap.Logger
	metrics   *Metrics
	inspector atomic.Pointer[inspectorBox]
	cfg       atomic.Pointer[config.Config]
	tlsCfg    atomic.Pointer[tls.Config]
	dialer    atomic.Pointer[upstreamDialer]
	cancels   *cancelRegistry
	loops     *loopSet // nil: every session on goroutines

	nextID   atomic.Uint64
	open     atomic.Int64
	mu       sync.Mutex
	sessions map[*session]struct{}
	wg       sync.WaitGroup
	draining atomic.Bool
}

// inspectorBox lets an interface value be swapped atomically.
type inspectorBox struct{ Inspector }

// NewServer builds a server from a validated configuration.
func NewServer(cfg *config.Config, insp Inspector, metrics *Metrics, log *zap.Logger) (*Server, error) {
	s := &Server{
		log:      log,
		metrics:  metrics,
		cancels:  newCancelRegistry(),
		sessions: make(map[*session]struct{}),
	}
	if err := s.Reload(cfg, insp); err != nil {
		return nil, err
	}
	if cfg.EventLoop {
		loops, err := newLoopSet(max(1, runtime.GOMAXPROCS(0)-1), log)
		if err != nil {
			return nil, err
		}
		s.loops = loops
	}
	return s, nil
}

// Reload swaps in a new configuration and inspector. Open sessions see them
// from their next statement; connections already made keep their upstream.
// Listen addresses cannot change without a restart.
func (s *Server) Reload(cfg *config.Config, insp Inspector) error {
	dialer, err := newUpstreamDialer(cfg.Upstream)
	if err != nil {
		return err
	}
	var tc *tls.Config
	if cfg.ClientTLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(cfg.ClientTLS.CertFile, cfg.ClientTLS.KeyFile)
		if err != nil {
			return fmt.Errorf("client_tls: %w", err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.tlsCfg.Store(tc)
	s.dialer.Store(dialer)
	s.inspector.Store(&inspectorBox{insp})
	s.cfg.Store(cfg)
	return nil
}

func (s *Server) config() *config.Config { return s.cfg.Load() }
func (s *Server) clientTLS() *tls.Config { return s.tlsCfg.Load() }
func (s *Server) inspect(info *SessionInfo, st *Statement) Verdict {
	v := s.inspector.Load().Inspect(info, st)
	if v.Action == Block && v.Refusal == nil { // an Inspector's bug must not crash the session
		v.Refusal = &Refusal{SQLState: "XX000", Message: "statement blocked without a reason (a bug in belay)"}
	}
	return v
}

// OpenSessions is the number of client connections being served.
func (s *Server) OpenSessions() int64 { return s.open.Load() }

// Serve accepts connections on ln until ctx is done or ln is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait, as net/http does.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", zap.Error(err), zap.Duration("retry_in", backoff))
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		s.handle(ctx, conn)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) handle(ctx context.Context, conn net.Conn) {
	s.metrics.ConnectionsTotal.Inc()
	cfg := s.config()
	if s.draining.Load() {
		conn.Close()
		return
	}
	if s.open.Load() >= int64(cfg.Limits.MaxConnections) {
		s.metrics.ConnectionsRejected.WithLabelValues("too_many_connections").Inc()
		go refuse(conn, &clientError{
			code:    "53300",
			message: fmt.Sprintf("too many connections: belay's limit is %d", cfg.Limits.MaxConnections),
			hint:    "Raise limits.max_connections or close idle sessions.",
		})
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetKeepAlive(true)
	}
	id := s.nextID.Add(1)
	sess := &session{
		srv:    s,
		ctx:    ctx,
		client: conn,
		dialer: s.dialer.Load(),
		info:   SessionInfo{ID: id, ClientAddr: conn.RemoteAddr().String()},
		log:    s.log.With(zap.Uint64("session", id), zap.String("client_addr", conn.RemoteAddr().String())),
	}
	sess.hold.init()
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	s.open.Add(1)
	s.metrics.ConnectionsOpen.Inc()
	s.wg.Add(1)
	go func() {
		defer func() {
			s.mu.Lock()
			delete(s.sessions, sess)
			s.mu.Unlock()
			s.open.Add(-1)
			s.metrics.ConnectionsOpen.Dec()
			s.wg.Done()
		}()
		sess.run()
	}()
}

// refuse answers a connection belay will not serve. The client is waiting
// to send its startup packet; read it first (briefly) so the error is read.
func refuse(conn net.Conn, ce *clientError) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if pkt, err := readStartupPacket(conn); err == nil && len(pkt) >= 8 {
		_, _ = conn.Write(encodeError("FATAL", ce))
	}
}

// Shutdown drains: new connections are refused (the caller closes the
// listener), each session ends at its next idle point (between
// transactions, nothing in flight), and whatever is left when ctx ends is
// closed. Closing an upstream connection makes PostgreSQL roll back.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.mu.Lock()
	for sess := range s.sessions {
		sess.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	if s.loops != nil {
		defer s.loops.stop()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	n := len(s.sessions)
	for sess := range s.sessions {
		sess.close()
	}
	s.mu.Unlock()
	<-done
	return fmt.Errorf("drain timeout: closed %d busy sessions: %w", n, ctx.Err())
}

// Config returns the configuration in force.
func (s *Server) Config() *config.Config { return s.config() }

// UpstreamAddress is the PostgreSQL address new sessions connect to.
func (s *Server) UpstreamAddress() string { return s.config().Upstream.Address }
