package proxy

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/belay-proxy/belay/capture"
	"github.com/belay-proxy/belay/config"
	"github.com/belay-proxy/belay/internal/testpg"
)

// capturingHolder is holder for a profile that captures: sessions start
// with capture on, as the Guard starts them.
type capturingHolder struct{ holder }

func (capturingHolder) StartupParams(*SessionInfo) map[string]string {
	return map[string]string{captureSetting: "on"}
}

// Inspect is holder's, with the text to record, as the Guard gives it.
func (c capturingHolder) Inspect(info *SessionInfo, st *Statement) Verdict {
	v := c.holder.Inspect(info, st)
	v.Hold.Statements, v.Hold.TextHash = append([]byte(nil), st.Text...), textHash(st.Text) // st.Text is the read buffer
	return v
}

// capturedTable creates a fresh database after belay init, with a table
// of ten rows (holdTable's) that has capture on; it returns the
// database's name and a direct connection to it.
func capturedTable(t *testing.T, table string) (string, *pgx.Conn) {
	t.Helper()
	cfg, err := pgx.ParseConfig(testpg.FreshDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	direct := holdTableIn(t, cfg.Database, table)
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	ctx := context.Background()
	if _, err := capture.Init(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := capture.Enable(ctx, db, []string{table}); err != nil {
		t.Fatal(err)
	}
	return cfg.Database, direct
}

// A capturing profile records each held change in belay.changes (its id
// names the change) and keeps the before-images; a write to a table
// without capture triggers is rolled back.
func TestHoldCaptures(t *testing.T) { transports(t, testHoldCaptures) }

func testHoldCaptures(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	database, direct := capturedTable(t, table)
	bare := holdTableIn(t, database, table+"_bare")
	ctx := context.Background()
	p := holdingProfile(time.Minute)
	p.Capture = true
	ts := startServerWith(t, tweak, capturingHolder{holder{p}})
	inDatabase := func(c *pgx.ConnConfig) { c.Database = database }
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		var mu sync.Mutex
		var notices []string
		conn := ts.connect(t, inDatabase, func(c *pgx.ConnConfig) {
			c.DefaultQueryExecMode = mode
			c.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
				mu.Lock()
				notices = append(notices, n.Message+"\n"+n.Detail)
				mu.Unlock()
			}
		})
		update := "UPDATE " + table + " SET note = 'c' WHERE id <= $1"
		if _, err := conn.Exec(ctx, update, 2); err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		mu.Lock()
		m := regexp.MustCompile(`change (\d+) is held: 2 rows changed`).FindStringSubmatch(strings.Join(notices, "\n"))
		mu.Unlock()
		if m == nil || !strings.Contains(strings.Join(notices, "\n"), "First rows:\npublic."+table+" (1) updated: note\npublic."+table+" (2) updated: note") {
			t.Fatalf("%v: notices %q", mode, notices)
		}
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			t.Fatal(err)
		}
		var rows string
		var images int64
		var hashes []string
		err := direct.QueryRow(ctx, "SELECT c.rows::text, (SELECT sum(r.rows) FROM belay.row_images r WHERE r.xid = c.xid), c.text_hashes FROM belay.changes c WHERE c.id = $1", m[1]).Scan(&rows, &images, &hashes)
		if err != nil || !strings.Contains(rows, `"updated": 2`) || images != 2 {
			t.Fatalf("%v: change %s recorded %q with %d captured rows, %v", mode, m[1], rows, images, err)
		}
		// The exact text's hash: the Parse's text in the extended protocol
		// (pgx puts the value into the text in the simple one).
		if len(hashes) != 1 || len(hashes[0]) != 64 ||
			(mode == pgx.QueryExecModeCacheStatement && hashes[0] != textHash([]byte(update))) {
			t.Fatalf("%v: text hashes %q, want the SHA-256 of %q", mode, hashes, update)
		}
		if _, err := direct.Exec(ctx, "UPDATE "+table+" SET note = 'n'"); err != nil {
			t.Fatal(err)
		}

		// A table without capture triggers: refused, nothing changed.
		_, err = conn.Exec(ctx, "UPDATE "+table+"_bare SET note = 'c' WHERE id = $1", 1)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != sqlstateHoldFailed || !strings.Contains(pe.Message, "capture: 1 row changed in public."+table+"_bare, 0 of them captured") {
			t.Fatalf("%v: %v, want the capture refusal", mode, err)
		}
		if st := conn.PgConn().TxStatus(); st != 'I' {
			t.Fatalf("%v: status %c, want I", mode, st)
		}
		if n := changedRows(t, bare, table+"_bare"); n != 0 {
			t.Fatalf("%v: %d rows changed", mode, n)
		}
	}
	if got := testutil.ToFloat64(ts.srv.metrics.CapturedRows); got != 4 {
		t.Fatalf("belay_captured_rows_total = %v, want 4 (two rows in each mode)", got)
	}
	var bytes float64
	if err := direct.QueryRow(ctx, "SELECT sum(bytes)::float8 FROM belay.row_images").Scan(&bytes); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(ts.srv.metrics.CapturedBytes); got != bytes || got == 0 {
		t.Fatalf("belay_captured_bytes_total = %v, want %v (the committed images' sizes)", got, bytes)
	}
}

