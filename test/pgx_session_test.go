package test

// pgx through belay: session behaviour that lives between the queries —
// notifications, cancellation, reported parameters, transaction state.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// TestPgxListenNotify delivers a notification to a listener that is idle,
// waiting on the socket, with no query of its own in flight.
func TestPgxListenNotify(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listener := connect(t, p.URL(upstreamDatabase, "postgres"))
	notifier := connect(t, p.URL(upstreamDatabase, "postgres"))
	channel := identName(t)

	if _, err := listener.Exec(ctx, "LISTEN "+channel); err != nil {
		t.Fatal(err)
	}
	var notifierPID uint32
	if err := notifier.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&notifierPID); err != nil {
		t.Fatal(err)
	}
	notifyErr := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond) // let the listener block first
		_, err := notifier.Exec(ctx, "SELECT pg_notify($1, $2)", channel, "payload ✓")
		notifyErr <- err
	}()

	waitCtx, waitCancel := context.WithTimeout(ctx, 5*time.Second)
	defer waitCancel()
	n, err := listener.WaitForNotification(waitCtx)
	if err != nil {
		t.Fatalf("WaitForNotification: %v", err)
	}
	if err := <-notifyErr; err != nil {
		t.Fatalf("notify: %v", err)
	}
	if n.Channel != channel || n.Payload != "payload ✓" || n.PID != notifierPID {
		t.Errorf("got notification %+v, want channel %s, payload %q, pid %d", *n, channel, "payload ✓", notifierPID)
	}
	// the listener is still in step with its server after the wait
	var one int
	if err := listener.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Errorf("query after notification: %v", err)
	}
}

// TestPgxContextCancel cancels a running pg_sleep(30) through a context, in
// both ways pgx can do it.
func TestPgxContextCancel(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})

	// pgx's default: on cancel, set a deadline on the socket, which breaks
	// the read, and close the connection.
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		conn := connect(t, p.URL(upstreamDatabase, "postgres"))
		err := sleepWithTimeout(t, conn)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want context.DeadlineExceeded", err)
		}
		if !conn.IsClosed() {
			t.Errorf("connection still open after a deadline cancel")
		}
		fresh := connect(t, p.URL(upstreamDatabase, "postgres"))
		var one int
		if err := fresh.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
			t.Errorf("new connection after cancel: %v", err)
		}
	})

	// CancelRequestContextWatcherHandler: pgx sends a CancelRequest, which
	// belay must route to this session's backend; the server answers 57014
	// and the connection stays usable.
	t.Run("cancel request", func(t *testing.T) {
		t.Parallel()
		conn := connectWith(t, p.URL(upstreamDatabase, "postgres"), func(c *pgx.ConnConfig) {
			c.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
				return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
			}
		})
		err := sleepWithTimeout(t, conn)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
			t.Fatalf("error %v, want 57014 (canceling statement due to user request)", err)
		}
		var one int
		if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Errorf("query after cancel: %d, %v", one, err)
		}
	})
}

// sleepWithTimeout runs pg_sleep(30) with a 500 ms context and checks it
// returns within 5 s.
func sleepWithTimeout(t *testing.T, conn *pgx.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := conn.Exec(ctx, "SELECT pg_sleep(30)")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("pg_sleep(30) with a 500ms context returned after %v, want < 5s", took)
	}
	if err == nil {
		t.Fatal("pg_sleep(30) with a 500ms context succeeded")
	}
	return err
}

// TestPgxParameterStatus checks that ParameterStatus messages reach the
// client: at startup, after SET, and after a ROLLBACK undoes a SET.
func TestPgxParameterStatus(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := connectWith(t, p.URL(upstreamDatabase, "postgres"), func(c *pgx.ConnConfig) {
		c.RuntimeParams["application_name"] = "belay-start"
	})
	status := func(name, want string) {
		t.Helper()
		if got := conn.PgConn().ParameterStatus(name); got != want {
			t.Errorf("ParameterStatus(%q) = %q, want %q", name, got, want)
		}
	}
	status("application_name", "belay-start")
	if conn.PgConn().ParameterStatus("server_version") == "" {
		t.Errorf("no server_version reported")
	}

	if _, err := conn.Exec(ctx, "SET application_name = 'belay-changed'"); err != nil {
		t.Fatal(err)
	}
	status("application_name", "belay-changed")
	if _, err := conn.Exec(ctx, "SET TimeZone = 'Asia/Tokyo'"); err != nil {
		t.Fatal(err)
	}
	status("TimeZone", "Asia/Tokyo")

	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET application_name = 'belay-in-tx'"); err != nil {
		t.Fatal(err)
	}
	status("application_name", "belay-in-tx")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	status("application_name", "belay-changed")
}

// TestPgxTxAborted checks transaction state: after an error inside BEGIN,
// every statement fails with 25P02 until ROLLBACK, which discards the work.
func TestPgxTxAborted(t *testing.T) {
	t.Parallel()
	ctx, conn, tbl := tableThroughBelay(t, "id int")
	txStatus := func(want byte) {
		t.Helper()
		if got := conn.PgConn().TxStatus(); got != want {
			t.Errorf("TxStatus %q, want %q", got, want)
		}
	}
	code := func(err error) string {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return pgErr.Code
		}
		return ""
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txStatus('T')
	if _, err := tx.Exec(ctx, "INSERT INTO "+tbl+" VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1/0"); code(err) != "22012" {
		t.Errorf("SELECT 1/0: %v, want 22012", err)
	}
	txStatus('E')
	if _, err := tx.Exec(ctx, "SELECT 1"); code(err) != "25P02" {
		t.Errorf("SELECT 1 in failed tx: %v, want 25P02", err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol); code(err) != "25P02" {
		t.Errorf("SELECT 1 (simple protocol) in failed tx: %v, want 25P02", err)
	}
	txStatus('E')
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	txStatus('I')

	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil || n != 0 {
		t.Errorf("after rollback: %d rows, %v; want 0", n, err)
	}
}
