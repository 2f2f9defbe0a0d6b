package test

// belay killed with holds open: nothing of them may land. A held change
// is an open transaction on PostgreSQL; when belay dies its upstream
// connections close and PostgreSQL rolls every one back.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestHoldKill9: 20 connections each hold an UPDATE of a row of their own
// (every exec mode); belay is killed with SIGKILL; once PostgreSQL has
// closed their backends, none of the 20 rows changed and none is locked.
func TestHoldKill9(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	for _, relay := range relays {
		t.Run(relay.name, func(t *testing.T) {
			t.Parallel()
			holdKill9(t, relay.noEventLoop)
		})
	}
}

func holdKill9(t *testing.T, noEventLoop bool) {
	const holds = 20
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong, NoEventLoop: noEventLoop})
	tbl := holdTable(t, holds)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	conns := make([]*pgx.Conn, holds)
	logs := make([]*noticeLog, holds)
	pids := make([]int32, holds)
	for i := range conns {
		conns[i], logs[i] = holdConn(t, p, execModes[i%len(execModes)])
		pids[i] = int32(holdBackendPID(t, conns[i]))
	}
	// The 20 UPDATEs at once.
	var wg sync.WaitGroup
	errs := make([]error, holds)
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tag, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = $1 WHERE id = $2", fmt.Sprintf("held %d", i), i+1)
			if err == nil && tag.String() != "UPDATE 1" {
				err = fmt.Errorf("tag %q, want UPDATE 1", tag)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, conn := range conns {
		if errs[i] != nil {
			t.Fatalf("connection %d (%v): %v", i, conn.Config().DefaultQueryExecMode, errText(errs[i]))
		}
		requireStatus(t, conn, 'T', fmt.Sprintf("connection %d after its UPDATE", i))
		if ns := logs[i].belayNotices(); len(ns) != 1 || !strings.Contains(ns[0].Message, " is held: 1 row changed") {
			t.Fatalf("connection %d: want the held NOTICE, got %s", i, describeNotices(ns))
		}
	}
	waitMetric(t, p, "belay_holds_open", holds, 5*time.Second)
	if n := directInt(t, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) AND state = 'idle in transaction'", pids); n != holds {
		t.Fatalf("%d of the %d backends are idle in transaction, want all: the holds are open transactions", n, holds)
	}

	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(5 * time.Second); !p.exited() {
		t.Fatalf("belay still running after SIGKILL: %v", err)
	}
	// PostgreSQL sees the connections close and rolls back.
	if !waitFor(10*time.Second, func() bool {
		return directInt(t, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids) == 0
	}) {
		t.Fatalf("%d of the held backends are still there 10s after belay was killed",
			directInt(t, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids))
	}
	if n := notesNot(t, tbl); n != 0 {
		t.Fatalf("%d of the %d held rows changed after belay was killed, want 0", n, holds)
	}
	for id := 1; id <= holds; id++ {
		requireUnlocked(t, tbl, id)
	}
	// The clients learn that their connection is gone.
	for i, conn := range conns {
		qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := conn.Exec(qctx, "COMMIT")
		qcancel()
		if err == nil {
			t.Fatalf("connection %d: COMMIT succeeded after belay was killed", i)
		}
	}
	if n := notesNot(t, tbl); n != 0 {
		t.Fatalf("%d rows changed after the clients' COMMIT, want 0", n)
	}
}
