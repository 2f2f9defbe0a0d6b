package proxy

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"golang.org/x/sys/unix"

	"github.com/belay-proxy/belay/config"
)

// A client that stops reading makes the loop hold what the socket will not
// take, stop reading PostgreSQL (which then waits), and go on when the
// client reads again: nothing lost, nothing buffered beyond one read.
func TestBackpressureFromSlowClient(t *testing.T) { transports(t, testBackpressureFromSlowClient) }

func testBackpressureFromSlowClient(t *testing.T, tweak func(*config.Config)) {
	ts := startServer(t, tweak)
	fe, _ := rawSession(t, ts.addr)
	const rows = 50000
	send(t, fe, &pgproto3.Query{String: "SELECT repeat('x', 1000) FROM generate_series(1, 50000)"})
	time.Sleep(time.Second) // the client does not read: socket buffers fill up
	got := 0
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("after %d rows: %v", got, err)
		}
		if dr, ok := msg.(*pgproto3.DataRow); ok {
			if len(dr.Values) != 1 || len(dr.Values[0]) != 1000 {
				t.Fatalf("row %d damaged: %d values", got, len(dr.Values))
			}
			got++
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if got != rows {
		t.Fatalf("%d rows, want %d", got, rows)
	}
}

// Pipelined requests written in one burst, answered in order, and a
// message split across many tiny writes, reassembled.
func TestReassemblesSplitMessages(t *testing.T) { transports(t, testReassemblesSplitMessages) }

func testReassemblesSplitMessages(t *testing.T, tweak func(*config.Config)) {
	ts := startServer(t, tweak)
	fe, conn := rawSession(t, ts.addr)
	q, err := (&pgproto3.Query{String: "SELECT 'split across writes' AS v"}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range q {
		if _, err := conn.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	var value string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if dr, ok := msg.(*pgproto3.DataRow); ok {
			value = string(dr.Values[0])
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if value != "split across writes" {
		t.Fatalf("got %q", value)
	}
	if got := ts.rec.seen("SELECT 'split across writes' AS v"); len(got) != 1 {
		t.Fatalf("inspector saw the split statement %d times, want once", len(got))
	}
}

// A shutdown or close command that reaches the loop after the session
// ended must not write to the session's old descriptor numbers: the kernel
// hands them to the next connection, which would read belay's FATAL.
func TestEndedLoopSessionWritesNothing(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	l := &eventLoop{byFD: make(map[int]*loopSession)}
	// As if pair[0] were a number the ended session used to own.
	ls := &loopSession{loop: l, clientFD: pair[0], serverFD: -1, ended: true, done: make(chan struct{})}
	l.do(loopCmd{kind: cmdShutdownIdle, ls: ls})
	l.do(loopCmd{kind: cmdClose, ls: ls})
	var buf [64]byte
	if n, err := unix.Read(pair[1], buf[:]); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("the reused descriptor received %d bytes (%v); want nothing", n, err)
	}
}
