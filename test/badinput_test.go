package test

// Bad input over raw TCP: whatever one client sends, belay closes that one
// connection within a bounded time (after an ErrorResponse where it can),
// stays up, allocates nothing the client asked for, and every other
// session goes on working.

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// closeBound is how long belay may take to close a connection it should
// close at once.
const closeBound = 5 * time.Second

// expectClosed reads until belay closes c and fails the test if it does
// not within `within`.
func expectClosed(t *testing.T, c net.Conn, within time.Duration) closedResult {
	t.Helper()
	res := readUntilClosed(c, within)
	if !res.closed {
		t.Fatalf("connection still open after %v; received %q", within, truncateBytes(res.data, 200))
	}
	return res
}

// expectErrorCodes checks that every ErrorResponse received has one of the
// codes and, when required, that there is one.
func expectErrorCodes(t *testing.T, res closedResult, required bool, codes ...string) {
	t.Helper()
	errs := errorsIn(t, res.data)
	if required && len(errs) == 0 {
		t.Errorf("no ErrorResponse before the close (received %q)", truncateBytes(res.data, 200))
	}
	for _, e := range errs {
		ok := false
		for _, c := range codes {
			ok = ok || e.Code == c
		}
		if !ok {
			t.Errorf("ErrorResponse %s %s %q, want SQLSTATE in %v", e.Severity, e.Code, e.Message, codes)
		}
	}
	if len(errs) > 0 {
		t.Logf("belay answered: %s", describeErrors(errs))
	}
}

// writeAll writes b in the background, ignoring errors: belay may (rightly)
// close the connection before reading it all.
func writeAll(c net.Conn, b []byte) {
	go func() {
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write(b)
	}()
}

func be32(n uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return b[:]
}

// msgHeader is a regular message header claiming length n (which counts
// itself but not the type byte).
func msgHeader(typ byte, n uint32) []byte { return append([]byte{typ}, be32(n)...) }

