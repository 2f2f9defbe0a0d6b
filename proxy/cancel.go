package proxy

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// cancelKey is the BackendKeyData belay gives a client: its own process id
// and secret, never the upstream's, so a client can only cancel through
// belay and only its own session.
type cancelKey struct {
	pid    uint32
	secret uint32
}

// upstreamKey is what PostgreSQL gave belay: the backend's process id and
// its secret (4 bytes in protocol 3.0, up to 256 in 3.2).
type upstreamKey struct {
	pid    uint32
	secret []byte
	dialer *upstreamDialer
}

// cancelRegistry maps the keys belay issued to the upstream's keys.
type cancelRegistry struct {
	mu      sync.Mutex
	keys    map[cancelKey]upstreamKey
	timeout time.Duration
}

func newCancelRegistry() *cancelRegistry {
	return &cancelRegistry{keys: make(map[cancelKey]upstreamKey), timeout: 5 * time.Second}
}

// register stores up and returns a fresh random key for the client.
func (r *cancelRegistry) register(up upstreamKey) (cancelKey, error) {
	var b [8]byte
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return cancelKey{}, fmt.Errorf("cancel key: %w", err)
		}
		k := cancelKey{pid: binary.BigEndian.Uint32(b[:4]) & 0x7fffffff, secret: binary.BigEndian.Uint32(b[4:])}
		if _, taken := r.keys[k]; !taken && k.pid != 0 {
			r.keys[k] = up
			return k, nil
		}
	}
}

func (r *cancelRegistry) unregister(k cancelKey) {
	r.mu.Lock()
	delete(r.keys, k)
	r.mu.Unlock()
}

// forward handles a CancelRequest body (pid, secret). A key belay did not
// issue cancels nothing; like PostgreSQL, belay answers nothing either way.
func (r *cancelRegistry) forward(ctx context.Context, body []byte, log *zap.Logger) {
	if len(body) != 8 {
		log.Info("cancel request with an unexpected key length ignored", zap.Int("key_bytes", len(body)))
		return
	}
	k := cancelKey{pid: binary.BigEndian.Uint32(body[:4]), secret: binary.BigEndian.Uint32(body[4:])}
	r.mu.Lock()
	up, ok := r.keys[k]
	r.mu.Unlock()
	if !ok {
		log.Info("cancel request for an unknown key ignored")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := sendCancel(ctx, up); err != nil {
		log.Warn("forward cancel request", zap.Error(err))
		return
	}
	log.Info("cancel request forwarded", zap.Uint32("upstream_pid", up.pid))
}

func sendCancel(ctx context.Context, up upstreamKey) error {
	conn, _, err := up.dialer.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	pkt := make([]byte, 12+len(up.secret))
	binary.BigEndian.PutUint32(pkt[0:], uint32(len(pkt)))
	binary.BigEndian.PutUint32(pkt[4:], cancelRequestCode)
	binary.BigEndian.PutUint32(pkt[8:], up.pid)
	copy(pkt[12:], up.secret)
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write(pkt); err != nil {
		return fmt.Errorf("send cancel: %w", err)
	}
	// PostgreSQL closes the connection after reading the request; wait for
	// that so the cancel is delivered before we report success.
	var one [1]byte
	_, _ = conn.Read(one[:])
	return nil
}

// registerCancelKey records the upstream's BackendKeyData body and sends the
// client belay's own key instead.
func (s *session) registerCancelKey(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("upstream sent a short BackendKeyData")
	}
	up := upstreamKey{
		pid:    binary.BigEndian.Uint32(body[:4]),
		secret: append([]byte(nil), body[4:]...),
		dialer: s.dialer,
	}
	k, err := s.srv.cancels.register(up)
	if err != nil {
		return err
	}
	s.key, s.keyIssued = k, true
	s.upstreamPID = up.pid
	msg := make([]byte, 13)
	msg[0] = 'K'
	binary.BigEndian.PutUint32(msg[1:], 12)
	binary.BigEndian.PutUint32(msg[5:], k.pid)
	binary.BigEndian.PutUint32(msg[9:], k.secret)
	return s.writeClient(msg)
}
