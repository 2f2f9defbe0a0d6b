package proxy

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belay-proxy/belay/audit"
)

// trail completes audit lines with what PostgreSQL answered: rows from
// CommandComplete, the SQLSTATE of an error, the time it took. A line is
// written when its statement's answer arrives (or, for statements an
// earlier error kept from running, when the request's ReadyForQuery does).
//
// Answers come in the order requests were sent, so the trail is a FIFO of
// requests (a Query, a Sync closing an extended batch, a FunctionCall),
// each with the lines of the statements it runs. A completion message
// belongs to the oldest unanswered request; when none is queued, to the
// extended batch still open (its Sync not sent yet). Belay's own raise
// Queries never reach the trail: their errors and swallowed ReadyForQuery
// are recognised before.
//
// The client-reading side adds, the server-reading side completes: in the
// goroutine relay those are two goroutines, hence the mutex.
type trail struct {
	mu       sync.Mutex
	log      *audit.Logger
	staged   []trailLine // lines of the statement being screened
	requests []trailRequest
	open     trailRequest  // the extended batch since the last Sync
	free     [][]trailLine // line slices of answered requests, kept with their buffers

	// Extended protocol: what each prepared statement and portal runs.
	named         map[string]*audit.Statement
	unnamed       audit.Statement
	portals       map[string]*audit.Statement // named portals
	unnamedPortal *audit.Statement

	// active is set by the first staged line: until then (auditing off)
	// every hook the relay calls returns at once.
	active atomic.Bool
}

type trailRequest struct {
	lines []trailLine
	next  int // first line without an answer
}

type trailLine struct {
	line  audit.Statement
	start time.Time
}

// setLine copies src into dst, reusing dst's byte buffers: the hot path
// then allocates nothing once a session's buffers have grown.
func setLine(dst, src *audit.Statement) {
	norm, raw := dst.Normalized[:0], dst.Raw[:0]
	*dst = *src
	dst.Normalized = append(norm, src.Normalized...)
	dst.Raw = nil
	if src.Raw != nil {
		dst.Raw = append(raw, src.Raw...)
	}
}

// grow extends lines by one, reusing a slot (and its buffers) if it can.
func grow(lines []trailLine) ([]trailLine, *trailLine) {
	n := len(lines)
	if n < cap(lines) {
		lines = lines[:n+1]
	} else {
		lines = append(lines, trailLine{})
	}
	return lines, &lines[n]
}

func (t *trail) takeFree() []trailLine {
	if n := len(t.free); n > 0 {
		l := t.free[n-1]
		t.free = t.free[:n-1]
		return l
	}
	return nil
}

// logger is the audit logger the session's lines go to; nil until the
// first line is staged (auditing off).
func (t *trail) logger() *audit.Logger {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.log
}

// stage keeps a line of the statement being inspected until the relay
// forwards it (or drops it).
func (t *trail) stage(log *audit.Logger, line *audit.Statement) {
	t.active.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log = log
	var slot *trailLine
	t.staged, slot = grow(t.staged)
	setLine(&slot.line, line)
}

// answeredByBelay writes the staged lines of a request belay answered
// itself after the guard allowed it (SET belay.expect_rows, a request
// after a hold timed out), with that outcome.
func (t *trail) answeredByBelay(status, sqlstate string) {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.staged {
		l := &t.staged[i].line
		l.Status, l.SQLState, l.Rows = status, sqlstate, -1
		t.write(l)
	}
	t.staged = t.staged[:0]
}

// queryForwarded queues a Query or FunctionCall with its staged lines
// (none for belay's own raise Query).
func (t *trail) queryForwarded() {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for i := range t.staged {
		t.staged[i].start = now
	}
	t.requests = append(t.requests, trailRequest{lines: t.staged})
	t.staged = t.takeFree()
}

// parsed remembers the line of an allowed Parse for the Executes to come.
func (t *trail) parsed(name string) {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var src audit.Statement // an empty Parse: nothing to audit
	if len(t.staged) > 0 {
		src = t.staged[0].line
	}
	t.staged = t.staged[:0]
	if name == "" {
		setLine(&t.unnamed, &src)
		return
	}
	if t.named == nil {
		t.named = make(map[string]*audit.Statement)
	}
	line := new(audit.Statement)
	setLine(line, &src)
	t.named[name] = line
}

// bound notes which statement a portal runs.
func (t *trail) bound(portal, stmt []byte) {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	line := &t.unnamed
	if len(stmt) > 0 {
		line = t.named[string(stmt)] // nil: prepared before belay saw it
	}
	if len(portal) == 0 {
		t.unnamedPortal = line
		return
	}
	if t.portals == nil {
		t.portals = make(map[string]*audit.Statement)
	}
	t.portals[string(portal)] = line
}

