package proxy

import (
	"bytes"
	"encoding/binary"
	"net"
	"time"

	"github.com/belay-proxy/belay/audit"
	"github.com/belay-proxy/belay/policy"
)

// startsRequest reports whether a client message begins a new request: a
// Query or FunctionCall, or the first message of an extended batch.
func (s *session) startsRequest(typ byte) bool {
	switch typ {
	case 'Q', 'F':
		return true
	case 'P', 'B', 'E', 'D', 'C', 'H', 'S':
		return !s.inBatch
	}
	return false
}

// noteHoldPlan follows the session's profile: a holding one runs the
// session in lockstep and shows PostgreSQL's answers to the hold machine.
func (s *session) noteHoldPlan(v *Verdict) {
	holds := v.Hold.Profile != nil
	s.holdProfile = v.Hold.Profile
	if holds == s.lockstep {
		return
	}
	s.lockstep = holds
	s.hold.mu.Lock()
	s.refreshEngaged()
	s.hold.mu.Unlock()
}

// holdGate runs before a holding session's new request: it must wait
// while anything is in flight (wait), and a timed-out hold is reported to
// the first request that is not transaction control.
func (s *session) holdGate(typ byte, msg []byte, unsent int) (r screenResult, done bool) {
	if unsent > 0 || s.state.gateClosed() {
		return screenResult{wait: true}, true
	}
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	h.req = heldRequest{} // rows are counted per request
	if h.open {
		s.disarmHoldTimer()
	}
	if !h.timedOut {
		return screenResult{}, false
	}
	switch typ {
	case 'Q', 'P', 'S':
		return screenResult{}, false // decided once the statement is read
	case 'B': // a ROLLBACK prepared earlier
		if _, stmt, ok := bindNames(msg[headerLen:]); ok && h.stmts[string(stmt)].rollback {
			h.timedOut = false
			s.refreshEngaged()
			return screenResult{}, false
		}
	}
	return s.reportTimeout(typ), true
}

// afterTimeout decides a Query or Parse after a hold timed out: a
// ROLLBACK passes (done false), anything else is told of the timeout.
func (s *session) afterTimeout(v *Verdict, typ byte) (screenResult, bool) {
	if v.Action == Allow && v.Hold.Rollback {
		s.hold.timedOut = false
		s.refreshEngaged()
		return screenResult{}, false
	}
	return s.reportTimeout(typ), true
}

// reportTimeout answers a request with the news that its hold was rolled
// back after the timeout; PostgreSQL's transaction is failed meanwhile.
func (s *session) reportTimeout(typ byte) screenResult {
	h := &s.hold
	h.timedOut = false
	s.refreshEngaged()
	s.info.trail.answeredByBelay(audit.StatusBlocked, sqlstateHoldTimeout)
	e := encodeError("ERROR", timeoutRefusal(h.change, h.profile.HoldTimeout).clientError())
	if typ == 'Q' || typ == 'F' {
		return screenResult{client: append(e, readyForQuery(s.state.status())...)}
	}
	s.skipToSync, s.localSync = true, true
	return screenResult{client: e}
}

func (s *session) refreshEngaged() {
	h := &s.hold
	h.engaged.Store(s.lockstep || h.open || h.timedOut || h.phase != phaseIdle)
}

// holdQuery decides a holding session's Query after inspection; done is
// false when the ordinary screening goes on.
func (s *session) holdQuery(v *Verdict, msg []byte) (r screenResult, done bool) {
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.timedOut {
		return s.afterTimeout(v, 'Q')
	}
	if v.Action == Block {
		return screenResult{}, false
	}
	status := s.state.status()
	if v.Hold.SetExpect {
		h.expectNext = v.Hold.ExpectRows
		s.info.trail.answeredByBelay(audit.StatusOK, "")
		return screenResult{client: append(commandComplete("SET"), readyForQuery(status)...)}, true
	}
	if !v.Hold.Watch || status == 'E' {
		return screenResult{}, false
	}
	s.startHeld(v.Hold.Profile, v.Hold.Expect, v.Hold.Limit, status == 'I', phaseClient)
	h.req.statements, h.req.textHashes = v.Hold.Statements, nil
	if v.Hold.TextHash != "" {
		h.req.textHashes = []string{v.Hold.TextHash}
	}
	text := queryText(msg)
	if v.Hold.Rewrite != nil {
		text = v.Hold.Rewrite
	}
	if v.Hold.Quarantine != nil {
		text = []byte(quarantineSQL(v.Hold.Quarantine, v.Hold.QuarantineMissingOK))
		h.req.quarantined = tableNames(v.Hold.Quarantine)
	}
	s.info.trail.queryForwarded()
	if h.req.opened {
		h.baseKnown = false
	}
	estimate := v.Hold.Estimate && h.profile.RowCap > 0 && h.profile.HoldEstimateFactor > 0
	if baseline := !h.baseKnown; h.req.opened || baseline || estimate {
		q, n := heldQuery(h.profile, h.req.opened, baseline, estimate, text)
		h.prefixLeft = n
		return screenResult{upstream: q, requests: 1}, true
	}
	h.prefixLeft = 0
	if v.Hold.Rewrite != nil || v.Hold.Quarantine != nil {
		return screenResult{upstream: queryMessage(string(text)), requests: 1}, true
	}
	return forwardIt, true
}

