package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "0d": 0, "12h": 12 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "3x", "-5h", "1.5d", "30", "99999999999d"} {
		if _, err := ParseAge(bad); err == nil {
			t.Errorf("ParseAge(%q) passed", bad)
		}
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{720 * time.Hour: "30d", 12 * time.Hour: "12h", 90 * time.Minute: "90m", 0: "0d", 1500 * time.Millisecond: "1.5s"} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseAge(FormatAge(d)); err != nil || back != d {
			t.Errorf("ParseAge(FormatAge(%v)) = %v, %v", d, back, err)
		}
	}
}

// The capture section: its values, its default, and whether the file set
// the retention (belay purge says where its retention came from).
func TestParseCapture(t *testing.T) {
	cfg, err := Parse(strings.NewReader("capture:\n  retention: 12h\n  stats_database_url: postgres://stats:secret@db:5432/shop\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Capture.Retention != Age(12*time.Hour) || cfg.Capture.StatsDatabaseURL != "postgres://stats:secret@db:5432/shop" {
		t.Fatalf("capture = %+v", cfg.Capture)
	}
	if !cfg.InFile("capture.retention") || cfg.InFile("capture.nope") || cfg.InFile("log.level") {
		t.Fatal("InFile is wrong")
	}
	empty, err := Parse(strings.NewReader("log:\n  level: info\n"), "e.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if empty.Capture.Retention != Age(DefaultRetention) || empty.Capture.Retention.String() != "30d" || empty.InFile("capture.retention") {
		t.Fatalf("default capture = %+v", empty.Capture)
	}
	if Default().InFile("capture.retention") {
		t.Fatal("a default configuration claims a key from a file")
	}
}

func TestParseCaptureErrors(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want wantErr
	}{
		{"capture:\n  retention: soon\n", wantErr{2, 3, "capture.retention", `"soon" is not a duration`}},
		{"capture:\n  retention: 30\n", wantErr{2, 3, "capture.retention", `"30" is not a duration`}},
		{"capture:\n  retention: 0d\n", wantErr{2, 3, "capture.retention", "must be positive"}},
		{"capture:\n  retension: 30d\n", wantErr{2, 3, "capture.retension", "unknown key"}},
		{"capture:\n  stats_database_url: \"postgres://stats:hunter2@db:notaport/shop\"\n", wantErr{2, 3, "capture.stats_database_url", "not a PostgreSQL URL"}},
	} {
		_, err := Parse(strings.NewReader(tc.doc), "bad.yaml")
		var ce *Errors
		if !errors.As(err, &ce) || len(ce.List) != 1 {
			t.Fatalf("%q: %v, want one error", tc.doc, err)
		}
		g, w := ce.List[0], tc.want
		if g.Line != w.line || g.Column != w.col || g.Field != w.field || !strings.Contains(g.Message, w.msg) {
			t.Errorf("%q: %+v, want %+v", tc.doc, g, w)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
