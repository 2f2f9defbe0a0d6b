package test

// Large values and large results pass through belay without belay holding
// more than about one message at a time.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const largeValue = 64 << 20 // 64 MiB

// maxBelayRSS bounds belay's peak resident memory (VmHWM) in these tests.
// A relay may hold one whole message (a 64 MiB DataRow or Bind) and, while
// it frames and forwards it, perhaps a copy in a read buffer and one in a
// write buffer: three times the message, plus 100 MiB for the Go runtime,
// the parser and everything else. Buffering a whole result of several
// hundred MiB exceeds it. The race detector's shadow memory doubles it.
func maxBelayRSS() int64 {
	bound := int64(3*largeValue + 100<<20)
	if raceMode {
		bound *= 2
	}
	return bound
}

// checkBelayRSS fails the test if belay's peak RSS is above maxBelayRSS.
func checkBelayRSS(t *testing.T, p *belayProc) {
	t.Helper()
	if p.Pid() == 0 {
		return // direct mode: no belay
	}
	hwm, err := peakRSS(p.Pid())
	if err != nil {
		t.Errorf("read belay's peak RSS: %v", err)
		return
	}
	t.Logf("belay peak RSS (VmHWM): %d MiB, bound %d MiB", hwm>>20, maxBelayRSS()>>20)
	if hwm > maxBelayRSS() {
		t.Errorf("belay peak RSS %d MiB > bound %d MiB: it buffers more than one message",
			hwm>>20, maxBelayRSS()>>20)
	}
}

// peakRSS reads VmHWM, the peak resident set size, from /proc/PID/status.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// TestPsqlLargeValue fetches one 64 MiB value with psql and checks every byte.
func TestPsqlLargeValue(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	file := filepath.Join(t.TempDir(), "out")
	_, errOut, err := runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-At", "-o", file,
		"-c", fmt.Sprintf("SELECT repeat('x', %d)", largeValue))
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, errOut)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Repeat([]byte("x"), largeValue), '\n')
	if !bytes.Equal(got, want) {
		t.Errorf("psql wrote %d bytes, want %d x's and a newline", len(got), largeValue)
	}
	checkBelayRSS(t, p)
}

// TestPgxLargeValue sends a 64 MiB parameter (one Bind message) and reads it
// back (one DataRow), comparing length and hashes on both sides.
func TestPgxLargeValue(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := connect(t, p.URL(upstreamDatabase, "postgres"))

	value := make([]byte, largeValue)
	for i := range value {
		value[i] = 'a' + byte(i*7%26)
	}
	in := string(value)
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE big (v text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO big VALUES ($1)", in); err != nil {
		t.Fatalf("insert 64 MiB parameter: %v", err)
	}
	var out, serverMD5 string
	var serverLen int
	err := conn.QueryRow(ctx, "SELECT v, length(v), md5(v) FROM big").Scan(&out, &serverLen, &serverMD5)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if serverLen != largeValue {
		t.Errorf("server stored %d bytes, want %d", serverLen, largeValue)
	}
	if sum := md5.Sum(value); serverMD5 != hex.EncodeToString(sum[:]) {
		t.Errorf("server md5 %s, client md5 %x", serverMD5, sum)
	}
	if len(out) != len(in) || sha256.Sum256([]byte(out)) != sha256.Sum256(value) {
		t.Errorf("read back %d bytes that differ from the %d sent", len(out), len(in))
	}
	checkBelayRSS(t, p)
}

// TestPgxLargeResultStreams reads a 512 MiB result in 1 MiB rows: belay
// must stream it, so its peak RSS stays far below the result's size.
func TestPgxLargeResultStreams(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := connect(t, p.URL(upstreamDatabase, "postgres"))

	const rows, rowSize = 512, 1 << 20
	// text values are the same bytes in text and binary format
	r, err := conn.Query(ctx, "SELECT i::text, repeat('y', $1) FROM generate_series(1, $2) AS i", rowSize, rows)
	if err != nil {
		t.Fatal(err)
	}
	n, total := 0, 0
	for r.Next() {
		vals := r.RawValues()
		n++
		if string(vals[0]) != strconv.Itoa(n) {
			t.Fatalf("row %d has i=%s", n, vals[0])
		}
		total += len(vals[1])
	}
	if err := r.Err(); err != nil {
		t.Fatalf("after %d rows: %v", n, err)
	}
	if n != rows || total != rows*rowSize {
		t.Errorf("got %d rows, %d bytes; want %d rows, %d bytes", n, total, rows, rows*rowSize)
	}
	checkBelayRSS(t, p)
}
