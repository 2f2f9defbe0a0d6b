// Package config loads and validates belay's YAML configuration file.
//
// Loading is three steps, as in litestream: Default, Parse (strict: unknown
// keys are errors), then Validate. Every error names the file, line and
// column of the offending key so that `belay check-config` can point at it.
package config

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/belay-proxy/belay/policy"
)

// Config is one immutable snapshot of the configuration. A reload builds a
// new snapshot and swaps it in atomically; nothing mutates a snapshot.
type Config struct {
	Listen      string    `yaml:"listen"`
	AdminListen string    `yaml:"admin_listen"`
	Upstream    Upstream  `yaml:"upstream"`
	ClientTLS   ClientTLS `yaml:"client_tls"`
	// Classify parses every statement (through the cache) so the audit line
	// carries a fingerprint and normalised text. false = a pure relay, the
	// benchmark's baseline.
	Classify bool `yaml:"classify"`
	// EventLoop relays authenticated plain-TCP sessions on epoll event
	// loops instead of two goroutines each: the same work for about half
	// the CPU. TLS sessions always use goroutines.
	EventLoop bool     `yaml:"event_loop"`
	Audit     Audit    `yaml:"audit"`
	Log       Log      `yaml:"log"`
	Limits    Limits   `yaml:"limits"`
	Shutdown  Shutdown `yaml:"shutdown"`
	Metrics   Metrics  `yaml:"metrics"`
	Capture   Capture  `yaml:"capture"`
	// PolicySpec is the policy section as written (docs/policy.md); nil
	// when the file has none. The relay uses the compiled form, Policy().
	PolicySpec *policy.Spec `yaml:"policy"`

	// Source is the file the snapshot came from ("" for defaults).
	Source string `yaml:"-"`

	// compiled is PolicySpec compiled by Parse's validation.
	compiled *policy.Policy
	// root is the document Parse read, so InFile can tell a value the
	// file sets from a default.
	root *yaml.Node
}

// InFile reports whether the file sets the dotted key (capture.retention),
// rather than leaving it to its default.
func (c *Config) InFile(dotted string) bool {
	return hasKey(c.root, dotted)
}

// Policy is the compiled policy the relay decides with. Parse and Load
// compile it from the policy section; without one (or for a Config not
// built by Parse, such as Default()) it is the built-in audit-only policy,
// which blocks nothing. Never nil.
func (c *Config) Policy() *policy.Policy {
	if c.compiled == nil {
		return policy.AuditOnly()
	}
	return c.compiled
}

// Upstream is the PostgreSQL server belay relays to.
type Upstream struct {
	Address        string        `yaml:"address"`
	SSLMode        string        `yaml:"sslmode"`
	SSLRootCert    string        `yaml:"sslrootcert"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
}

// ClientTLS is the certificate belay presents to clients that send an
// SSLRequest. Empty means belay answers 'N' (no TLS).
type ClientTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether clients may negotiate TLS with belay.
func (t ClientTLS) Enabled() bool { return t.CertFile != "" }

// Audit configures the one-JSON-line-per-statement audit trail.
type Audit struct {
	// Output is stdout, stderr, off, or a file path (appended to).
	Output string `yaml:"output"`
	// Literals keeps raw statement text in the audit line. The data is
	// sensitive, so the default is the normalised text only.
	Literals bool `yaml:"literals"`
}

// Log configures belay's own operational log (always on stderr).
type Log struct {
	Format string `yaml:"format"`
	Level  string `yaml:"level"`
}

// Limits bound what one client can make belay do.
type Limits struct {
	MaxConnections  int           `yaml:"max_connections"`
	MaxMessageBytes ByteSize      `yaml:"max_message_bytes"`
	StartupTimeout  time.Duration `yaml:"startup_timeout"`
	// MaxProcs caps the CPUs belay's relay runs on (GOMAXPROCS). 0 means
	// half the machine's CPUs, at least one: belay usually shares the
	// machine with PostgreSQL, and every CPU it takes is one the server
	// lacks. The GOMAXPROCS environment variable, when set, wins.
	MaxProcs int `yaml:"max_procs"`
}

// Metrics configures what the admin port's metrics may reveal.
type Metrics struct {
	// PerUser also counts blocked statements by user name
	// (belay_blocked_by_user_total). Off by default: user names are
	// unbounded label values and may be sensitive.
	PerUser bool `yaml:"per_user"`
}

// Capture configures what belay does with its records of changes in the
// database (docs/capture.md).
type Capture struct {
	// Retention is how long before-images and quarantined tables are
	// kept: `belay purge` without --older-than drops what is older.
	Retention Age `yaml:"retention"`
	// StatsDatabaseURL, when set, is where `belay serve` reads its
	// records for /metrics (belay relays logins and has no credentials of
	// its own): a URL or key=value string whose role is a member of
	// belay_undo. The password comes from it or from PGPASSFILE/.pgpass;
	// it is never logged.
	StatsDatabaseURL string `yaml:"stats_database_url"`
}

// DefaultRetention is capture.retention when the file does not say.
const DefaultRetention = 30 * 24 * time.Hour

// Shutdown configures SIGTERM handling.
type Shutdown struct {
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// Defaults for the listen addresses, documented in the README.
const (
	DefaultListen      = "127.0.0.1:6432"
	DefaultAdminListen = "127.0.0.1:9632"
	DefaultUpstream    = "127.0.0.1:5432"
)

// Default returns the configuration used for every key a file leaves out.
func Default() *Config {
	return &Config{
		Listen:      DefaultListen,
		AdminListen: DefaultAdminListen,
		Upstream: Upstream{
			Address:        DefaultUpstream,
			SSLMode:        "prefer",
			ConnectTimeout: 5 * time.Second,
		},
		Classify:  true,
		EventLoop: true,
		Audit:     Audit{Output: "stdout"},
		Log:       Log{Format: "console", Level: "info"},
		Limits: Limits{
			MaxConnections:  1000,
			MaxMessageBytes: 256 << 20,
			StartupTimeout:  10 * time.Second,
		},
		Shutdown: Shutdown{DrainTimeout: 30 * time.Second},
		Capture:  Capture{Retention: Age(DefaultRetention)},
	}
}
