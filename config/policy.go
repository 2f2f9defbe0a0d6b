package config

import (
	"sort"

	"github.com/belay-proxy/belay/policy"
)

// policy compiles the policy section; each of its errors gets the line and
// column of the key or list element it is about. No section is the
// built-in audit-only policy.
func (v *validator) policy(spec *policy.Spec) *policy.Policy {
	if spec == nil {
		return policy.AuditOnly()
	}
	p, errs := policy.Compile(spec)
	list := make([]FieldError, 0, len(errs))
	for _, e := range errs {
		line, col := positionPath(v.root, append([]any{"policy"}, e.Path...))
		list = append(list, FieldError{Line: line, Column: col, Field: "policy." + e.Path.String(), Message: e.Message})
	}
	// Compile reports rules: entries in name order; the file's order reads better.
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
	})
	v.errs = append(v.errs, list...)
	return p
}
