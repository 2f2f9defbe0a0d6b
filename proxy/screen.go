package proxy

// screen is the one place where the relay acts on a verdict, for both
// relays (event loop and goroutines). It sees every complete client
// message in order, before it is forwarded.
//
// A blocked statement (or FunctionCall, the protocol's fast-path call,
// decided as a request of its own like a Query) never reaches PostgreSQL,
// and afterwards client and server agree on the transaction state, as if
// PostgreSQL had raised the error itself:
//   - nothing in flight and no transaction open: belay answers alone
//     (ErrorResponse, then ReadyForQuery 'I' — for a Parse, when its Sync
//     comes, skipping everything up to it as PostgreSQL does);
//   - otherwise: PostgreSQL is sent a DO block that raises belay's error
//     in place of the statement (raise.go), so the server fails the
//     transaction (or the extended-protocol batch) exactly as the client
//     expects. Inside an extended batch that Query gets a ReadyForQuery of
//     its own, which the server→client direction swallows.
//
// In a profile that holds writes the screen also runs the client side of
// the hold machine (hold.go): requests go one at a time, and belay's own
// statements are placed around the ones that may write.
type screenResult struct {
	forward  bool   // pass the message on unchanged
	upstream []byte // messages to send upstream instead
	requests int    // ... holding this many requests (raise: always one)
	raise    bool   // upstream is belay's raise
	midBatch bool   // the raise's ReadyForQuery must be swallowed
	// batchStart: the raise is the first message after a Sync, so
	// PostgreSQL cannot be skipping to Sync after an error: it answers the
	// raise, with belay's error or, in a failed transaction, its own.
	batchStart bool
	client     []byte // belay's own answer to the client
	// wait: a holding session must not send a new request yet; keep the
	// message and screen it again when the session's gate opens.
	wait bool
	// before is a request of belay's own (beforeRequests of them) to send
	// ahead of the message, which then goes on as the rest says.
	before         []byte
	beforeRequests int
}

var forwardIt = screenResult{forward: true}

// screenClient decides what becomes of one complete client message. unsent
// is the number of requests already screened but not yet written upstream.
func (s *session) screenClient(typ byte, msg []byte, unsent int) (screenResult, error) {
	t := &s.info.trail
	if s.skipToSync {
		switch typ {
		case 'S':
			s.skipToSync, s.inBatch = false, false
			if s.lockstep {
				s.hold.forgetBatch()
			}
			if s.localSync {
				return screenResult{client: readyForQuery(s.state.status())}, nil
			}
			t.synced()
			return forwardIt, nil
		case 'X':
			return forwardIt, nil
		}
		return screenResult{}, nil // PostgreSQL would skip it too
	}
	if s.lockstep && s.startsRequest(typ) {
		if r, done := s.holdGate(typ, msg, unsent); done {
			return r, nil
		}
	}
	switch typ {
	case 'Q':
		v := s.inspectQuery(msg)
		s.noteHoldPlan(&v)
		if s.lockstep {
			if r, done := s.holdQuery(&v, msg); done {
				return r, nil
			}
		}
		return s.screenRequest(&v, unsent), nil
	case 'F':
		v, err := s.inspectFunctionCall(msg, unsent)
		if err != nil {
			return screenResult{}, err
		}
		s.noteHoldPlan(&v)
		return s.screenRequest(&v, unsent), nil
	case 'P':
		v, err := s.inspectParse(msg)
		if err == nil {
			s.noteHoldPlan(&v)
			if s.lockstep {
				if r, done := s.holdParse(&v, msg); done {
					return r, nil
				}
			}
		}
		if err != nil || v.Action != Block {
			s.inBatch = true
			if err == nil {
				t.parsed(s.stmt.Name)
			}
			return forwardIt, err
		}
		s.skipToSync = true
		if !s.inBatch && s.idle(unsent) {
			s.localSync = true
			return screenResult{client: encodeError("ERROR", v.Refusal.clientError())}, nil
		}
		s.localSync = false
		return screenResult{upstream: raiseQuery(v.Refusal), raise: true, midBatch: true, batchStart: !s.inBatch}, nil
	case 'S':
		if s.lockstep {
			if r, done := s.holdSync(msg); done {
				s.inBatch = false
				return r, nil
			}
		}
		s.inBatch = false
		t.synced()
	case 'B':
		r := forwardIt
		if s.lockstep {
			r = s.holdBind(msg)
		}
		s.inBatch = true
		s.noteBind(msg)
		return r, nil
	case 'E':
		s.inBatch = true
		t.executed(cstring(msg[headerLen:]))
	case 'C':
		s.inBatch = true
		if body := msg[headerLen:]; len(body) > 1 && body[0] == 'S' {
			t.closed(cstring(body[1:]))
		}
	case 'D', 'H':
		s.inBatch = true
	}
	return forwardIt, nil
}

// screenRequest acts on the verdict on a request of its own, a Query or
// a FunctionCall: forwarded, or blocked — answered by belay when the
// session is idle, otherwise raised by PostgreSQL in its place.
func (s *session) screenRequest(v *Verdict, unsent int) screenResult {
	t := &s.info.trail
	if v.Action != Block {
		t.queryForwarded()
		return forwardIt
	}
	if s.idle(unsent) {
		return screenResult{client: append(encodeError("ERROR", v.Refusal.clientError()), readyForQuery('I')...)}
	}
	t.queryForwarded() // belay's raise: a request without lines
	return screenResult{upstream: raiseQuery(v.Refusal), raise: true}
}

// noteBind tells the trail which statement a Bind's portal runs; msg may
// be only the start of a large Bind.
func (s *session) noteBind(msg []byte) {
	if !s.info.trail.active.Load() {
		return // auditing off: not worth reading the names
	}
	if portal, stmt, ok := bindNames(msg[headerLen:]); ok {
		s.info.trail.bound(portal, stmt)
	}
}

// idle reports whether nothing is in flight and no transaction is open, so
// belay may answer the client itself without reordering anything.
func (s *session) idle(unsent int) bool {
	return unsent == 0 && s.state.idle()
}

func (r *Refusal) clientError() *clientError {
	return &clientError{code: r.SQLState, message: r.Message, detail: r.Detail, hint: r.Hint}
}

// readyForQuery encodes a ReadyForQuery message.
func readyForQuery(status byte) []byte {
	return []byte{'Z', 0, 0, 0, 5, status}
}
