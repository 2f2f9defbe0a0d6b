package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sameConfig compares configurations without the compiled policy, which
// has no exported fields; policy_test.go checks it through Policy().
var sameConfig = cmpopts.IgnoreUnexported(Config{})

// TestLoadShippedConfigs checks every key but the policy section, which
// TestShippedPolicies checks.
func TestLoadShippedConfigs(t *testing.T) {
	tests := []struct {
		path string
		want func(*Config)
	}{
		{"../configs/audit-only.yaml", func(c *Config) {
			c.Upstream.SSLMode = "disable"
			c.Log.Format = "json"
		}},
		{"../configs/belay.yaml", func(c *Config) {}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			got, err := Load(tc.path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := Default()
			want.Source = tc.path
			tc.want(want)
			if d := cmp.Diff(want, got, sameConfig, cmpopts.IgnoreFields(Config{}, "PolicySpec")); d != "" {
				t.Errorf("Load(%s) mismatch (-want +got):\n%s", tc.path, d)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want an os.ErrNotExist", err)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, doc := range []string{"", "\n", "# only a comment\n", "---\n"} {
		got, err := Parse(strings.NewReader(doc), "empty.yaml")
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		want := Default()
		want.Source = "empty.yaml"
		if d := cmp.Diff(want, got, sameConfig); d != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", doc, d)
		}
	}
}

func TestParseValues(t *testing.T) {
	doc := `
listen: 0.0.0.0:7000
upstream:
  address: db.internal:5433
  connect_timeout: 1m30s
classify: false
audit: {output: /var/log/belay.jsonl, literals: true}
limits:
  max_message_bytes: 64KiB
  startup_timeout: 250ms
shutdown:
  drain_timeout: 0s
`
	got, err := Parse(strings.NewReader(doc), "v.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Default()
	want.Source = "v.yaml"
	want.Listen = "0.0.0.0:7000"
	want.Upstream.Address = "db.internal:5433"
	want.Upstream.ConnectTimeout = 90 * time.Second
	want.Classify = false
	want.Audit = Audit{Output: "/var/log/belay.jsonl", Literals: true}
	want.Limits.MaxMessageBytes = 64 << 10
	want.Limits.StartupTimeout = 250 * time.Millisecond
	want.Shutdown.DrainTimeout = 0
	if d := cmp.Diff(want, got, sameConfig); d != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", d)
	}
}

// wantErr is one expected FieldError; msg is a substring of its Message.
type wantErr struct {
	line, col int
	field     string
	msg       string
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []wantErr
	}{
		{"unknown top-level key", "listen: 127.0.0.1:6432\nbogus: 1\n",
			[]wantErr{{2, 1, "bogus", "unknown key"}}},
		{"unknown nested key", "upstream:\n  adress: x\n",
			[]wantErr{{2, 3, "upstream.adress", "unknown key"}}},
		{"unknown key in flow mapping", "upstream: {adress: x}\n",
			[]wantErr{{1, 12, "upstream.adress", "unknown key"}}},
		{"several unknown keys", "bogus: 1\nupstream:\n  adress: x\nlog:\n  formt: json\n",
			[]wantErr{{1, 1, "bogus", "unknown key"}, {3, 3, "upstream.adress", "unknown key"}, {5, 3, "log.formt", "unknown key"}}},
		{"decode errors together", "limits:\n  max_message_bytes: 12XB\n  max_connections: abc\nfoo: 1\n",
			[]wantErr{
				{2, 3, "limits.max_message_bytes", `invalid size "12XB"`},
				{3, 3, "limits.max_connections", "cannot unmarshal"},
				{4, 1, "foo", "unknown key"},
			}},
		{"validation errors together", "upstream:\n  sslmode: bogus\nlisten: 127.0.0.1\nshutdown:\n  drain_timeout: -5s\n",
			[]wantErr{
				{3, 1, "listen", `want host:port, got "127.0.0.1"`},
				{2, 3, "upstream.sslmode", `not "bogus"`},
				{5, 3, "shutdown.drain_timeout", "must not be negative"},
			}},
		{"sslmode", "upstream:\n  address: 127.0.0.1:5432\n  sslmode: sometimes\n",
			[]wantErr{{3, 3, "upstream.sslmode", "must be one of disable, prefer"}}},
		{"listen without port", "listen: localhost\n",
			[]wantErr{{1, 1, "listen", "want host:port"}}},
		{"admin_listen without port", "admin_listen: 9632\n",
			[]wantErr{{1, 1, "admin_listen", "want host:port"}}},
		{"negative drain", "shutdown:\n  drain_timeout: -1s\n",
			[]wantErr{{2, 3, "shutdown.drain_timeout", "must not be negative"}}},
		{"zero connect timeout", "upstream:\n  connect_timeout: 0s\n",
			[]wantErr{{2, 3, "upstream.connect_timeout", "must be positive"}}},
		{"duration without unit", "upstream:\n  connect_timeout: 5\n",
			[]wantErr{{2, 3, "upstream.connect_timeout", "time.Duration"}}},
		{"duration nonsense", "limits:\n  startup_timeout: soon\n",
			[]wantErr{{2, 3, "limits.startup_timeout", "time.Duration"}}},
		{"message bytes too small", "limits:\n  max_message_bytes: 32KiB\n",
			[]wantErr{{2, 3, "limits.max_message_bytes", "between 64KiB and 1GiB"}}},
		{"message bytes too large", "limits:\n  max_message_bytes: 2GiB\n",
			[]wantErr{{2, 3, "limits.max_message_bytes", "between 64KiB and 1GiB"}}},
		{"message bytes bad unit", "limits:\n  max_message_bytes: 12XB\n",
			[]wantErr{{2, 3, "limits.max_message_bytes", `invalid size "12XB"`}}},
		{"cert without key", "client_tls:\n  cert_file: /etc/belay/cert.pem\n",
			[]wantErr{{1, 1, "client_tls", "set both or neither"}}},
		{"key without cert", "client_tls:\n  key_file: /etc/belay/key.pem\n",
			[]wantErr{{1, 1, "client_tls", "set both or neither"}}},
		{"cert file missing", "client_tls:\n  cert_file: testdata/none.pem\n  key_file: testdata/none.key\n",
			[]wantErr{{2, 3, "client_tls.cert_file", "no such file"}, {3, 3, "client_tls.key_file", "no such file"}}},
		{"log format", "log:\n  level: info\n  format: bogus\n",
			[]wantErr{{3, 3, "log.format", `not "bogus"`}}},
		{"log level", "log:\n  level: loud\n",
			[]wantErr{{2, 3, "log.level", `not "loud"`}}},
		{"empty audit output", "audit:\n  output: \"\"\n",
			[]wantErr{{2, 3, "audit.output", "must be stdout"}}},
		{"mapping where a string goes", "listen:\n  host: x\n",
			[]wantErr{{1, 1, "listen", "cannot unmarshal !!map"}}},
		{"not a mapping", "hello\n",
			[]wantErr{{1, 0, "", "cannot unmarshal"}}},
		{"syntax error", "listen: [unterminated\n",
			[]wantErr{{1, 0, "", "did not find expected"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(tc.doc), "bad.yaml")
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want errors %v", tc.doc, tc.want)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config together with an error")
			}
			var ce *Errors
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not *Errors", err, err)
			}
			if ce.File != "bad.yaml" {
				t.Errorf("File = %q, want bad.yaml", ce.File)
			}
			if len(ce.List) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(ce.List), len(tc.want), err)
			}
			for i, w := range tc.want {
				g := ce.List[i]
				if g.Line != w.line || g.Column != w.col || g.Field != w.field || !strings.Contains(g.Message, w.msg) {
					t.Errorf("error %d = %+v, want line %d column %d field %q message containing %q",
						i, g, w.line, w.col, w.field, w.msg)
				}
			}
			// The rendered text is what check-config prints: one line per error.
			if lines := strings.Split(err.Error(), "\n"); len(lines) != len(tc.want) ||
				!strings.HasPrefix(lines[0], "bad.yaml: line ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestFieldErrorString(t *testing.T) {
	tests := []struct {
		fe   FieldError
		want string
	}{
		{FieldError{Line: 2, Column: 3, Field: "upstream.adress", Message: "unknown key"}, "line 2, column 3: upstream.adress: unknown key"},
		{FieldError{Line: 4, Message: "did not find expected key"}, "line 4: did not find expected key"},
		{FieldError{Field: "--listen", Message: "want host:port"}, "--listen: want host:port"},
	}
	for _, tc := range tests {
		if got := tc.fe.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{"512", 512, false},
		{"0", 0, false},
		{"64KiB", 64 << 10, false},
		{"256MiB", 256 << 20, false},
		{"1GiB", 1 << 30, false},
		{"10kB", 10 << 10, false},
		{"10MB", 10 << 20, false},
		{"2GB", 2 << 30, false},
		{"100B", 100, false},
		{" 3 KiB", 3 << 10, false},
		{"7 MiB ", 7 << 20, false},
		{"-1", 0, true},
		{"-1KiB", 0, true},
		{"x", 0, true},
		{"", 0, true},
		{"KiB", 0, true},
		{"1.5GiB", 0, true},
		{"12XB", 0, true},
		{"10kib", 0, true},
		{"9223372036854775807", 1<<63 - 1, false},
		{"8589934592GiB", 0, true},  // 2^63: overflows int64
		{"17179869184GiB", 0, true}, // 2^64: would wrap to 0
	}
	for _, tc := range tests {
		got, err := ParseByteSize(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseByteSize(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), "invalid size") {
				t.Errorf("ParseByteSize(%q) error = %q, want it to say invalid size", tc.in, err)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestByteSizeYAMLInteger(t *testing.T) {
	cfg, err := Parse(strings.NewReader("limits:\n  max_message_bytes: 1048576\n"), "int.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.MaxMessageBytes != 1<<20 {
		t.Errorf("max_message_bytes = %d, want %d", cfg.Limits.MaxMessageBytes, 1<<20)
	}
}

func TestOverridesApply(t *testing.T) {
	tests := []struct {
		name    string
		o       Overrides
		want    func(*Config)
		wantErr []string // fields named in the error, in order
	}{
		{"none", Overrides{}, func(*Config) {}, nil},
		{"all flags win", Overrides{Listen: ":7000", Upstream: "db:5433", AdminListen: "0.0.0.0:9000"}, func(c *Config) {
			c.Listen, c.Upstream.Address, c.AdminListen = ":7000", "db:5433", "0.0.0.0:9000"
		}, nil},
		{"upstream only", Overrides{Upstream: "[::1]:5432"}, func(c *Config) { c.Upstream.Address = "[::1]:5432" }, nil},
		{"bad listen", Overrides{Listen: "localhost"}, nil, []string{"--listen"}},
		{"bad upstream and admin", Overrides{Upstream: "db", AdminListen: "9632"}, nil, []string{"--upstream", "--admin-listen"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig, err := Load("../configs/belay.yaml")
			if err != nil {
				t.Fatal(err)
			}
			before := *orig
			got, err := tc.o.Apply(orig)
			if d := cmp.Diff(&before, orig, sameConfig); d != "" {
				t.Errorf("Apply mutated its argument (-before +after):\n%s", d)
			}
			if tc.wantErr != nil {
				var ce *Errors
				if !errors.As(err, &ce) || got != nil {
					t.Fatalf("Apply = %v, %v; want nil and *Errors", got, err)
				}
				var fields []string
				for _, fe := range ce.List {
					fields = append(fields, fe.Field)
				}
				if d := cmp.Diff(tc.wantErr, fields); d != "" || ce.File != "command line" {
					t.Errorf("error %q: fields mismatch (-want +got):\n%s", err, d)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := before
			tc.want(&want)
			if d := cmp.Diff(&want, got, sameConfig); d != "" {
				t.Errorf("Apply mismatch (-want +got):\n%s", d)
			}
			if got == orig {
				t.Error("Apply returned its argument, want a copy")
			}
		})
	}
}
