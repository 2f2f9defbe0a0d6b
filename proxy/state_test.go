package proxy

import "testing"

func TestSessionStateShutdownWaitsForIdle(t *testing.T) {
	var st sessionState
	endsAt(&st, 'I') // startup's ReadyForQuery
	if !st.sending(1) {
		t.Fatal("could not send before shutdown")
	}
	if st.beginShutdown() {
		t.Fatal("shutdown claimed a session with a request in flight")
	}
	if !endsAt(&st, 'I') {
		t.Fatal("idle after the answer, but not claimed for shutdown")
	}
	if st.sending(1) {
		t.Fatal("a request was allowed after shutdown claimed the session")
	}
}

func TestSessionStateKeepsOpenTransactions(t *testing.T) {
	var st sessionState
	endsAt(&st, 'I')
	st.sending(1)
	endsAt(&st, 'T') // BEGIN done: idle in transaction
	if st.beginShutdown() {
		t.Fatal("shutdown claimed a session inside a transaction")
	}
	st.sending(1)
	if endsAt(&st, 'T') {
		t.Fatal("claimed while still in the transaction")
	}
	st.sending(1)
	if !endsAt(&st, 'I') { // COMMIT
		t.Fatal("not claimed after the transaction ended")
	}
}

func TestSessionStateIdleShutdownIsImmediate(t *testing.T) {
	var st sessionState
	endsAt(&st, 'I')
	if !st.beginShutdown() {
		t.Fatal("idle session not claimed at once")
	}
	if st.beginShutdown() {
		t.Fatal("claimed twice")
	}
}

func TestSessionStatePipelinedRequests(t *testing.T) {
	var st sessionState
	endsAt(&st, 'I')
	st.sending(3) // three Syncs in one batch
	st.beginShutdown()
	for i := 0; i < 2; i++ {
		if endsAt(&st, 'I') {
			t.Fatalf("claimed after answer %d of 3", i+1)
		}
	}
	if !endsAt(&st, 'I') {
		t.Fatal("not claimed after the last answer")
	}
}

// endsAt records a ReadyForQuery and reports whether shutdown must end the
// session now.
func endsAt(st *sessionState, status byte) bool {
	_, endNow := st.answered(status)
	return endNow
}

// The ReadyForQuery of belay's own Query inside an extended batch is
// swallowed, and only that one, however many requests are in flight.
func TestSessionStateSwallowsRaiseReadyForQuery(t *testing.T) {
	var st sessionState
	st.answered('I')
	st.sending(2) // two pipelined Syncs
	st.sendingRaise(true, false)
	st.sending(1) // the batch's own Sync
	var swallowed []bool
	for i := 0; i < 4; i++ {
		if i == 2 {
			st.raisedError()
		}
		sw, _ := st.answered('I')
		swallowed = append(swallowed, sw)
	}
	if want := []bool{false, false, true, false}; !equalBools(swallowed, want) {
		t.Fatalf("swallowed %v, want %v", swallowed, want)
	}
	if !st.idle() {
		t.Fatal("not idle after every answer")
	}
}

// When PostgreSQL skips belay's Query (an earlier error in the batch), no
// error and no ReadyForQuery of its own come: the Sync's answer passes.
func TestSessionStateRaiseSkippedByServer(t *testing.T) {
	var st sessionState
	st.answered('I')
	st.sendingRaise(true, false)
	st.sending(1) // Sync
	st.sendingRaise(true, false)
	st.sending(1) // the next batch's Sync
	if sw, _ := st.answered('I'); sw {
		t.Fatal("swallowed the Sync's ReadyForQuery of a batch whose raise was skipped")
	}
	st.raisedError()
	if sw, _ := st.answered('I'); !sw {
		t.Fatal("the second batch's raise answer was not swallowed")
	}
	if sw, _ := st.answered('I'); sw {
		t.Fatal("swallowed the second Sync's answer")
	}
	if !st.idle() {
		t.Fatal("not idle after every answer")
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A raise that opens its batch is always answered, even with PostgreSQL's
// own error (25P02 in a failed transaction, not belay's): its
// ReadyForQuery is swallowed, and the Sync's passes.
func TestSessionStateRaiseOpeningBatchAnswered(t *testing.T) {
	var st sessionState
	st.answered('E')
	st.sendingRaise(true, true)
	st.sending(1) // Sync
	if sw, _ := st.answered('E'); !sw {
		t.Fatal("the raise's own ReadyForQuery reached the client")
	}
	if sw, _ := st.answered('E'); sw {
		t.Fatal("swallowed the Sync's answer")
	}
	if st.inTransactionBlock() != true {
		t.Fatal("not idle in the failed transaction after both answers")
	}
}
