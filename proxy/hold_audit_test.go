package proxy

import (
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// A request belay answers itself in a holding session (SET
// belay.expect_rows) gets its own audit line, and leaves nothing behind
// for the next request's lines.
func TestHoldAnsweredRequestsAreAudited(t *testing.T) {
	g, path := fastPathGuard(t)
	ts := startServerWith(t, nil, g)
	fe := rawSessionAs(t, ts.addr, "holders")
	send(t, fe, &pgproto3.Query{String: "SET belay.expect_rows = 2"})
	if got := receiveUntilReady(t, fe); contains(got, "Error:") {
		t.Fatalf("SET belay.expect_rows: %v", got)
	}
	send(t, fe, &pgproto3.Query{String: "SELECT 1"})
	receiveUntilReady(t, fe)
	set := auditLinesOf(t, path, "SET belay.expect_rows = $1", func(ls []auditLine) bool { return len(ls) >= 1 })
	sel := auditLinesOf(t, path, "SELECT $1", func(ls []auditLine) bool { return len(ls) >= 1 })
	if len(set) != 1 || set[0].Status != "ok" {
		t.Fatalf("SET belay.expect_rows audited as %+v, want one line with status ok", set)
	}
	if len(sel) != 1 || sel[0].Status != "ok" {
		t.Fatalf("the next statement audited as %+v, want one line", sel)
	}
}
