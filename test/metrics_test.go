package test

// The admin port: Prometheus metrics and readiness.

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const statements = 5
	conn := connect(t, p.URL(upstreamDatabase, "postgres"))
	for i := 0; i < statements; i++ {
		if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	code, body := httpGet(t, p.AdminURL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	if n := metricSum(body, "belay_connections_total"); n < 1 {
		t.Errorf("belay_connections_total = %v after one connection, want >= 1", n)
	}
	if n := metricSum(body, "belay_statements_total"); n < statements {
		t.Errorf("belay_statements_total = %v after %d statements, want >= %d", n, statements, statements)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}

	if code, body := httpGet(t, p.AdminURL()+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with a reachable upstream: %d %s, want 200", code, body)
	}
}

// TestReadyzUpstreamDown points belay at a port where nothing listens:
// belay is alive (/healthz 200) but not ready (/readyz not 200).
func TestReadyzUpstreamDown(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startBelay(t, belayOpts{Upstream: freeAddr(t)})
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := httpGet(t, p.AdminURL()+"/readyz")
		if code != http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %q 10s after start with no upstream, want not 200", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// metricSum adds the values of every sample of the named metric (all label
// sets) in a Prometheus text exposition; -1 when there is none.
func metricSum(body, name string) float64 {
	sum, found := 0.0, false
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		if i := strings.LastIndexByte(rest, '}'); i >= 0 {
			rest = rest[i+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		sum, found = sum+v, true
	}
	if !found {
		return -1
	}
	return sum
}
