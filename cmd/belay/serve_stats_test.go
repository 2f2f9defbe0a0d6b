package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// upValue is belay_capture_stats_up in reg, or -1 when it is not there.
func upValue(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "belay_capture_stats_up" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// capture.stats_database_url set registers the collector; a reload may
// change it or take it away; the password is never logged, a failed read
// is.
func TestServeCaptureStats(t *testing.T) {
	url, _ := capturedDB(t)
	withPassword := strings.Replace(url, "postgres@", "postgres:hunter2@", 1)
	missing := strings.Replace(url, "/belay_test_", "/no_such_belay_test_", 1)
	core, logs := observer.New(zap.InfoLevel)
	reg := prometheus.NewRegistry()
	s := &captureStats{reg: reg, log: zap.New(core)}
	defer s.close()

	for i, step := range []struct {
		url string
		up  float64
	}{
		{"", -1},
		{withPassword, 1},
		{withPassword, 1}, // a reload that leaves it alone
		{missing, 0},
		{"", -1},
		{url, 1},
	} {
		if err := s.apply(step.url); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := upValue(t, reg); got != step.up {
			t.Fatalf("step %d (%s): belay_capture_stats_up %v, want %v", i, step.url, got, step.up)
		}
	}
	var text []string
	for _, e := range logs.All() {
		text = append(text, fmt.Sprint(e.Message, e.ContextMap()))
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{"capture stats on /metrics", "capture stats unavailable", "no_such_belay_test_", "capture stats off"} {
		if !strings.Contains(all, want) {
			t.Errorf("log does not say %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "hunter2") {
		t.Errorf("the log shows the password:\n%s", all)
	}
	if n := logs.FilterMessage("capture stats on /metrics").Len(); n != 3 {
		t.Errorf("%d collectors registered, want 3 (a reload with the same URL keeps it)", n)
	}
}