// startHeld puts the machine to work on a request that may write.
func (s *session) startHeld(profile *policy.Profile, expect, limit int64, opened bool, phase holdPhase) {
	h := &s.hold
	if expect < 0 {
		expect = h.expectNext
	}
	h.expectNext = -1
	// A batch's rows may be counted before its Sync is screened.
	h.req.opened, h.req.expect, h.req.limit = opened, expect, limit
	h.profile = profile
	h.preview = ""
	h.inOwn, h.ownDone = false, false
	if h.phase == phaseOwn && h.step == stepBaseline {
		h.afterBaseline = phase // the baseline is still out: the phase follows it
	} else {
		h.phase = phase
		h.ownErr, h.checked = nil, false
	}
	h.engaged.Store(true)
	s.state.setHoldBusy()
}

// batchBaseline asks for the counters' baseline before an extended batch
// whose first message prepares or binds a statement that may write. Later
// in a batch belay cannot place a request of its own; a transaction
// without a baseline may then count rows of an earlier one too (never
// fewer than it changed).
func (s *session) batchBaseline(watch bool) screenResult {
	h := &s.hold
	status := s.state.status()
	if !watch || s.inBatch || status == 'E' || (status == 'T' && h.baseKnown) {
		return forwardIt
	}
	h.phase, h.step, h.afterBaseline = phaseOwn, stepBaseline, phaseIdle
	h.ownErr, h.checked, h.baselineCloses = nil, false, 0
	h.engaged.Store(true)
	s.state.setHoldBusy()
	// Outside a transaction the batch may open a hold: its timeouts start
	// with the baseline, in the batch's own transaction.
	var timeouts *policy.Profile
	if status == 'I' {
		timeouts = s.holdProfile
	}
	return screenResult{forward: true, before: baselineRequest(timeouts)}
}

// holdParse notes what a holding session's Parse prepares; rewrite is the
// Parse to send instead (LIMIT guard), done that the screen's answer is r.
func (s *session) holdParse(v *Verdict, msg []byte) (r screenResult, done bool) {
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.timedOut && !s.inBatch {
		return s.afterTimeout(v, 'P')
	}
	if v.Action == Block {
		return screenResult{}, false
	}
	if h.stmts == nil {
		h.stmts = make(map[string]stmtHold)
	}
	h.stmts[s.stmt.Name] = stmtHold{watch: v.Hold.Watch, expect: v.Hold.Expect, limit: v.Hold.Limit, statements: v.Hold.Statements, textHash: v.Hold.TextHash,
		commits: v.Hold.EndsTransaction, rollback: v.Hold.Rollback,
		setsExpect: v.Hold.SetExpect, expectRows: v.Hold.ExpectRows}
	r = s.batchBaseline(v.Hold.Watch)
	if v.Hold.Rewrite == nil && r.before == nil {
		return screenResult{}, false
	}
	s.inBatch = true
	s.info.trail.parsed(s.stmt.Name)
	if v.Hold.Rewrite != nil {
		r.forward, r.upstream = false, rewriteParse(msg, v.Hold.Rewrite)
	}
	return r, true
}

func (h *holdState) noteWatched(expect, limit int64) {
	h.batchWatched = true
	h.batchExpect, h.batchLimit = expect, limit
}

// holdBind marks the batch as one that may write when the Bind's
// statement may (a batch that only prepares runs nothing). It returns the
// baseline request to send before the Bind, if any.
func (s *session) holdBind(msg []byte) screenResult {
	_, stmt, ok := bindNames(msg[headerLen:])
	if !ok {
		return forwardIt
	}
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	sh, ok := h.stmts[string(stmt)]
	if ok && sh.commits && h.batchWatched {
		// Its COMMIT would apply the batch's write before belay counts it:
		// fail the batch, as PostgreSQL fails one on an error.
		s.skipToSync, s.localSync = true, false
		h.batchWatched = false
		return screenResult{upstream: raiseQuery(commitInRequestRefusal()), raise: true, midBatch: true}
	}
	if ok && sh.setsExpect {
		h.expectNext = sh.expectRows
	}
	if !ok || !sh.watch {
		return forwardIt
	}
	r := s.batchBaseline(true)
	h.noteWatched(sh.expect, sh.limit)
	h.batchStatements = append(h.batchStatements, sh.statements...)
	if sh.textHash != "" {
		h.batchTextHashes = append(h.batchTextHashes, sh.textHash)
	}
	return r
}