func TestBadInput(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{StartupTimeout: "1s"}.YAML()})
	addr := p.Addr()

	cases := []struct {
		name      string
		belayOnly bool // PostgreSQL itself behaves differently (timeouts)
		run       func(t *testing.T)
	}{
		{name: "http request as startup", run: func(t *testing.T) {
			c := dialRaw(t, addr)
			writeAll(c, []byte("GET / HTTP/1.1\r\nHost: belay\r\n\r\n"))
			res := expectClosed(t, c, closeBound)
			expectErrorCodes(t, res, false, "08P01")
		}},
		{name: "startup length 2^31", run: func(t *testing.T) {
			c := dialRaw(t, addr)
			writeAll(c, append(be32(1<<31), be32(196608)...))
			res := expectClosed(t, c, closeBound)
			expectErrorCodes(t, res, false, "08P01")
		}},
		{name: "startup length below minimum", run: func(t *testing.T) {
			c := dialRaw(t, addr)
			writeAll(c, be32(3))
			res := expectClosed(t, c, closeBound)
			expectErrorCodes(t, res, false, "08P01")
		}},
		{name: "10 MB startup packet", run: func(t *testing.T) {
			c := dialRaw(t, addr)
			const size = 10 << 20
			pkt := make([]byte, size)
			copy(pkt, be32(size))
			copy(pkt[4:], be32(196608))
			for i := 8; i < size; i++ {
				pkt[i] = 'x'
			}
			writeAll(c, pkt)
			res := expectClosed(t, c, closeBound)
			expectErrorCodes(t, res, false, "08P01", "54000")
		}},
		{name: "unsupported protocol version", run: func(t *testing.T) {
			c := dialRaw(t, addr)
			writeAll(c, append(append(be32(16), be32(0x12345678)...), "user\x00x\x00\x00"...))
			res := expectClosed(t, c, closeBound)
			// PostgreSQL says 0A000 (feature not supported); belay 08P01.
			expectErrorCodes(t, res, true, "08P01", "0A000")
		}},
		{name: "startup without user", run: func(t *testing.T) {
			c := dialRaw(t, addr)
			body := append(be32(196608), "database\x00test\x00\x00"...)
			writeAll(c, append(be32(uint32(4+len(body))), body...))
			res := expectClosed(t, c, closeBound)
			expectErrorCodes(t, res, true, "28000", "08P01")
		}},
		{name: "SSLRequest then garbage", run: func(t *testing.T) {
			c := dialRaw(t, addr)
			writeAll(c, append(be32(8), be32(80877103)...))
			_ = c.SetReadDeadline(time.Now().Add(closeBound))
			var answer [1]byte
			if _, err := c.Read(answer[:]); err != nil || (answer[0] != 'N' && answer[0] != 'S') {
				t.Fatalf("SSLRequest answer %q, %v", answer[0], err)
			}
			writeAll(c, bytes.Repeat([]byte{0x16, 0x03, 0x01, 0xff}, 64))
			expectClosed(t, c, closeBound)
		}},
		{name: "silent client", belayOnly: true, run: func(t *testing.T) {
			c := dialRaw(t, addr)
			res := expectClosed(t, c, 3*time.Second) // startup_timeout is 1s
			t.Logf("closed after %v", res.elapsed.Round(time.Millisecond))
			expectErrorCodes(t, res, false, "08P01", "08006", "57P05")
		}},
		{name: "partial startup packet", belayOnly: true, run: func(t *testing.T) {
			c := dialRaw(t, addr)
			writeAll(c, append(be32(100), "\x00\x03\x00\x00user"...))
			res := expectClosed(t, c, 3*time.Second) // startup_timeout is 1s
			expectErrorCodes(t, res, false, "08P01", "08006", "57P05")
		}},
		{name: "truncated message after auth", run: func(t *testing.T) {
			rc := startupRaw(t, addr, upstreamUser, upstreamDatabase)
			pid := backendPID(t, rc)
			// Claims 100 bytes, sends 10, then half-closes: belay sees EOF
			// in the middle of a message.
			writeAll(rc, append(msgHeader('Q', 104), "SELECT 1; "...))
			time.Sleep(100 * time.Millisecond)
			_ = rc.Conn.(*net.TCPConn).CloseWrite()
			expectClosed(t, rc, closeBound)
			waitBackendGone(t, upstreamDSN(upstreamDatabase), pid, closeBound)
		}},
		{name: "truncated message then close", run: func(t *testing.T) {
			rc := startupRaw(t, addr, upstreamUser, upstreamDatabase)
			pid := backendPID(t, rc)
			if _, err := rc.Write(append(msgHeader('Q', 104), "SELECT 1; "...)); err != nil {
				t.Fatal(err)
			}
			rc.Close()
			waitBackendGone(t, upstreamDSN(upstreamDatabase), pid, closeBound)
		}},
		{name: "message length 2^31-1 after auth", run: func(t *testing.T) {
			rc := startupRaw(t, addr, upstreamUser, upstreamDatabase)
			pid := backendPID(t, rc)
			writeAll(rc, append(msgHeader('Q', 1<<31-1), bytes.Repeat([]byte("a"), 1<<20)...))
			res := expectClosed(t, rc, closeBound)
			expectErrorCodes(t, res, false, "08P01", "54000")
			waitBackendGone(t, upstreamDSN(upstreamDatabase), pid, closeBound)
		}},
		{name: "message length below 4 after auth", run: func(t *testing.T) {
			rc := startupRaw(t, addr, upstreamUser, upstreamDatabase)
			writeAll(rc, msgHeader('Q', 2))
			res := expectClosed(t, rc, closeBound)
			expectErrorCodes(t, res, false, "08P01")
		}},
		{name: "unknown message type after auth", run: func(t *testing.T) {
			rc := startupRaw(t, addr, upstreamUser, upstreamDatabase)
			pid := backendPID(t, rc)
			writeAll(rc, msgHeader('!', 4))
			res := expectClosed(t, rc, closeBound)
			expectErrorCodes(t, res, true, "08P01")
			waitBackendGone(t, upstreamDSN(upstreamDatabase), pid, closeBound)
		}},
		{name: "second StartupMessage after auth", run: func(t *testing.T) {
			// A StartupMessage has no type byte: its first length byte (0)
			// is read as the type, the next four bytes as a length of
			// 5888 that never arrives. PostgreSQL rejects type 0 at once
			// ("invalid frontend message type 0") without waiting for a
			// body; so must belay.
			rc := startupRaw(t, addr, upstreamUser, upstreamDatabase)
			start, _ := (&pgproto3.StartupMessage{
				ProtocolVersion: pgproto3.ProtocolVersionNumber,
				Parameters:      map[string]string{"user": "postgres"},
			}).Encode(nil)
			writeAll(rc, start)
			res := expectClosed(t, rc, closeBound)
			expectErrorCodes(t, res, true, "08P01")
		}},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.belayOnly {
				requireBelay(t)
			}
			t.Parallel()
			witness := connect(t, p.DSN(upstreamDatabase, upstreamUser))
			before := queryString(t, witness, "SELECT pg_backend_pid()::text")

			tc.run(t)

			requireAlive(t, p)
			if after := queryString(t, witness, "SELECT pg_backend_pid()::text"); after != before {
				t.Fatalf("witness session changed backend: %s → %s", before, after)
			}
			out, errOut, err := runPsql(t, p.DSN(upstreamDatabase, upstreamUser), "-Atc", "SELECT 'still serving'")
			if err != nil || strings.TrimSpace(out) != "still serving" {
				t.Fatalf("new psql session after bad input: out %q, err %v, stderr %q", out, err, errOut)
			}
		})
	}
}

