package test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// outcomes collects the audit lines whose statement mentions marker, in
// order, waiting for n of them.
func outcomes(t *testing.T, p *belayProc, marker string, n int) []auditLine {
	t.Helper()
	raw := waitAuditLines(t, p, n, func(s string) bool { return strings.Contains(s, marker) })
	var out []auditLine
	for _, r := range raw {
		var l auditLine
		if err := json.Unmarshal([]byte(r), &l); err != nil {
			t.Fatalf("audit line is not JSON: %v: %s", err, r)
		}
		out = append(out, l)
	}
	if len(out) != n {
		t.Fatalf("%d audit lines for %s, want %d:\n%s", len(out), marker, n, strings.Join(raw, "\n"))
	}
	return out
}

func rowsOf(l auditLine) int64 {
	if l.Rows == nil {
		return -1
	}
	return *l.Rows
}

// Audit lines carry what PostgreSQL answered: rows from CommandComplete,
// the SQLSTATE of an error, statements an error kept from running, and
// blocked statements, for psql's simple Query and pgx's extended batches.
func TestAuditOutcomes(t *testing.T) {
	requireBelay(t)
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	tbl := guardedTable(t)

	// psql: one Query string of four statements; the third fails.
	script := "UPDATE " + tbl + " SET note = note WHERE id > 1; SELECT id FROM " + tbl + " WHERE id < 3; SELECT 1/0 AS div_" + tbl + "; SELECT 2 AS after_" + tbl
	if _, _, err := runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-c", script); err == nil {
		t.Fatal("psql: the division by zero did not fail")
	}
	got := outcomes(t, p, tbl, 4)
	type want struct {
		status, sqlstate string
		rows             int64
	}
	wants := []want{{"ok", "", 2}, {"ok", "", 2}, {"error", "22012", -1}, {"skipped", "", -1}}
	for i, w := range wants {
		if got[i].Status != w.status || got[i].SQLState != w.sqlstate || rowsOf(got[i]) != w.rows {
			t.Errorf("psql statement %d: status %q sqlstate %q rows %d, want %+v (%s)", i, got[i].Status, got[i].SQLState, rowsOf(got[i]), w, got[i].Statement)
		}
	}
	if got[0].Kind != "write" || got[0].DurationMS <= 0 {
		t.Errorf("UPDATE line: kind %q, duration %v ms", got[0].Kind, got[0].DurationMS)
	}

	// pgx: an extended batch, prepared statements executed twice.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn := connect(t, p.DSN(upstreamDatabase, "postgres"))
	marker := "ext_" + tbl // a column alias: comments are not in the normalised text
	for i := 0; i < 2; i++ {
		b := &pgx.Batch{}
		b.Queue("UPDATE "+tbl+" SET note = $1 WHERE id <= $2 RETURNING id AS "+marker, "x", 2)
		b.Queue("SELECT note AS "+marker+" FROM "+tbl+" WHERE id = $1", 3)
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
	}
	ext := outcomes(t, p, marker, 4)
	for i, l := range ext {
		wantRows := int64(2)
		if i%2 == 1 {
			wantRows = 1
		}
		if l.Protocol != "extended" || l.Status != "ok" || rowsOf(l) != wantRows {
			t.Errorf("extended execution %d: protocol %s status %q rows %d, want ok %d (%s)", i, l.Protocol, l.Status, rowsOf(l), wantRows, l.Statement)
		}
	}

	// A blocked statement: logged as blocked with belay's SQLSTATE.
	blockedMarker := "DELETE FROM " + tbl
	_, _ = conn.Exec(ctx, blockedMarker)
	bl := outcomes(t, p, blockedMarker, 1)[0]
	if bl.Status != "blocked" || bl.SQLState != "42501" || bl.Decision != "block" || bl.Rule != "no-where" {
		t.Errorf("blocked line: %+v", bl)
	}
}