// holdSync sends belay's Query before the Sync of a batch that may write.
func (s *session) holdSync(msg []byte) (r screenResult, done bool) {
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	watched := h.batchWatched
	h.batchWatched = false
	status := s.state.status()
	if !watched || status == 'E' || s.holdProfile == nil {
		return screenResult{}, false
	}
	s.startHeld(s.holdProfile, h.batchExpect, h.batchLimit, status == 'I', phaseBatch)
	h.req.statements, h.batchStatements = h.batchStatements, nil
	h.req.textHashes, h.batchTextHashes = h.batchTextHashes, nil
	s.info.trail.synced()
	q := batchCheckQuery(h.profile, h.req.opened)
	return screenResult{upstream: append(q, msg...), requests: 2}, true
}

// queryText is a Query message's text without its terminator.
func queryText(msg []byte) []byte {
	text := msg[headerLen:]
	if i := bytes.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	return text
}

// rewriteParse is a Parse message with its statement text replaced.
func rewriteParse(msg, text []byte) []byte {
	body := msg[headerLen:]
	i := bytes.IndexByte(body, 0)
	j := bytes.IndexByte(body[i+1:], 0)
	rest := body[i+1+j+1:] // parameter types
	out := make([]byte, headerLen, headerLen+i+1+len(text)+1+len(rest))
	out[0] = 'P'
	out = append(out, body[:i+1]...)
	out = append(out, text...)
	out = append(out, 0)
	out = append(out, rest...)
	binary.BigEndian.PutUint32(out[1:], uint32(len(out)-1))
	return out
}

// commandComplete encodes a CommandComplete message.
func commandComplete(tag string) []byte {
	out := make([]byte, headerLen, headerLen+len(tag)+1)
	out[0] = 'C'
	out = append(out, tag...)
	out = append(out, 0)
	binary.BigEndian.PutUint32(out[1:], uint32(len(out)-1))
	return out
}

// armHoldTimer starts the hold timeout: in an event loop a timer wakes the
// loop, in the goroutine relay the client read times out.
func (s *session) armHoldTimer(d time.Duration) {
	h := &s.hold
	h.deadline = time.Now().Add(d)
	if ls := s.onLoop.Load(); ls != nil {
		if h.timer == nil {
			h.timer = time.AfterFunc(d, func() { ls.loop.command(loopCmd{kind: cmdHoldTimeout, ls: ls}) })
		} else {
			h.timer.Reset(d)
		}
		return
	}
	_ = s.client.SetReadDeadline(h.deadline)
}

func (s *session) disarmHoldTimer() {
	h := &s.hold
	h.deadline = time.Time{}
	if h.timer != nil {
		h.timer.Stop()
	}
	if s.onLoop.Load() == nil {
		_ = s.client.SetReadDeadline(noDeadline)
	}
}

// expireHold rolls back an open hold idle past its timeout. It returns
// belay's request to send upstream, or nil when the hold is not due.
func (s *session) expireHold() []byte {
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.open || h.phase != phaseIdle || h.deadline.IsZero() || time.Now().Before(h.deadline) {
		return nil
	}
	if !s.state.claimForHold() {
		return nil
	}
	h.phase, h.step = phaseOwn, stepExpire
	h.ownErr, h.checked = nil, false
	r := timeoutRefusal(h.change, h.profile.HoldTimeout)
	s.closeHold("timeout")
	h.transactionEnded()
	return failTransactionSQL(r)
}

// holdSessionEnded counts a hold the client left open as lost with the
// connection: PostgreSQL rolls it back.
func (s *session) holdSessionEnded() {
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open {
		s.closeHold("disconnect")
	}
	if h.timer != nil {
		h.timer.Stop()
	}
}

// forgetBatch drops what a batch that PostgreSQL (or belay) skipped to
// its Sync would have needed.
func (h *holdState) forgetBatch() {
	h.mu.Lock()
	h.batchWatched, h.batchStatements, h.batchTextHashes = false, nil, nil
	h.mu.Unlock()
}

// screenLargeBind is holdBind for a Bind larger than the read buffer, of
// which msg is the start. The goroutine relay waits at the gate here; the
// event loop has checked it before.
func (s *session) screenLargeBind(msg []byte) (screenResult, error) {
	if s.startsRequest('B') && !s.state.waitGate() {
		return screenResult{}, net.ErrClosed
	}
	r := s.holdBind(msg)
	s.inBatch = true
	return r, nil
}