// backendPID asks the upstream backend behind a raw session for its pid.
func backendPID(t testing.TB, rc *rawConn) int {
	t.Helper()
	rows := rc.simpleQuery(t, "SELECT pg_backend_pid()")
	if len(rows) != 1 {
		t.Fatalf("pg_backend_pid: %v", rows)
	}
	pid, err := strconv.Atoi(rows[0])
	if err != nil {
		t.Fatalf("pg_backend_pid: %v", err)
	}
	return pid
}

// TestOversizeMessageNoAllocation: a message header that claims 2 GiB must
// not make belay allocate it. Its own belay, so the memory is attributable.
func TestOversizeMessageNoAllocation(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{}.YAML()})
	witness := connect(t, p.DSN(upstreamDatabase, upstreamUser))
	queryString(t, witness, "SELECT 'before'")
	rssBefore, dataBefore := rssKiB(t, p.Pid()), vmDataKiB(t, p.Pid())

	for _, typ := range []byte{'Q', 'P', 'd', 'B'} {
		rc := startupRaw(t, p.Addr(), upstreamUser, upstreamDatabase)
		writeAll(rc, append(msgHeader(typ, 1<<31-1), bytes.Repeat([]byte{0}, 4<<20)...))
		res := expectClosed(t, rc, closeBound)
		expectErrorCodes(t, res, false, "08P01", "54000")
	}
	// A message just over max_message_bytes (256MiB by default) too.
	rc := startupRaw(t, p.Addr(), upstreamUser, upstreamDatabase)
	writeAll(rc, append(msgHeader('Q', 256<<20+5), bytes.Repeat([]byte{'a'}, 4<<20)...))
	expectErrorCodes(t, expectClosed(t, rc, closeBound), false, "08P01", "54000")

	requireAlive(t, p)
	rssAfter, dataAfter := rssKiB(t, p.Pid()), vmDataKiB(t, p.Pid())
	t.Logf("belay RSS %d → %d KiB, VmData %d → %d KiB", rssBefore, rssAfter, dataBefore, dataAfter)
	if rssAfter-rssBefore > 64<<10 {
		t.Errorf("belay's RSS grew by %d KiB after oversize messages", rssAfter-rssBefore)
	}
	if dataAfter-dataBefore > 256<<10 {
		t.Errorf("belay's VmData grew by %d KiB after oversize messages: it allocated what a header claimed", dataAfter-dataBefore)
	}
	if got := queryString(t, witness, "SELECT 'after'"); got != "after" {
		t.Fatalf("witness: %q", got)
	}
}

