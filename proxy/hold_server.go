package proxy

import (
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/belay-proxy/belay/audit"
)

// holdAct is what the hold machine makes of one message from PostgreSQL.
type holdAct struct {
	own      bool   // the machine took the message: the relay drops it
	client   []byte // belay's bytes for the client, in the message's place
	upstream []byte // belay's next request (already counted as pending)
	endNow   bool   // shutdown claimed the now idle session
}

// holdServer shows one complete message from PostgreSQL to the hold
// machine of a holding session, before the relay's own handling.
func (s *session) holdServer(typ byte, msg []byte) holdAct {
	h := &s.hold
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.phase {
	case phaseClient:
		switch typ {
		case 'C':
			if h.prefixLeft > 0 { // belay's BEGIN, SET LOCAL and baseline
				h.prefixLeft--
				return holdAct{own: true}
			}
			h.noteTag(msg)
			if len(h.req.quarantined) > 0 && commandTag(msg) == "DO" { // belay's move stands for the DROP
				return holdAct{own: true, client: commandComplete("DROP TABLE")}
			}
		case 'T':
			if h.prefixLeft > 0 {
				return holdAct{own: true}
			}
		case 'D':
			if h.prefixLeft > 0 {
				if c, err := parseCheckRow(msg); err == nil {
					h.base, h.baseKnown = c, true
				}
				return holdAct{own: true}
			}
		case 'E':
			if h.prefixLeft == 0 {
				break
			}
			// PostgreSQL skips the rest of the string; the client sees why.
			h.prefixLeft = 0
			if mine, ok := unmarkRaise(msg); ok { // the estimate's refusal
				s.closeHold("estimate")
				return holdAct{own: true, client: mine}
			}
		case 'Z':
			return s.clientAnswered(msg)
		}
		return holdAct{}
	case phaseBatch:
		if !h.inOwn {
			switch typ {
			case 'T':
				if !h.ownDone && isHoldMarker(msg) {
					h.inOwn = true
					return holdAct{own: true}
				}
			case 'C':
				h.noteTag(msg)
			case 'Z':
				if !h.ownDone {
					// An earlier error failed the batch: PostgreSQL skipped
					// belay's Query, so this answers the Sync.
					s.state.forgetRequest()
				}
				return s.clientAnswered(msg)
			}
			return holdAct{}
		}
		return s.ownMessage(typ, msg, func(status byte) holdAct {
			h.inOwn, h.ownDone = false, true
			return holdAct{own: true}
		})
	case phaseOwn:
		if h.step == stepBaseline {
			return s.baselineMessage(typ, msg)
		}
		return s.ownMessage(typ, msg, s.ownAnswered)
	}
	// Idle: watch transactions end.
	switch typ {
	case 'C':
		h.noteTag(msg) // an extended batch's rows, before its Sync is screened
	case 'Z':
		if msg[headerLen] != 'I' {
			if h.open { // a read inside the hold: its idle time starts again
				s.armHoldTimer(h.profile.HoldTimeout)
			}
			return holdAct{}
		}
		h.baseKnown = false
		if !h.open {
			h.transactionEnded() // the client's own transaction ended
			return holdAct{}
		}
		committed := h.lastTag == "COMMIT"
		notice := endedNotice(h.change, committed, h.profile.Capture, h.notCaptured, h.total)
		outcome := "rolled_back"
		if committed {
			outcome = "committed"
		}
		s.closeHold(outcome)
		h.transactionEnded()
		swallow, endNow := s.state.answered('I')
		if swallow { // answers belay's raise inside a batch: the notice alone
			return holdAct{own: true, client: notice, endNow: endNow}
		}
		s.info.trail.answer(typ, msg)
		return holdAct{own: true, client: append(notice, msg...), endNow: endNow}
	}
	return holdAct{}
}

// ownMessage handles a message answering belay's own Query: all are
// dropped but asynchronous notifications and parameter reports, which
// belong to the client whenever they come.
func (s *session) ownMessage(typ byte, msg []byte, done func(status byte) holdAct) holdAct {
	h := &s.hold
	switch typ {
	case 'A', 'S':
		return holdAct{}
	case 'D':
		if h.phase == phaseOwn && h.step == stepRecord {
			h.record, h.preview = recordRow(msg)
		} else if c, err := parseCheckRow(msg); err == nil {
			h.check, h.checked = c, true
		}
	case 'E':
		if h.ownErr == nil {
			h.ownErr = parseError(msg)
		}
	case 'Z':
		s.state.answered(msg[headerLen])
		return done(msg[headerLen])
	}
	return holdAct{own: true}
}

