package config

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"go.yaml.in/yaml/v3"
)

// SSLModes are libpq's sslmode values that belay implements for the upstream.
var SSLModes = []string{"disable", "prefer", "require", "verify-ca", "verify-full"}

// validate checks values that decode fine but make no sense. root locates
// each field in the file so that errors carry line and column.
func (c *Config) validate(root *yaml.Node) error {
	v := validator{root: root}
	v.addr("listen", c.Listen)
	v.addr("admin_listen", c.AdminListen)
	v.addr("upstream.address", c.Upstream.Address)
	if !contains(SSLModes, c.Upstream.SSLMode) {
		v.fail("upstream.sslmode", "must be one of %s, not %q", strings.Join(SSLModes, ", "), c.Upstream.SSLMode)
	}
	if strings.HasPrefix(c.Upstream.SSLMode, "verify-") && c.Upstream.SSLRootCert != "" {
		v.file("upstream.sslrootcert", c.Upstream.SSLRootCert)
	}
	if c.Upstream.ConnectTimeout <= 0 {
		v.fail("upstream.connect_timeout", "must be positive")
	}
	if (c.ClientTLS.CertFile == "") != (c.ClientTLS.KeyFile == "") {
		v.fail("client_tls", "cert_file and key_file go together: set both or neither")
	} else if c.ClientTLS.Enabled() {
		v.file("client_tls.cert_file", c.ClientTLS.CertFile)
		v.file("client_tls.key_file", c.ClientTLS.KeyFile)
	}
	if c.Audit.Output == "" {
		v.fail("audit.output", "must be stdout, stderr, off or a file path")
	}
	if !contains([]string{"console", "json"}, c.Log.Format) {
		v.fail("log.format", "must be console or json, not %q", c.Log.Format)
	}
	if !contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		v.fail("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if c.Limits.MaxConnections <= 0 {
		v.fail("limits.max_connections", "must be positive")
	}
	// Below 64 KiB ordinary statements would not fit; PostgreSQL's own cap is 1 GiB.
	if c.Limits.MaxMessageBytes < 64<<10 || c.Limits.MaxMessageBytes > 1<<30 {
		v.fail("limits.max_message_bytes", "must be between 64KiB and 1GiB")
	}
	if c.Limits.MaxProcs < 0 {
		v.fail("limits.max_procs", "must be 0 (half the CPUs) or positive")
	}
	if c.Limits.StartupTimeout <= 0 {
		v.fail("limits.startup_timeout", "must be positive")
	}
	if c.Shutdown.DrainTimeout < 0 {
		v.fail("shutdown.drain_timeout", "must not be negative")
	}
	if c.Capture.Retention <= 0 {
		v.fail("capture.retention", "must be positive (30d, 12h, 90m)")
	}
	if c.Capture.StatsDatabaseURL != "" {
		// pgx's message could quote the text, password and all.
		if _, err := pgconn.ParseConfig(c.Capture.StatsDatabaseURL); err != nil {
			v.fail("capture.stats_database_url", "is not a PostgreSQL URL or key=value string that can be read (the text is not repeated: it may hold a password)")
		}
	}
	c.compiled = v.policy(c.PolicySpec)
	// Without parsing no rule can fire and no write can be told from a
	// read: the guard, or the holds, would be off in silence.
	switch {
	case c.Classify || c.compiled == nil:
	case c.compiled.CanBlock():
		v.fail("classify", "false checks no statement, so this policy's block actions would never apply; use it only with an audit-only policy")
	case c.compiled.CanHold():
		v.fail("classify", "false checks no statement, so this policy's holds would never apply; use it only with an audit-only policy")
	}
	if len(v.errs) == 0 {
		return nil
	}
	return &Errors{File: c.Source, List: v.errs}
}

type validator struct {
	root *yaml.Node
	errs []FieldError
}

func (v *validator) fail(field, format string, args ...any) {
	line, col := position(v.root, field)
	v.errs = append(v.errs, FieldError{Line: line, Column: col, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) addr(field, value string) {
	if _, port, err := net.SplitHostPort(value); err != nil || port == "" {
		v.fail(field, "want host:port, got %q", value)
	}
}

func (v *validator) file(field, path string) {
	if _, err := os.Stat(path); err != nil {
		v.fail(field, "%v", err)
	}
}

// position finds the line and column of a dotted key in the document; a key
// the file leaves out (its default is wrong) points at its parent, or 0.
func position(root *yaml.Node, dotted string) (int, int) {
	var path []any
	for _, key := range strings.Split(dotted, ".") {
		path = append(path, key)
	}
	return positionPath(root, path)
}

// positionPath is position for a path of mapping keys (string) and list
// indexes (int): the key's position, or the list element's.
func positionPath(root *yaml.Node, path []any) (int, int) {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line, col := 0, 0
	for _, elem := range path {
		if n != nil && n.Kind == yaml.AliasNode { // an error in shared (&anchor) text points at the anchor
			n = n.Alias
		}
		var next *yaml.Node
		switch e := elem.(type) {
		case string:
			for i := 0; n != nil && n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == e {
					line, col = n.Content[i].Line, n.Content[i].Column
					next = n.Content[i+1]
					break
				}
			}
		case int:
			if n != nil && n.Kind == yaml.SequenceNode && e < len(n.Content) {
				next = n.Content[e]
				line, col = next.Line, next.Column
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line, col
}

// hasKey reports whether the document sets the dotted key.
func hasKey(root *yaml.Node, dotted string) bool {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range strings.Split(dotted, ".") {
		if n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		var next *yaml.Node
		for i := 0; n != nil && n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Overrides are command-line values that win over the file.
type Overrides struct {
	Listen, Upstream, AdminListen string
}

// Apply returns a copy of c with the non-empty overrides set.
func (o Overrides) Apply(c *Config) (*Config, error) {
	out := *c
	v := validator{}
	if o.Listen != "" {
		out.Listen = o.Listen
		v.addr("--listen", o.Listen)
	}
	if o.Upstream != "" {
		out.Upstream.Address = o.Upstream
		v.addr("--upstream", o.Upstream)
	}
	if o.AdminListen != "" {
		out.AdminListen = o.AdminListen
		v.addr("--admin-listen", o.AdminListen)
	}
	if len(v.errs) > 0 {
		return nil, &Errors{File: "command line", List: v.errs}
	}
	return &out, nil
}