// uncaptured: allow lets a held write to a table without capture triggers
// through, and both NOTICEs say its rows cannot be undone. A temporary
// table is never refused: it ends with the session, nothing to undo.
func TestHoldUncapturedAllowed(t *testing.T) { transports(t, testHoldUncapturedAllowed) }

func testHoldUncapturedAllowed(t *testing.T, tweak func(*config.Config)) {
	table := tableName(t, tweak)
	database, direct := capturedTable(t, table)
	bare := holdTableIn(t, database, table+"_bare")
	ctx := context.Background()
	p := holdingProfile(time.Minute)
	p.Capture, p.AllowUncaptured = true, true
	ts := startServerWith(t, tweak, capturingHolder{holder{p}})
	var mu sync.Mutex
	var notices []string
	inDatabase := func(c *pgx.ConnConfig) { c.Database = database }
	conn := ts.connect(t, inDatabase, func(c *pgx.ConnConfig) {
		c.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			mu.Lock()
			notices = append(notices, n.Message+"\n"+n.Detail)
			mu.Unlock()
		}
	})
	said := func() string {
		mu.Lock()
		defer mu.Unlock()
		s := strings.Join(notices, "\n")
		notices = nil
		return s
	}
	for _, sql := range []string{
		"UPDATE " + table + " SET note = 'c' WHERE id = 1",
		"UPDATE " + table + "_bare SET note = 'c' WHERE id <= 2",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if s := said(); !strings.Contains(s, "Not captured, so belay undo cannot put them back: the rows of public."+table+"_bare.") {
		t.Fatalf("held notices %q, want the uncaptured table named", s)
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if s := said(); !regexp.MustCompile(`committed: 3 rows applied; undo with: belay undo \d+ \(except public\.` + table + `_bare: not captured\)`).MatchString(s) {
		t.Fatalf("commit notice %q", s)
	}
	if a, b := changedRows(t, direct, table), changedRows(t, bare, table+"_bare"); a != 1 || b != 2 {
		t.Fatalf("%d and %d rows changed, want 1 and 2", a, b)
	}

	// Temporary tables, in a profile that refuses what it cannot capture.
	refusing := holdingProfile(time.Minute)
	refusing.Capture = true
	conn = startServerWith(t, tweak, capturingHolder{holder{refusing}}).connect(t, inDatabase)
	if _, err := conn.Exec(ctx, "CREATE TEMPORARY TABLE scratch AS SELECT generate_series(1, 3) AS id"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE scratch SET id = id + 10 WHERE id > 0"); err != nil {
		t.Fatalf("a temporary table's rows: %v", err)
	}
	if st := conn.PgConn().TxStatus(); st != 'T' {
		t.Fatalf("status %c after the temporary table's UPDATE, want T (held)", st)
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM scratch WHERE id > 10").Scan(&n); err != nil || n != 3 {
		t.Fatalf("scratch has %d updated rows (%v), want 3", n, err)
	}
}

// A capturing profile in front of a database where belay init never ran
// refuses the write and says what to run.
func TestHoldCaptureWithoutSchema(t *testing.T) {
	dsn := testpg.FreshDatabase(t)
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	direct, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(ctx)
	if _, err := direct.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'n')"); err != nil {
		t.Fatal(err)
	}
	p := holdingProfile(time.Minute)
	p.Capture = true
	ts := startServerWith(t, func(*config.Config) {}, capturingHolder{holder{p}})
	conn := ts.connect(t, func(c *pgx.ConnConfig) { c.Database = cc.Database })
	_, err = conn.Exec(ctx, "UPDATE t SET note = 'c' WHERE id = 1")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != sqlstateHoldFailed || !strings.Contains(pe.Message, "belay's schema in this database is missing or older than this belay") || !strings.Contains(pe.Hint, "belay init") {
		t.Fatalf("%v, want the missing-schema refusal", err)
	}
	var note string
	if err := direct.QueryRow(ctx, "SELECT note FROM t").Scan(&note); err != nil || note != "n" {
		t.Fatalf("note %q (%v), want n: the write must be rolled back", note, err)
	}
}
