package audit

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendLine encodes one audit line as a JSON object and a newline. The
// schema is fixed, so it is written by hand: zap's field-by-field encoder
// cost about 1.5 µs and 1.4 KB of garbage per line, a fifth of the relay's
// whole CPU budget per pgbench transaction (see the README's Performance
// section). Keys and their order are those zap wrote before.
func appendLine(b []byte, s *Statement, now time.Time) []byte {
	b = appendHead(b, now, eventStatement, s.Session, s.User, s.Database, s.ApplicationName, s.ClientAddr)
	b = appendField(b, KeyProtocol, s.Protocol)
	b = appendField(b, KeyDecision, s.Decision)
	if s.Kind != "" {
		b = appendField(b, KeyKind, s.Kind)
	}
	if s.Profile != "" {
		b = appendField(b, KeyProfile, s.Profile)
	}
	if s.Rule != "" {
		b = appendField(b, KeyRule, s.Rule)
		b = appendField(b, KeyDetail, s.Detail)
	}
	if s.Status != "" {
		b = appendField(b, KeyStatus, s.Status)
		if s.Rows >= 0 {
			b = appendKey(b, KeyRows)
			b = strconv.AppendInt(b, s.Rows, 10)
		}
		if s.SQLState != "" {
			b = appendField(b, KeySQLState, s.SQLState)
		}
		if s.Duration > 0 {
			b = appendKey(b, KeyDuration)
			b = strconv.AppendFloat(b, float64(s.Duration.Microseconds())/1000, 'f', -1, 64)
		}
	}
	if s.StatementName != "" {
		b = appendField(b, KeyStatementName, s.StatementName)
	}
	if s.Fingerprint != "" {
		b = appendField(b, KeyFingerprint, s.Fingerprint)
	}
	if s.Fingerprint != "" || len(s.Normalized) > 0 { // a FunctionCall has no fingerprint
		b = appendKey(b, KeyStatement)
		b = appendString(b, s.Normalized)
	}
	if s.ParseError != "" {
		b = appendField(b, KeyParseError, s.ParseError)
	}
	if s.Raw != nil {
		b = appendKey(b, KeyRawStatement)
		b = appendString(b, s.Raw)
	}
	return append(b, '}', '\n')
}

const (
	eventStatement = `","event":"statement"`
	eventHold      = `","event":"hold"`
)

// appendHead opens a line: time, event (as the constant that closes the
// time and names it: eventStatement, eventHold) and who.
func appendHead(b []byte, now time.Time, event string, session uint64, user, database, app, client string) []byte {
	b = append(b, `{"ts":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, event...)
	b = appendUint(b, KeySession, session)
	b = appendField(b, KeyUser, user)
	b = appendField(b, KeyDatabase, database)
	b = appendField(b, KeyApplicationName, app)
	return appendField(b, KeyClientAddr, client)
}

// appendHold encodes a hold line.
func appendHold(b []byte, h *Hold, now time.Time) []byte {
	b = appendHead(b, now, eventHold, h.Session, h.User, h.Database, h.ApplicationName, h.ClientAddr)
	b = appendField(b, KeyProfile, h.Profile)
	if h.Change != "" {
		b = appendField(b, KeyChange, h.Change)
	}
	b = appendField(b, KeyOutcome, h.Outcome)
	b = appendKey(b, KeyRows)
	b = strconv.AppendInt(b, h.Rows, 10)
	if h.Tables != "" {
		b = appendField(b, KeyTables, h.Tables)
	}
	if h.Held > 0 {
		b = appendKey(b, KeyHeld)
		b = strconv.AppendFloat(b, float64(h.Held.Microseconds())/1000, 'f', -1, 64)
	}
	return append(b, '}', '\n')
}

// appendKey writes `,"key":`; keys are constants that need no escaping.
func appendKey(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendField(b []byte, key, value string) []byte {
	return appendString(appendKey(b, key), value)
}

func appendUint(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(appendKey(b, key), v, 10)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Control characters are escaped;
// bytes that are not valid UTF-8 become U+FFFD, as encoding/json does, so
// every line is valid JSON whatever a client sent.
func appendString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func decodeRune[T string | []byte](s T) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.RuneError, 1
}
