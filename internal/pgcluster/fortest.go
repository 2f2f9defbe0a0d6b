package pgcluster

import (
	"context"
	"errors"
	"testing"
	"time"
)

// ForTest starts a cluster for t, skips t when no PostgreSQL binaries are
// installed, fails it on any other error, and closes the cluster when t ends.
func ForTest(t testing.TB, opts Options) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, opts)
	if errors.Is(err, ErrNoBinaries) {
		t.Skipf("no PostgreSQL to start: %v", err)
	}
	if err != nil {
		t.Fatalf("start PostgreSQL cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close PostgreSQL cluster: %v", err)
		}
	})
	return c
}