// baselineMessage takes PostgreSQL's answers to the baseline, which heads
// the client's batch without a Sync of its own (baselineRequest): its
// ParseComplete, BindComplete, row, CommandComplete and two
// CloseCompletes, or the error that fails the batch.
func (s *session) baselineMessage(typ byte, msg []byte) holdAct {
	h := &s.hold
	switch typ {
	case 'A', 'S':
		return holdAct{}
	case 'D':
		if c, err := parseCheckRow(msg); err == nil {
			h.base, h.baseKnown = c, true
		}
	case 'E':
		// PostgreSQL skips the client's batch to its Sync: the client
		// learns why, as from an error of its own first message.
		h.baseKnown = false
		return s.baselineDone(holdAct{own: true, client: msg})
	case '3':
		h.baselineCloses++
		if h.baselineCloses == 2 {
			return s.baselineDone(holdAct{own: true})
		}
	}
	return holdAct{own: true}
}

// baselineDone hands the stream back to the client's batch.
func (s *session) baselineDone(act holdAct) holdAct {
	h := &s.hold
	if h.afterBaseline == phaseBatch { // the batch's Sync was screened meanwhile
		h.phase = phaseBatch
		h.ownErr, h.checked = nil, false
		return act
	}
	h.phase = phaseIdle
	act.endNow = s.state.holdDone()
	return act
}

// noteTag adds a CommandComplete's rows to what the request reported.
func (h *holdState) noteTag(msg []byte) {
	tag := commandTag(msg)
	h.lastTag = tag
	if n, ok := dmlRows(tag); ok {
		h.req.reported += n
		h.req.dml = true
	}
}

// clientAnswered holds back the ReadyForQuery of the client's request and
// takes the next step.
func (s *session) clientAnswered(msg []byte) holdAct {
	h := &s.hold
	status := msg[headerLen]
	s.state.answered(status)
	s.info.trail.answer('Z', msg)
	h.heldZ = append(h.heldZ[:0], msg...)
	if status == 'I' {
		h.transactionEnded()
	}
	switch {
	case status == 'T' && h.phase == phaseBatch:
		if h.ownErr != nil || !h.checked {
			return s.refuseHeld(checkFailedRefusal(h.ownErrOr()), "error")
		}
		return s.decideHold()
	case status == 'T':
		return s.sendOwn(stepCheck, queryMessage(checkQuery(h.profile)))
	case status == 'E' && h.req.opened:
		// The statement failed: end belay's transaction, so the client
		// sees what autocommit would have shown.
		return s.finishHeld(queryMessage("ROLLBACK"), nil)
	}
	return s.release(h.heldZ)
}

func (h *holdState) ownErrOr() *pgError {
	if h.ownErr != nil {
		return h.ownErr
	}
	return &pgError{code: "XX000", message: "no answer to the check"}
}

// ownAnswered takes the step after belay's own request was answered.
func (s *session) ownAnswered(status byte) holdAct {
	h := &s.hold
	switch h.step {
	case stepCheck:
		if h.ownErr != nil || !h.checked {
			return s.refuseHeld(checkFailedRefusal(h.ownErrOr()), "error")
		}
		return s.decideHold()
	case stepExpire:
		h.timedOut = true
		return s.release(nil)
	case stepRecord:
		if h.ownErr != nil || h.record == "" {
			return s.refuseHeld(checkFailedRefusal(h.ownErrOr()), "error")
		}
		h.change = h.record
		return s.holdWritten()
	}
	out := append(h.answer, readyForQuery(status)...)
	h.answer = nil
	return s.release(out)
}

// decideHold judges the client's request by what PostgreSQL says it
// wrote: refuse it (row cap, expectation, LIMIT guard), end belay's
// transaction quietly when nothing was written, or hold it.
func (s *session) decideHold() holdAct {
	h := &s.hold
	if !h.baseKnown {
		h.base = checkResult{}
	}
	now := h.check.since(h.base)
	c := &now
	total := c.total()
	delta := total - h.total
	rows := delta // what the statement changed, by PostgreSQL's count
	if h.req.dml {
		rows = h.req.reported // what the client was told
	}
	p := h.profile
	switch {
	case h.req.limit >= 0 && rows > h.req.limit:
		return s.refuseHeld(limitRefusal(h.req.limit, rows, c.tables), "limit")
	case h.req.expect >= 0 && rows != h.req.expect:
		return s.refuseHeld(expectRefusal(h.req.expect, rows, c.tables), "expect")
	case p.RowCap > 0 && total > int64(p.RowCap):
		return s.refuseHeld(rowCapRefusal(total, int64(p.RowCap), c.tables), "cap")
	}
	for _, t := range c.tables {
		if limit, ok := p.TableCap(t.name); ok && t.rows() > int64(limit) {
			return s.refuseHeld(tableCapRefusal(t.name, t.rows(), int64(limit), c.tables), "cap")
		}
	}
	if p.Capture {
		for _, u := range uncaptured(c.tables, h.check.captured) {
			if !p.AllowUncaptured {
				return s.refuseHeld(uncapturedRefusal(u.table, u.captured), "uncaptured")
			}
			if !slices.Contains(h.notCaptured, u.table.name) {
				h.notCaptured = append(h.notCaptured, u.table.name)
			}
		}
		captured := checkResult{tables: h.check.captured}
		now := captured.total()
		var bytes int64
		for _, t := range h.check.captured {
			bytes += t.bytes
		}
		s.srv.metrics.CapturedRows.Add(float64(now - h.captured))
		s.srv.metrics.CapturedBytes.Add(float64(bytes - h.capturedBytes))
		h.captured, h.capturedBytes = now, bytes
	}
	written := c.xid != "" || total > 0
	if !written {
		if h.req.opened { // may have written, did not: an ordinary autocommit statement
			return s.finishHeld(queryMessage("COMMIT"), nil)
		}
		return s.release(h.heldZ)
	}
	h.tables, h.total = c.tables, total
	h.change = c.xid
	if p.Capture { // the record of the change first: its id names the change
		info := &s.info
		return s.sendOwn(stepRecord, recordSQL(info.ApplicationName, info.ClientAddr, h.req.statements, h.req.textHashes, h.tables, p.PreviewValues))
	}
	return s.holdWritten()
}

