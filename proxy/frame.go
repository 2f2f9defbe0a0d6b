package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// headerLen is a regular message's type byte plus its int32 length.
const headerLen = 5

// readBufferSize is each direction's read buffer. Messages that fit are
// relayed straight out of it in batches; larger ones are streamed through
// (or, when they must be inspected, read whole into a one-off buffer).
const readBufferSize = 64 << 10

// errMessageTooLarge is a length field over limits.max_message_bytes.
var errMessageTooLarge = errors.New("message too large")

// msgBuffer frames PostgreSQL messages out of one connection. It never
// decodes a message it does not have to: the relay walks headers, looks at
// the few types it cares about, and writes whole runs of messages at once.
type msgBuffer struct {
	src      io.Reader
	buf      []byte
	start    int // first byte not yet consumed
	end      int // one past the last byte read
	maxBody  int // largest body accepted (limits.max_message_bytes)
	totalIn  uint64
	oversize []byte // reused for inspected messages bigger than buf
}

func newMsgBuffer(src io.Reader, maxBody int) *msgBuffer {
	return &msgBuffer{src: src, buf: make([]byte, readBufferSize), maxBody: maxBody}
}

// fill reads at least once more from the source, first moving unconsumed
// bytes to the front when the buffer's tail is full.
func (m *msgBuffer) fill() error {
	if m.start == m.end {
		m.start, m.end = 0, 0
	} else if m.end == len(m.buf) {
		m.end = copy(m.buf, m.buf[m.start:m.end])
		m.start = 0
	}
	n, err := m.src.Read(m.buf[m.end:])
	m.end += n
	m.totalIn += uint64(n)
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// buffered is the number of bytes read but not yet consumed.
func (m *msgBuffer) buffered() int { return m.end - m.start }

// header returns the message at pos (an offset from start) if its header is
// buffered: type, total size including the type byte, and ok.
func (m *msgBuffer) header(pos int) (typ byte, size int, ok bool, err error) {
	p := m.start + pos
	if m.end-p < headerLen {
		return 0, 0, false, nil
	}
	length := int(binary.BigEndian.Uint32(m.buf[p+1:]))
	if length < 4 {
		return 0, 0, false, fmt.Errorf("invalid message length %d for type %q", length, m.buf[p])
	}
	if length-4 > m.maxBody {
		return 0, 0, false, fmt.Errorf("%w: type %q declares %d bytes, limit is %d", errMessageTooLarge, m.buf[p], length-4, m.maxBody)
	}
	return m.buf[p], 1 + length, true, nil
}

// complete reports whether size bytes at pos are all buffered.
func (m *msgBuffer) complete(pos, size int) bool { return m.end-(m.start+pos) >= size }

// fits reports whether a message of size bytes can ever sit in the buffer.
func (m *msgBuffer) fits(size int) bool { return size <= len(m.buf) }

// bytes returns buffered bytes [pos, pos+n) relative to start.
func (m *msgBuffer) bytes(pos, n int) []byte { return m.buf[m.start+pos : m.start+pos+n] }

// consume drops n bytes from the front.
func (m *msgBuffer) consume(n int) { m.start += n }

// readWhole returns the whole message at start (header included), reading
// more as needed. Used for messages that must be inspected or decoded and
// may be larger than the buffer. The result is valid until the next call.
func (m *msgBuffer) readWhole() (typ byte, msg []byte, err error) {
	for {
		typ, size, ok, err := m.header(0)
		if err != nil {
			return 0, nil, err
		}
		if ok && m.complete(0, size) {
			msg = m.bytes(0, size)
			m.consume(size)
			return typ, msg, nil
		}
		if ok && !m.fits(size) {
			msg, err := m.readOversize(size)
			return typ, msg, err
		}
		if err := m.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// readOversize reads a message bigger than the buffer. Memory grows with
// the bytes that actually arrive, not with the declared length, so a
// lying 5-byte header cannot make belay allocate max_message_bytes.
func (m *msgBuffer) readOversize(size int) ([]byte, error) {
	out := append(m.oversize[:0], m.buf[m.start:m.end]...)
	m.start, m.end = 0, 0
	for len(out) < size {
		if len(out) == cap(out) {
			out = append(out, make([]byte, min(cap(out), size-len(out)))...)[:len(out)]
		}
		n, err := m.src.Read(out[len(out):min(cap(out), size)])
		out = out[:len(out)+n]
		m.totalIn += uint64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read %d-byte message: %w", size, err)
		}
	}
	m.oversize = out
	return out, nil
}

// releaseOversize drops a large one-off buffer so an idle session holding a
// one-time 100 MB statement does not keep the memory.
func (m *msgBuffer) releaseOversize() {
	if cap(m.oversize) > 4*readBufferSize {
		m.oversize = nil
	}
}

// streamTo writes the message at start (size bytes, larger than the buffer)
// to dst without holding it whole: what is buffered, then the rest in
// buffer-sized chunks.
func (m *msgBuffer) streamTo(dst io.Writer, size int) error {
	have := m.buffered()
	if _, err := dst.Write(m.buf[m.start:m.end]); err != nil {
		return err
	}
	m.start, m.end = 0, 0
	rest := int64(size - have)
	n, err := io.CopyBuffer(dst, io.LimitReader(m.src, rest), m.buf)
	m.totalIn += uint64(n)
	if err == nil && n < rest {
		err = io.ErrUnexpectedEOF
	}
	return err
}
