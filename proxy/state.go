package proxy

import "sync"

// sessionState is the little the two pumps must agree on: how many
// requests await their ReadyForQuery, the last transaction status, and
// whether shutdown has claimed the session. One mutex, taken once per
// batch, makes "idle, so close it" and "send this request" exclusive: a
// request is either sent and answered, or never sent.
type sessionState struct {
	mu       sync.Mutex
	pending  int  // Query, Sync and FunctionCall messages not yet answered
	txStatus byte // of the last ReadyForQuery: 'I', 'T' or 'E'
	closing  bool // shutdown asked to end at the next idle point
	closed   bool // shutdown claimed the session: send nothing more
}

// sending records n requests about to be written upstream. false means
// shutdown has claimed the session and nothing may be sent.
func (st *sessionState) sending(n int) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return false
	}
	st.pending += n
	return true
}

// answered records a ReadyForQuery. It reports whether the session is now
// idle while shutting down, so the caller must end it.
func (st *sessionState) answered(status byte) (endNow bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pending > 0 {
		st.pending--
	}
	st.txStatus = status
	return st.claimIfIdleLocked()
}

// beginShutdown marks the session closing and reports whether it is idle
// now, in which case the caller ends it.
func (st *sessionState) beginShutdown() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closing = true
	return st.claimIfIdleLocked()
}

// claimIfIdle reports (once) that shutdown has begun and the session is
// idle, so the caller must end it.
func (st *sessionState) claimIfIdle() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.claimIfIdleLocked()
}

func (st *sessionState) claimIfIdleLocked() bool {
	if st.closing && !st.closed && st.pending == 0 && st.txStatus == 'I' {
		st.closed = true
		return true
	}
	return false
}

// status returns the last transaction status.
func (st *sessionState) status() byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.txStatus
}
