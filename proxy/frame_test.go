package proxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/jackc/pgx/v5/pgproto3"
)

func encode(t *testing.T, msgs ...pgproto3.Message) []byte {
	t.Helper()
	var out []byte
	for _, m := range msgs {
		var err error
		out, err = m.Encode(out)
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// frames walks every complete message the way the pumps do, reading more
// as needed, and returns their types and sizes.
func frames(m *msgBuffer) (types []byte, sizes []int, err error) {
	for {
		typ, size, ok, err := m.header(0)
		if err != nil {
			return types, sizes, err
		}
		if ok && m.complete(0, size) {
			types, sizes = append(types, typ), append(sizes, size)
			m.consume(size)
			continue
		}
		if err := m.fill(); err != nil {
			if errors.Is(err, io.EOF) && m.buffered() == 0 {
				return types, sizes, nil
			}
			return types, sizes, err
		}
	}
}

func TestFramingSurvivesAnySplit(t *testing.T) {
	stream := encode(t,
		&pgproto3.Query{String: "SELECT 1"},
		&pgproto3.Parse{Name: "s1", Query: "SELECT $1"},
		&pgproto3.Bind{PreparedStatement: "s1", Parameters: [][]byte{[]byte("42")}},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
	)
	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(stream),
		"one byte": iotest.OneByteReader(bytes.NewReader(stream)),
		"halves":   iotest.HalfReader(bytes.NewReader(stream)),
	} {
		t.Run(name, func(t *testing.T) {
			types, _, err := frames(newMsgBuffer(r, 1<<20))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(types); got != "QPBES" {
				t.Fatalf("types %q, want QPBES", got)
			}
		})
	}
}

func TestFramingRejectsBadLengths(t *testing.T) {
	for name, tc := range map[string]struct {
		length uint32
		want   string
	}{
		"below four": {3, "invalid message length 3"},
		"2^31":       {1 << 31, "message too large"},
		"over limit": {1<<20 + 5, "message too large"},
	} {
		t.Run(name, func(t *testing.T) {
			hdr := []byte{'Q', 0, 0, 0, 0}
			binary.BigEndian.PutUint32(hdr[1:], tc.length)
			m := newMsgBuffer(bytes.NewReader(hdr), 1<<20)
			if err := m.fill(); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := m.header(0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadWholeOversizeAndStreaming(t *testing.T) {
	big := strings.Repeat("x", 3*readBufferSize+17)
	stream := encode(t, &pgproto3.Query{String: big}, &pgproto3.Sync{})

	m := newMsgBuffer(iotest.HalfReader(bytes.NewReader(stream)), 1<<20)
	typ, msg, err := m.readWhole()
	if err != nil || typ != 'Q' {
		t.Fatalf("readWhole: %q %v", typ, err)
	}
	if !bytes.Equal(msg, stream[:len(msg)]) || len(msg) != len(big)+6 {
		t.Fatalf("oversize message corrupted: %d bytes", len(msg))
	}
	if typ, _, err := m.readWhole(); err != nil || typ != 'S' {
		t.Fatalf("message after the oversize one: %q %v", typ, err)
	}

	// Streaming copies the same bytes without holding them whole.
	m = newMsgBuffer(iotest.HalfReader(bytes.NewReader(stream)), 1<<20)
	if err := m.fill(); err != nil {
		t.Fatal(err)
	}
	_, size, ok, err := m.header(0)
	if !ok || err != nil {
		t.Fatal("no header", err)
	}
	var out bytes.Buffer
	if err := m.streamTo(&out, size); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), stream[:size]) {
		t.Fatal("streamed bytes differ")
	}
	if len(m.buf) != readBufferSize {
		t.Fatalf("streaming grew the buffer to %d", len(m.buf))
	}
}

func TestStreamTruncatedMessageFails(t *testing.T) {
	stream := encode(t, &pgproto3.CopyData{Data: make([]byte, 2*readBufferSize)})
	m := newMsgBuffer(bytes.NewReader(stream[:readBufferSize+100]), 1<<20)
	if err := m.fill(); err != nil {
		t.Fatal(err)
	}
	_, size, _, _ := m.header(0)
	if err := m.streamTo(io.Discard, size); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated stream: %v, want unexpected EOF", err)
	}
}

func FuzzFraming(f *testing.F) {
	f.Add(encode(&testing.T{}, &pgproto3.Query{String: "SELECT 1"}, &pgproto3.Sync{}))
	f.Add([]byte{'Q', 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{'X', 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newMsgBuffer(bytes.NewReader(data), 1<<16)
		_, sizes, _ := frames(m)
		total := 0
		for _, s := range sizes {
			if s < headerLen {
				t.Fatalf("frame of %d bytes", s)
			}
			total += s
		}
		if total > len(data) {
			t.Fatalf("framed %d bytes out of %d", total, len(data))
		}
	})
}
