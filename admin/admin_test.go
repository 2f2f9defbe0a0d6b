package admin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestAdminRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "belay_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var readyErr error
	h := Handler(reg, func(context.Context) error { return readyErr })

	if code, body := get(t, h, "/metrics"); code != 200 || !strings.Contains(body, "belay_test_total 3") {
		t.Errorf("/metrics: %d %q", code, body)
	}
	if code, _ := get(t, h, "/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz while ready: %d", code)
	}
	readyErr = errors.New("upstream: connection refused")
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("/readyz while not ready: %d %q", code, body)
	}
}

func TestUpstreamReachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	check := UpstreamReachable(func() string { return addr })
	if err := check(context.Background()); err != nil {
		t.Fatalf("listening upstream: %v", err)
	}
	ln.Close()
	if err := check(context.Background()); err == nil {
		t.Fatal("closed upstream reported reachable")
	}
}
