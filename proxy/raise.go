package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// raiseMarker tags the errors PostgreSQL raises for belay (in the
// ErrorResponse's schema field), so the server→client direction can tell
// them from the server's own errors, whatever the timing. It is random per
// process: no table's schema carries it.
var raiseMarker = randomName("belay-raise-")

// randomName is prefix and 16 random hex digits: a name no client's
// statement or schema carries.
func randomName(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// raiseQuery is a Query message that makes PostgreSQL raise the refusal as
// its own error.
func raiseQuery(r *Refusal) []byte { return queryMessage(raiseStatement(r)) }

// raiseStatement is the DO block that raises the refusal. E” strings
// escape the same whatever standard_conforming_strings says.
func raiseStatement(r *Refusal) string {
	var b strings.Builder
	b.WriteString("RAISE EXCEPTION USING ERRCODE = ")
	b.WriteString(sqlString(r.SQLState))
	b.WriteString(", MESSAGE = ")
	b.WriteString(sqlString("belay: " + r.Message))
	if r.Detail != "" {
		b.WriteString(", DETAIL = ")
		b.WriteString(sqlString(r.Detail))
	}
	if r.Hint != "" {
		b.WriteString(", HINT = ")
		b.WriteString(sqlString(r.Hint))
	}
	b.WriteString(", SCHEMA = ")
	b.WriteString(sqlString(raiseMarker))
	body := b.String()
	tag := "$belay$"
	for strings.Contains(body, tag) {
		tag = tag[:len(tag)-1] + "_$"
	}
	return "DO " + tag + " BEGIN " + body + "; END " + tag
}

// queryMessage wraps SQL text in a Query message.
func queryMessage(text string) []byte {
	msg := make([]byte, 5, 5+len(text)+1)
	msg[0] = 'Q'
	binary.BigEndian.PutUint32(msg[1:], uint32(4+len(text)+1))
	msg = append(msg, text...)
	return append(msg, 0)
}

func sqlString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `''`)
	s = strings.ReplaceAll(s, "\x00", "")
	return "E'" + s + "'"
}

// unmarkRaise returns the client's copy of an ErrorResponse PostgreSQL
// raised for belay: without the marker and without the CONTEXT line
// ("PL/pgSQL function inline_code_block …"), which would only confuse.
// ok is false for any other error.
func unmarkRaise(msg []byte) (out []byte, ok bool) {
	fields := msg[headerLen:]
	marker := append([]byte{'s'}, raiseMarker...)
	if !bytes.Contains(fields, marker) {
		return nil, false
	}
	out = append(make([]byte, 0, len(msg)), msg[:headerLen]...)
	for len(fields) > 0 && fields[0] != 0 {
		end := bytes.IndexByte(fields, 0)
		if end < 0 {
			return nil, false
		}
		field := fields[:end+1]
		fields = fields[end+1:]
		if field[0] == 'W' || (field[0] == 's' && string(field[1:end]) == raiseMarker) {
			continue
		}
		out = append(out, field...)
	}
	out = append(out, 0)
	binary.BigEndian.PutUint32(out[1:], uint32(len(out)-1))
	return out, true
}
