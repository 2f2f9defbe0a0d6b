package proxy

import (
	"sync"
	"sync/atomic"
)

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
	// seen counts ReadyForQuery messages received. raises lists the Queries
	// belay sent to make PostgreSQL raise its error (see screen.go), by the
	// number of the ReadyForQuery expected to answer each; raised is set
	// when PostgreSQL's error for the first of them arrived.
	seen   uint64
	raises []raise
	raised bool
	// raisesOut mirrors len(raises), so the server→client direction can
	// skip looking at ErrorResponses when no raise is out.
	raisesOut atomic.Int32

	// holdBusy: the hold machine is working on a request (hold.go); a
	// holding session sends nothing new meanwhile. gate wakes a client
	// pump waiting for that (goroutine relay); ended releases it for good.
	holdBusy bool
	gate     sync.Cond
	ended    bool
}

// raise is one Query belay sent in place of a blocked statement.
type raise struct {
	z uint64
	// midBatch: sent inside an extended batch, so its own ReadyForQuery
	// must not reach the client (the batch's Sync brings one).
	midBatch bool
	// answered: PostgreSQL answers it for sure (it opens a batch), even
	// when its error is not belay's (25P02 in a failed transaction).
	answered bool
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

// sendingRaise records a Query belay sends so that PostgreSQL raises a
// refusal. false means shutdown has claimed the session.
func (st *sessionState) sendingRaise(midBatch, batchStart bool) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return false
	}
	st.pending++
	st.raises = append(st.raises, raise{z: st.seen + uint64(st.pending), midBatch: midBatch, answered: batchStart})
	st.raisesOut.Add(1)
	return true
}

// raisedError records that PostgreSQL's error for belay's raise arrived.
func (st *sessionState) raisedError() {
	st.mu.Lock()
	st.raised = true
	st.mu.Unlock()
}

// idle reports whether nothing is in flight and no transaction is open.
func (st *sessionState) idle() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pending == 0 && st.txStatus == 'I'
}

// inTransactionBlock reports whether nothing is in flight and the last
// status was inside a transaction block ('T' or 'E'), so the next request
// runs in it.
func (st *sessionState) inTransactionBlock() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pending == 0 && !st.holdBusy && (st.txStatus == 'T' || st.txStatus == 'E')
}

// answered records a ReadyForQuery. swallow says it answers belay's own
// Query inside an extended batch, so the client must not see it; endNow
// that the session is now idle while shutting down, so the caller must end
// it.
func (st *sessionState) answered(status byte) (swallow, endNow bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pending > 0 {
		st.pending--
	}
	st.seen++
	st.txStatus = status
	if len(st.raises) > 0 && st.raises[0].z == st.seen {
		r := st.raises[0]
		st.raises = st.raises[1:]
		st.raisesOut.Add(-1)
		raised := st.raised
		st.raised = false
		if r.midBatch {
			if raised || r.answered {
				return true, false
			}
			// PostgreSQL skipped belay's Query: it was already skipping to
			// Sync after an earlier error in the batch, so this is the
			// Sync's answer and the Query's will never come.
			if st.pending > 0 {
				st.pending--
			}
			for i := range st.raises {
				st.raises[i].z--
			}
		}
	}
	st.wakeLocked()
	return false, st.claimIfIdleLocked()
}

// forgetRequest drops a request PostgreSQL skipped (belay's Query inside an
// extended batch that an earlier error failed): no ReadyForQuery comes for
// it, so later ones answer one request earlier than counted.
func (st *sessionState) forgetRequest() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pending > 0 {
		st.pending--
	}
	for i := range st.raises {
		st.raises[i].z--
	}
}

// gateClosed reports whether a holding session must wait before sending a
// new request: one is in flight, or the hold machine is busy.
func (st *sessionState) gateClosed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pending > 0 || st.holdBusy
}

// waitGate blocks until a new request may be sent; false when the session
// ended meanwhile.
func (st *sessionState) waitGate() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gate.L == nil {
		st.gate.L = &st.mu
	}
	for (st.pending > 0 || st.holdBusy) && !st.ended {
		st.gate.Wait()
	}
	return !st.ended
}

func (st *sessionState) wakeLocked() {
	if st.gate.L != nil {
		st.gate.Broadcast()
	}
}

// end releases a client pump waiting at the gate: the session is over.
func (st *sessionState) end() {
	st.mu.Lock()
	st.ended = true
	st.wakeLocked()
	st.mu.Unlock()
}

// setHoldBusy marks the hold machine at work on a request.
func (st *sessionState) setHoldBusy() {
	st.mu.Lock()
	st.holdBusy = true
	st.mu.Unlock()
}

// holdDone marks the hold machine idle; true when shutdown claims the now
// idle session.
func (st *sessionState) holdDone() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.holdBusy = false
	st.wakeLocked()
	return st.claimIfIdleLocked()
}

// claimForHold marks the session busy with one request of belay's own if
// it is idle between requests (for the hold timeout); false otherwise.
func (st *sessionState) claimForHold() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed || st.pending > 0 || st.holdBusy {
		return false
	}
	st.holdBusy = true
	st.pending++
	return true
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
	if st.closing && !st.closed && st.pending == 0 && st.txStatus == 'I' && !st.holdBusy {
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