// TestMaxMessageBytes: with a small limit, a statement over it closes that
// one connection; one under it goes through.
func TestMaxMessageBytes(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{MaxMessageBytes: "1MiB"}.YAML()})
	witness := connect(t, p.DSN(upstreamDatabase, upstreamUser))

	under := "SELECT length('" + strings.Repeat("a", 512<<10) + "')::text"
	if got := queryString(t, witness, under); got != "524288" {
		t.Fatalf("512 KiB statement under a 1 MiB limit: %q", got)
	}

	rc := startupRaw(t, p.Addr(), upstreamUser, upstreamDatabase)
	over := "SELECT length('" + strings.Repeat("a", 2<<20) + "')"
	msg, _ := (&pgproto3.Query{String: over}).Encode(nil)
	writeAll(rc, msg)
	res := expectClosed(t, rc, closeBound)
	expectErrorCodes(t, res, false, "08P01", "54000")

	requireAlive(t, p)
	if got := queryString(t, witness, "SELECT 'still here'"); got != "still here" {
		t.Fatalf("witness: %q", got)
	}
}

// vmDataKiB is the data segment size of a process (VmData), which grows
// with any large allocation even before its pages are touched.
func vmDataKiB(t testing.TB, pid int) int64 {
	t.Helper()
	return procStatusKiB(t, pid, "VmData:")
}

// TestClientGoneClosesUpstream: when a client vanishes in the middle of a
// transaction, belay closes the upstream connection, so PostgreSQL rolls
// back and releases the locks.
func TestClientGoneClosesUpstream(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{ConfigYAML: edgeConfig{}.YAML()})
	table := tableName(t)
	direct := connectDirect(t, upstreamDatabase)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := direct.Exec(ctx, "CREATE TABLE "+table+" (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := direct.Exec(ctx, "INSERT INTO "+table+" VALUES (1, 'a'), (2, 'b')"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		abort func(c net.Conn)
	}{
		{"reset", func(c net.Conn) {
			if tcp, ok := c.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0) // RST, no FIN
			}
			c.Close()
		}},
		{"close without Terminate", func(c net.Conn) { c.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := 1
			if tc.name != "reset" {
				id = 2
			}
			conn, err := pgx.Connect(ctx, p.DSN(upstreamDatabase, upstreamUser))
			if err != nil {
				t.Fatal(err)
			}
			var pid int
			if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "SELECT * FROM "+table+" WHERE id = $1 FOR UPDATE", id); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "UPDATE "+table+" SET v = 'uncommitted' WHERE id = $1", id); err != nil {
				t.Fatal(err)
			}
			if !backendAlive(t, upstreamDSN(upstreamDatabase), pid) {
				t.Fatalf("backend %d not in pg_stat_activity while its client is connected", pid)
			}

			tc.abort(conn.PgConn().Conn())
			took := waitBackendGone(t, upstreamDSN(upstreamDatabase), pid, 5*time.Second)
			t.Logf("upstream backend %d gone %v after the client", pid, took.Round(time.Millisecond))

			// The lock is free and the change was rolled back.
			var v string
			if err := direct.QueryRow(ctx, "SELECT v FROM "+table+" WHERE id = $1 FOR UPDATE NOWAIT", id).Scan(&v); err != nil {
				t.Fatalf("row still locked after the client went away: %v", err)
			}
			if v == "uncommitted" {
				t.Fatal("the vanished client's change was committed")
			}
		})
	}
	requireAlive(t, p)
}