// executed adds a line for an Execute to the open batch.
func (t *trail) executed(portal []byte) {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	line := t.unnamedPortal
	if len(portal) > 0 {
		line = t.portals[string(portal)]
	}
	if line == nil || line.Decision == "" { // no Parse seen for it
		return
	}
	var slot *trailLine
	t.open.lines, slot = grow(t.open.lines)
	setLine(&slot.line, line)
	slot.start = time.Now()
}

// closed forgets a named prepared statement the client closed.
func (t *trail) closed(stmt []byte) {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	delete(t.named, string(stmt))
	t.mu.Unlock()
}

// synced queues the open batch: its Sync was forwarded.
func (t *trail) synced() {
	if !t.active.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests = append(t.requests, t.open)
	t.open = trailRequest{lines: t.takeFree()}
}

// answer takes one of PostgreSQL's messages that end a statement or a
// request; a no-op until the first audit line was staged.
func (t *trail) answer(typ byte, msg []byte) {
	if !t.active.Load() {
		return
	}
	if typ == 'Z' {
		t.answered()
		return
	}
	t.completed(typ, msg)
}

// current is the request the next completion message answers.
func (t *trail) current() *trailRequest {
	if len(t.requests) > 0 {
		return &t.requests[0]
	}
	return &t.open
}

// completed takes a CommandComplete, EmptyQueryResponse, PortalSuspended,
// FunctionCallResponse or ErrorResponse from PostgreSQL.
func (t *trail) completed(typ byte, msg []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.current()
	if r.next >= len(r.lines) {
		return // a statement belay has no line for (Parse or Bind errors)
	}
	l := &r.lines[r.next]
	r.next++
	l.line.Duration = time.Since(l.start)
	l.line.Rows = -1
	switch typ {
	case 'C':
		l.line.Status = audit.StatusOK
		l.line.Rows = commandRows(msg[headerLen:])
	case 'I':
		l.line.Status, l.line.Rows = audit.StatusOK, 0
	case 'V': // a FunctionCall's result: no row count
		l.line.Status = audit.StatusOK
	case 's':
		l.line.Status = audit.StatusSuspended
	case 'E':
		l.line.Status = audit.StatusError
		l.line.SQLState = errorCode(msg[headerLen:])
		// PostgreSQL runs nothing more of this request.
		t.write(&l.line)
		t.skipRest(r)
		return
	}
	t.write(&l.line)
}

// answered takes a ReadyForQuery: the oldest request is done.
func (t *trail) answered() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.requests) == 0 {
		return
	}
	done := t.requests[0]
	t.skipRest(&done)
	n := copy(t.requests, t.requests[1:])
	t.requests[n] = trailRequest{}
	t.requests = t.requests[:n]
	if len(t.free) < 8 {
		t.free = append(t.free, done.lines[:0])
	}
}

// flush writes every line still waiting, when the session ends.
func (t *trail) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.requests {
		t.finishRest(&t.requests[i], audit.StatusUnknown)
	}
	t.finishRest(&t.open, audit.StatusUnknown)
	t.requests = nil
	t.open = trailRequest{}
}

func (t *trail) skipRest(r *trailRequest) { t.finishRest(r, audit.StatusSkipped) }

func (t *trail) finishRest(r *trailRequest, status string) {
	for ; r.next < len(r.lines); r.next++ {
		l := &r.lines[r.next]
		l.line.Status, l.line.Rows = status, -1
		t.write(&l.line)
	}
}

func (t *trail) write(line *audit.Statement) {
	if t.log != nil {
		t.log.Log(line)
	}
}

// commandRows is the row count at the end of a CommandComplete tag
// ("UPDATE 3", "INSERT 0 1", "SELECT 5"), or -1 for tags without one.
func commandRows(body []byte) int64 {
	if i := bytes.IndexByte(body, 0); i >= 0 {
		body = body[:i]
	}
	sp := bytes.LastIndexByte(body, ' ')
	if sp < 0 {
		return -1
	}
	n, err := strconv.ParseInt(string(body[sp+1:]), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// errorCode is the SQLSTATE field of an ErrorResponse.
func errorCode(fields []byte) string {
	for len(fields) > 0 && fields[0] != 0 {
		end := bytes.IndexByte(fields, 0)
		if end < 0 {
			return ""
		}
		if fields[0] == 'C' {
			return string(fields[1:end])
		}
		fields = fields[end+1:]
	}
	return ""
}

// bindNames reads the portal and statement names at the start of a Bind
// message body; ok is false when they are not all there.
func bindNames(body []byte) (portal, stmt []byte, ok bool) {
	i := bytes.IndexByte(body, 0)
	if i < 0 {
		return nil, nil, false
	}
	j := bytes.IndexByte(body[i+1:], 0)
	if j < 0 {
		return nil, nil, false
	}
	return body[:i], body[i+1 : i+1+j], true
}

// cstring is the NUL-terminated string at the start of b.
func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