// holdWritten holds a request that wrote: NOTICE and status T when belay
// opened the transaction (now or before), the client's ReadyForQuery alone
// in the client's own transaction, whose COMMIT confirms.
func (s *session) holdWritten() holdAct {
	h := &s.hold
	if !h.req.opened && !h.open {
		return s.release(h.heldZ)
	}
	if !h.open {
		h.open, h.openedAt = true, time.Now()
		s.srv.metrics.HoldsOpen.Inc()
	}
	notice := heldNotice(h.change, h.tables, h.total, h.preview, h.notCaptured, h.profile.HoldTimeout)
	if len(h.req.quarantined) > 0 {
		notice = quarantinedNotice(h.change, h.req.quarantined, h.profile.HoldTimeout)
	}
	return s.release(append(notice, h.heldZ...))
}

// refuseHeld rolls the change back and answers the client with r. When
// belay opened the transaction for this request, the client ends outside
// a transaction, as after a failed autocommit statement; otherwise inside
// a failed one, which its ROLLBACK clears, as after any error in a
// transaction.
func (s *session) refuseHeld(r *Refusal, outcome string) holdAct {
	h := &s.hold
	answer := encodeError("ERROR", r.clientError())
	s.closeHold(outcome)
	h.transactionEnded()
	if h.req.opened {
		return s.finishHeld(queryMessage("ROLLBACK"), answer)
	}
	return s.finishHeld(failTransactionSQL(r), answer)
}

// finishHeld sends belay's last statement for the request; answer goes to the
// client before the ReadyForQuery.
func (s *session) finishHeld(req, answer []byte) holdAct {
	s.hold.answer = answer
	return s.sendOwn(stepFinish, req)
}

// sendOwn sends a request of belay's own, whose answers are swallowed.
func (s *session) sendOwn(step ownStep, req []byte) holdAct {
	h := &s.hold
	h.phase, h.step = phaseOwn, step
	h.ownErr, h.checked = nil, false
	if !s.state.sending(1) {
		return holdAct{own: true, endNow: true}
	}
	return holdAct{own: true, upstream: req}
}

// release ends the machine's work on a request and lets the client go on.
func (s *session) release(client []byte) holdAct {
	h := &s.hold
	h.phase, h.req = phaseIdle, heldRequest{}
	endNow := s.state.holdDone()
	if h.open {
		s.armHoldTimer(h.profile.HoldTimeout)
	}
	return holdAct{own: true, client: client, endNow: endNow}
}

// closeHold ends the hold with an outcome: metrics, the audit line, the
// log. With no open hold (a change refused in the request that would have
// opened it) only the outcome is counted and recorded.
func (s *session) closeHold(outcome string) {
	h := &s.hold
	change, rows, tables := h.change, h.total, h.tables
	if !h.open { // refused before it was held: what the check saw, if it ran
		change, rows, tables = "", 0, nil
		if h.checked {
			now := h.check.since(h.base)
			change, rows, tables = now.xid, now.total(), now.tables
		}
	}
	var held time.Duration
	m := s.srv.metrics
	if h.open {
		held = time.Since(h.openedAt)
		m.HoldsOpen.Dec()
		m.HoldRows.Observe(float64(rows))
		m.HoldSeconds.Observe(held.Seconds())
		h.open = false
		s.disarmHoldTimer()
	}
	m.Holds.WithLabelValues(outcome).Inc()
	info := &s.info
	info.trail.logger().LogHold(&audit.Hold{
		Session: info.ID, User: info.User, Database: info.Database, ApplicationName: info.ApplicationName,
		ClientAddr: info.ClientAddr, Profile: h.profile.Name, Change: change, Outcome: outcome,
		Rows: rows, Tables: summaryOrEmpty(tables), Held: held,
	})
	s.log.Info("hold ended", zap.String("change", change), zap.String("outcome", outcome), zap.Int64("rows", rows), zap.Duration("held", held))
}

func summaryOrEmpty(tables []tableCount) string {
	if len(tables) == 0 {
		return ""
	}
	return tableSummary(tables)
}
