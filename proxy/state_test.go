package proxy

import "testing"

func TestSessionStateShutdownWaitsForIdle(t *testing.T) {
	var st sessionState
	st.answered('I') // startup's ReadyForQuery
	if !st.sending(1) {
		t.Fatal("could not send before shutdown")
	}
	if st.beginShutdown() {
		t.Fatal("shutdown claimed a session with a request in flight")
	}
	if !st.answered('I') {
		t.Fatal("idle after the answer, but not claimed for shutdown")
	}
	if st.sending(1) {
		t.Fatal("a request was allowed after shutdown claimed the session")
	}
}

func TestSessionStateKeepsOpenTransactions(t *testing.T) {
	var st sessionState
	st.answered('I')
	st.sending(1)
	st.answered('T') // BEGIN done: idle in transaction
	if st.beginShutdown() {
		t.Fatal("shutdown claimed a session inside a transaction")
	}
	st.sending(1)
	if st.answered('T') {
		t.Fatal("claimed while still in the transaction")
	}
	st.sending(1)
	if !st.answered('I') { // COMMIT
		t.Fatal("not claimed after the transaction ended")
	}
}

func TestSessionStateIdleShutdownIsImmediate(t *testing.T) {
	var st sessionState
	st.answered('I')
	if !st.beginShutdown() {
		t.Fatal("idle session not claimed at once")
	}
	if st.beginShutdown() {
		t.Fatal("claimed twice")
	}
}

func TestSessionStatePipelinedRequests(t *testing.T) {
	var st sessionState
	st.answered('I')
	st.sending(3) // three Syncs in one batch
	st.beginShutdown()
	for i := 0; i < 2; i++ {
		if st.answered('I') {
			t.Fatalf("claimed after answer %d of 3", i+1)
		}
	}
	if !st.answered('I') {
		t.Fatal("not claimed after the last answer")
	}
}
