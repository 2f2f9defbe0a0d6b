package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem in a configuration file, with its position.
type FieldError struct {
	Line, Column int
	Field        string // dotted path, e.g. upstream.sslmode
	Message      string
}

func (e FieldError) String() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in one file; check-config prints them all.
type Errors struct {
	File string
	List []FieldError
}

func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, fe := range e.List {
		lines[i] = e.File + ": " + fe.String()
	}
	return strings.Join(lines, "\n")
}
