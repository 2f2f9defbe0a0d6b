// Package audit writes belay's audit trail: one JSON line per statement,
// saying who ran what from where and what belay decided. Statement text is
// normalised (literals replaced by $n) unless the configuration asks for raw
// literals, because the data in literals is often sensitive.
package audit

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
)

// Keys of the audit line, in one place so the log can be queried reliably.
const (
	KeySession         = "session"
	KeyUser            = "user"
	KeyDatabase        = "database"
	KeyApplicationName = "application_name"
	KeyClientAddr      = "client_addr"
	KeyProtocol        = "protocol"
	KeyStatementName   = "statement_name"
	KeyFingerprint     = "fingerprint"
	KeyStatement       = "statement"
	KeyRawStatement    = "raw_statement"
	KeyDecision        = "decision"
	KeyParseError      = "parse_error"
	KeyKind            = "kind"
	KeyProfile         = "profile"
	KeyRule            = "rule"
	KeyDetail          = "detail"
	KeyStatus          = "status"
	KeyRows            = "rows"
	KeySQLState        = "sqlstate"
	KeyDuration        = "duration_ms"
	KeyChange          = "change"
	KeyOutcome         = "outcome"
	KeyTables          = "tables"
	KeyHeld            = "held_ms"
)

// Statuses of a statement in its audit line.
const (
	StatusOK        = "ok"        // PostgreSQL completed it
	StatusError     = "error"     // PostgreSQL raised an error (sqlstate)
	StatusBlocked   = "blocked"   // belay refused it; it never reached PostgreSQL
	StatusSkipped   = "skipped"   // an earlier error ended its query string or batch
	StatusSuspended = "suspended" // an Execute with a row limit stopped early
	StatusUnknown   = "unknown"   // the connection ended before the answer came
)

// Logger writes audit lines. The zero value is not usable; use Open.
type Logger struct {
	buffered *zapcore.BufferedWriteSyncer // nil when output is "off"
	closer   io.Closer
}

// Open returns a Logger writing to output: "stdout", "stderr", "off" or a
// file path (appended). Raw statement text is written only for statements
// that carry it (see Statement.Raw). Writes are buffered and flushed at least every
// 200 ms and on Close, so auditing costs no syscall per statement.
func Open(output string) (*Logger, error) {
	if output == "off" {
		return &Logger{}, nil
	}
	var w zapcore.WriteSyncer
	var closer io.Closer
	switch output {
	case "stdout":
		w = zapcore.Lock(os.Stdout)
	case "stderr":
		w = zapcore.Lock(os.Stderr)
	default:
		f, err := os.OpenFile(output, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open audit output: %w", err)
		}
		w, closer = f, f
	}
	bw := &zapcore.BufferedWriteSyncer{WS: w, Size: 256 << 10, FlushInterval: 200 * time.Millisecond}
	return &Logger{buffered: bw, closer: closer}, nil
}

// Statement is what one audit line records about a statement.
type Statement struct {
	Session         uint64
	User            string
	Database        string
	ApplicationName string
	ClientAddr      string
	Protocol        string // simple | extended | fastpath
	StatementName   string // prepared statement name (extended protocol)
	Fingerprint     string // pg_query's; "" for a FunctionCall, which has no SQL
	Normalized      []byte
	Raw             []byte // raw text, literals included; nil unless the policy asks
	Decision        string // allow | audit | block
	ParseError      string
	Kind            string // read, write, ddl, …
	Profile         string // the policy profile that decided
	Rule            string // the deciding rule, when one fired
	Detail          string // what the rule saw (never literal values)

	// The outcome, when known.
	Status   string
	Rows     int64 // from CommandComplete; -1 when it carries no count
	SQLState string
	Duration time.Duration // from forwarding to PostgreSQL's answer
}

// Log writes one audit line.
func (l *Logger) Log(s *Statement) {
	if l.buffered == nil {
		return
	}
	bp := linePool.Get().(*[]byte)
	*bp = appendLine((*bp)[:0], s, time.Now())
	_, _ = l.buffered.Write(*bp) // errors surface on Sync and Close
	if cap(*bp) <= 64<<10 {      // do not keep a huge raw statement's buffer
		linePool.Put(bp)
	}
}

// Hold is how a held change ended (event "hold"), joined to the lines of
// its statements by session. Tables names rows per table, no values.
type Hold struct {
	Session         uint64
	User            string
	Database        string
	ApplicationName string
	ClientAddr      string
	Profile         string
	Change          string // the transaction's id; "" when nothing was written
	Outcome         string // committed, rolled_back, timeout, disconnect, cap, estimate, expect, limit, error
	Rows            int64
	Tables          string
	Held            time.Duration
}

// LogHold writes one hold line.
func (l *Logger) LogHold(h *Hold) {
	if l == nil || l.buffered == nil {
		return
	}
	_, _ = l.buffered.Write(appendHold(nil, h, time.Now()))
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Enabled reports whether lines are written at all (output is not "off").
func (l *Logger) Enabled() bool { return l.buffered != nil || l.closer != nil }

// Close flushes buffered lines and closes a file output.
func (l *Logger) Close() error {
	var err error
	if l.buffered != nil {
		err = l.buffered.Stop()
	}
	if l.closer != nil {
		if cerr := l.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
