package test

// COPY in both directions through belay with pgx.

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPgxCopy copies 10 000 rows in with CopyFrom (binary COPY FROM STDIN)
// and out with COPY TO STDOUT (text), and compares the text byte for byte.
func TestPgxCopy(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := connect(t, p.URL(upstreamDatabase, "postgres"))
	tbl := tableName(t)
	if _, err := conn.Exec(ctx, "CREATE TABLE "+tbl+" (id int PRIMARY KEY, note text)"); err != nil {
		t.Fatal(err)
	}

	const n = 10000
	rows := make([][]any, n)
	var want strings.Builder
	for i := range rows {
		id := i + 1
		var note any
		switch id % 4 {
		case 0:
			note = fmt.Sprintf("plain %d", id)
		case 1:
			note = fmt.Sprintf("tab\there, newline\nhere, backslash\\ %d", id)
		case 2:
			note = nil
		case 3:
			note = ""
		}
		rows[i] = []any{id, note}
		fmt.Fprintf(&want, "%d\t%s\n", id, copyText(note))
	}
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{tbl}, []string{"id", "note"}, pgx.CopyFromRows(rows))
	if err != nil {
		t.Fatalf("CopyFrom: %v", err)
	}
	if copied != n {
		t.Errorf("CopyFrom copied %d rows, want %d", copied, n)
	}

	var out bytes.Buffer
	tag, err := conn.PgConn().CopyTo(ctx, &out, "COPY (SELECT id, note FROM "+tbl+" ORDER BY id) TO STDOUT")
	if err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	if tag.String() != fmt.Sprintf("COPY %d", n) {
		t.Errorf("CopyTo command tag %q, want COPY %d", tag, n)
	}
	if out.String() != want.String() {
		t.Errorf("COPY TO STDOUT returned %d bytes that differ from the %d expected, first at byte %d",
			out.Len(), want.Len(), firstDiff(out.Bytes(), []byte(want.String())))
	}

	// a failing COPY FROM leaves nothing behind and the connection usable
	dup := [][]any{{n + 1, "new"}, {1, "duplicate"}}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{tbl}, []string{"id", "note"}, pgx.CopyFromRows(dup)); err == nil {
		t.Errorf("CopyFrom with a duplicate key succeeded")
	}
	var count int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&count); err != nil || count != n {
		t.Errorf("after failed CopyFrom: %d rows, %v; want %d", count, err, n)
	}
}

// copyText encodes a value as COPY's text format writes it.
func copyText(v any) string {
	if v == nil {
		return `\N`
	}
	r := strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	return r.Replace(v.(string))
}
