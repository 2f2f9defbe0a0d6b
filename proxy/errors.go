package proxy

import (
	"github.com/jackc/pgx/v5/pgproto3"
)

// clientError is an error that belay reports to the client itself, as a
// FATAL ErrorResponse with a SQLSTATE, before closing that one connection.
type clientError struct {
	code    string // SQLSTATE
	message string
	detail  string
	hint    string
}

func (e *clientError) Error() string { return e.message }

func protocolViolation(msg string) *clientError {
	return &clientError{code: "08P01", message: msg}
}

// encodeError builds an ErrorResponse whose message starts with "belay:",
// so a person or a program can tell belay's errors from PostgreSQL's.
func encodeError(severity string, e *clientError) []byte {
	msg := &pgproto3.ErrorResponse{
		Severity:            severity,
		SeverityUnlocalized: severity,
		Code:                e.code,
		Message:             "belay: " + e.message,
		Detail:              e.detail,
		Hint:                e.hint,
	}
	b, err := msg.Encode(nil)
	if err != nil { // only fails for fields over 1 GB, which belay never builds
		panic(err)
	}
	return b
}
