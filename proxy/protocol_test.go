package proxy

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// rawFrontend opens a plain connection to belay and speaks the protocol by
// hand, for messages that client libraries rarely send.
func rawFrontend(t *testing.T, addr string) (*pgproto3.Frontend, net.Conn) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return pgproto3.NewFrontend(conn, conn), conn
}

// rawSession is rawFrontend after a trust login as postgres.
func rawSession(t *testing.T, addr string) (*pgproto3.Frontend, net.Conn) {
	t.Helper()
	fe, conn := rawFrontend(t, addr)
	send(t, fe, &pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters:      map[string]string{"user": "postgres", "database": "postgres"},
	})
	receiveUntilReady(t, fe)
	return fe, conn
}

func send(t *testing.T, fe *pgproto3.Frontend, msgs ...pgproto3.FrontendMessage) {
	t.Helper()
	for _, m := range msgs {
		fe.Send(m)
	}
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
}

// receiveUntilReady returns the types of the messages up to ReadyForQuery
// that the startup and protocol tests look at.
func receiveUntilReady(t *testing.T, fe *pgproto3.Frontend) []string {
	t.Helper()
	return receiveDescribed(t, fe, func(msg pgproto3.BackendMessage) string {
		switch m := msg.(type) {
		case *pgproto3.ReadyForQuery:
			return "ReadyForQuery"
		case *pgproto3.ErrorResponse:
			return "Error:" + m.Code
		case *pgproto3.NegotiateProtocolVersion:
			return "NegotiateProtocolVersion"
		case *pgproto3.FunctionCallResponse:
			return "FunctionCallResponse:" + string(m.Result)
		case *pgproto3.AuthenticationOk:
			return "AuthenticationOk"
		}
		return ""
	})
}

// receiveTypes returns the type name of every message up to ReadyForQuery.
func receiveTypes(t *testing.T, fe *pgproto3.Frontend) []string {
	t.Helper()
	return receiveDescribed(t, fe, func(msg pgproto3.BackendMessage) string {
		return strings.TrimPrefix(fmt.Sprintf("%T", msg), "*pgproto3.")
	})
}

// receiveDescribed reads up to ReadyForQuery and returns describe's words
// for each message ("" leaves a message out).
func receiveDescribed(t *testing.T, fe *pgproto3.Frontend, describe func(pgproto3.BackendMessage) string) []string {
	t.Helper()
	var got []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("receive after %v: %v", got, err)
		}
		if d := describe(msg); d != "" {
			got = append(got, d)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return got
		}
	}
}

// A client asking for protocol 3.2 with an extension parameter gets the
// server's NegotiateProtocolVersion through belay and goes on with 3.0.
func TestNewerProtocolIsNegotiatedThrough(t *testing.T) {
	ts := startServer(t, nil)
	fe, _ := rawFrontend(t, ts.addr)
	send(t, fe, &pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30 + 2, // 3.2
		Parameters:      map[string]string{"user": "postgres", "database": "postgres", "_pq_.belay_test": "on"},
	})
	got := receiveUntilReady(t, fe)
	if got[len(got)-1] != "ReadyForQuery" || !contains(got, "AuthenticationOk") || !contains(got, "NegotiateProtocolVersion") {
		t.Fatalf("startup answers %v", got)
	}
	send(t, fe, &pgproto3.Query{String: "SELECT 1"})
	if got := receiveUntilReady(t, fe); got[len(got)-1] != "ReadyForQuery" {
		t.Fatalf("query after negotiation: %v", got)
	}
}

// FunctionCall (the fast-path interface, used by large objects) passes an
// Inspector that allows it, which is shown the OID it calls.
func TestFunctionCallPassesThrough(t *testing.T) {
	ts := startServer(t, nil)
	fe, _ := rawSession(t, ts.addr)
	const int4abs = 1397 // pg_proc oid of abs(integer), fixed in the catalog
	send(t, fe, &pgproto3.FunctionCall{
		Function:         int4abs,
		ArgFormatCodes:   []uint16{0},
		Arguments:        [][]byte{[]byte("-42")},
		ResultFormatCode: 0,
	})
	got := receiveUntilReady(t, fe)
	if !contains(got, "FunctionCallResponse:42") {
		t.Fatalf("function call answers %v", got)
	}
	seen := ts.rec.seen("fast-path call of function OID 1397")
	if len(seen) != 1 || seen[0].Protocol != FunctionCall || seen[0].Function != int4abs || !seen[0].OutsideTransaction {
		t.Fatalf("the Inspector saw %+v", seen)
	}
}

// A Flush (without Sync) must get the answers so far, as from PostgreSQL.
func TestFlushGetsAnswersWithoutSync(t *testing.T) {
	ts := startServer(t, nil)
	fe, _ := rawSession(t, ts.addr)
	send(t, fe, &pgproto3.Parse{Query: "SELECT 1"}, &pgproto3.Flush{})
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := msg.(*pgproto3.ParseComplete); !ok {
		t.Fatalf("after Parse+Flush got %T, want ParseComplete", msg)
	}
	send(t, fe, &pgproto3.Sync{})
	receiveUntilReady(t, fe)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
