package testpg

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var freshSeq atomic.Int64

// FreshDatabase creates an empty database for one test, drops it when the
// test ends, and returns its DSN.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	addr := Upstream(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, DSN(addr, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("belay_test_%d_%d", time.Now().UnixNano(), freshSeq.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(context.Background())
	})
	return DSN(addr, name)
}
