package test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// undoTables creates, directly on PostgreSQL, a parent table, a child
// with ON DELETE CASCADE, and an audit table a trigger on the parent
// writes; capture is on for all three. It returns their names.
func undoTables(t *testing.T, url string) (parent, child, audit string) {
	t.Helper()
	parent = tableName(t)
	child, audit = parent+"_child", parent+"_audit"
	directExec(t, fmt.Sprintf(`
		CREATE TABLE %[1]s (id int PRIMARY KEY, note text NOT NULL);
		CREATE TABLE %[2]s (id int PRIMARY KEY, parent int NOT NULL REFERENCES %[1]s ON DELETE CASCADE, note text NOT NULL);
		CREATE TABLE %[3]s (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what text NOT NULL);
		CREATE FUNCTION %[1]s_log() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO %[3]s (what) VALUES (TG_OP || ' ' || NEW.id); RETURN NEW; END $$;
		CREATE TRIGGER log AFTER UPDATE ON %[1]s FOR EACH ROW EXECUTE FUNCTION %[1]s_log();
		INSERT INTO %[1]s SELECT g, 'p' || g FROM generate_series(1, 10) g;
		INSERT INTO %[2]s SELECT g, 1 + g %% 5, 'c' || g FROM generate_series(1, 20) g`, parent, child, audit))
	t.Cleanup(func() {
		directExec(t, fmt.Sprintf("DROP TABLE IF EXISTS %s, %s, %s; DROP FUNCTION IF EXISTS %s_log()", child, audit, parent, parent))
	})
	if out, code := runBelayCLI(t, "capture", "enable", "--database-url", url, parent, child, audit); code != 0 {
		t.Fatalf("belay capture enable: exit %d\n%s", code, out)
	}
	return parent, child, audit
}

// tablesChecksum fingerprints whole tables, for "exactly as before".
func tablesChecksum(t *testing.T, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range tables {
		var sum string
		if err := connectDirect(t, upstreamDatabase).QueryRow(context.Background(),
			"SELECT coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM "+tbl+" x").Scan(&sum); err != nil {
			t.Fatal(err)
		}
		b.WriteString(sum)
	}
	return b.String()
}

var undoCommandRE = regexp.MustCompile(`undo with: belay undo (\d+)`)

// Through belay with pgx (the extended protocol), each kind of write is
// held, committed and then undone by belay undo, which puts back exactly
// the rows before it: an UPDATE with the rows a trigger added, a DELETE
// with the rows its foreign key cascaded to, an INSERT, a MERGE. Triggers
// fire for the undo's own writes as for any (the audit trigger logs the
// undo), and those rows belong to the undo's change. A change someone
// overwrote since is a conflict that changes nothing, until --force. A
// held change rolled back leaves no before-image.
func TestUndoThroughPgx(t *testing.T) {
	// MERGE is blocked for people at a prompt by configs/belay.yaml; let it
	// through to show it is captured like the rest.
	cfg := strings.Replace(holdConfig(t, holdConfigOpts{HoldTimeout: holdTimeoutLong, Capture: true}),
		"        set-role: audit ", "        merge: audit\n        set-role: audit ", 1)
	requireBelay(t)
	t.Parallel()
	url := upstreamDSN(upstreamDatabase)
	if out, code := runBelayCLI(t, "init", "--database-url", url); code != 0 {
		t.Fatalf("belay init: exit %d\n%s", code, out)
	}
	p := startBelay(t, belayOpts{ConfigYAML: cfg})
	parent, child, audit := undoTables(t, url)
	conn, log := holdConn(t, p, pgx.QueryExecModeCacheStatement)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// commit runs one held write and its COMMIT, and returns the change's id.
	commit := func(sql string, args ...any) string {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		requireStatus(t, conn, 'T', "after "+sql)
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			t.Fatalf("COMMIT: %v", err)
		}
		var said []string
		for _, n := range log.belayNotices() {
			said = append(said, n.Message)
		}
		m := undoCommandRE.FindStringSubmatch(strings.Join(said, "\n"))
		if m == nil {
			t.Fatalf("%s: no undo command in belay's notices %q", sql, said)
		}
		// The record keeps the exact text's SHA-256, not the text.
		var hashes []string
		if err := connectDirect(t, upstreamDatabase).QueryRow(ctx, "SELECT text_hashes FROM belay.changes WHERE id = $1", m[1]).Scan(&hashes); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(sql)); len(hashes) != 1 || hashes[0] != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: text hashes %q, want the SHA-256 of the text", sql, hashes)
		}
		return m[1]
	}
	undo := func(id string, args ...string) (string, int) {
		t.Helper()
		return runBelayCLI(t, append([]string{"undo", id, "--yes", "--database-url", url}, args...)...)
	}
	auditIDs := func() map[int]bool {
		t.Helper()
		rows, err := connectDirect(t, upstreamDatabase).Query(ctx, "SELECT id FROM "+audit)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]bool{}
		for _, id := range ids {
			out[id] = true
		}
		return out
	}
	images := func() int {
		t.Helper()
		return directInt(t, "SELECT count(*) FROM belay.row_images")
	}

	for _, c := range []struct {
		name, sql string
		args      []any
		plan      []string // in belay undo's output
	}{
		{"update and its trigger", "UPDATE " + parent + " SET note = $1 WHERE id <= $2", []any{"x", 3},
			[]string{"public." + parent + ": 3 set back", "public." + audit + ": 0 set back, 0 inserted again, 3 deleted"}},
		{"delete and its cascade", "DELETE FROM " + parent + " WHERE id = $1", []any{2},
			[]string{"public." + parent + ": 0 set back, 1 inserted again", "public." + child + ": 0 set back, 4 inserted again"}},
		{"insert", "INSERT INTO " + parent + " VALUES ($1, $2), ($3, $4)", []any{100, "new", 101, "new"},
			[]string{"public." + parent + ": 0 set back, 0 inserted again, 2 deleted"}},
		{"merge", "MERGE INTO " + parent + " t USING (VALUES (1, 'm'), (200, 'ins')) s(id, note) ON t.id = s.id WHEN MATCHED THEN UPDATE SET note = s.note WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.note)", nil,
			[]string{"public." + parent + ": 1 set back, 0 inserted again, 1 deleted", "public." + audit + ": 0 set back, 0 inserted again, 1 deleted"}},
	} {
		before, auditBefore := tablesChecksum(t, parent, child), auditIDs()
		id := commit(c.sql, c.args...)
		if tablesChecksum(t, parent, child) == before {
			t.Fatalf("%s: the change changed nothing", c.name)
		}
		auditChange := auditIDs()
		out, code := undo(id)
		if code != 0 {
			t.Fatalf("%s: belay undo %s: exit %d\n%s", c.name, id, code, out)
		}
		requireContains(t, c.name+": belay undo", out, c.plan...)
		if tablesChecksum(t, parent, child) != before {
			t.Fatalf("%s: the tables differ after belay undo %s\n%s", c.name, id, out)
		}
		auditAfter := auditIDs()
		for a := range auditBefore {
			if !auditAfter[a] {
				t.Fatalf("%s: audit row %d, older than the change, is gone after the undo", c.name, a)
			}
		}
		for a := range auditChange {
			if !auditBefore[a] && auditAfter[a] {
				t.Fatalf("%s: audit row %d, written by the change's trigger, is still there after the undo", c.name, a)
			}
		}
	}

	// A conflict: nothing changes; --force overwrites.
	before := tablesChecksum(t, parent)
	id := commit("UPDATE "+parent+" SET note = $1 WHERE id = $2", "mine", 5)
	directExec(t, "UPDATE "+parent+" SET note = 'theirs' WHERE id = 5")
	overwritten := tablesChecksum(t, parent)
	out, code := undo(id)
	if code != 1 || !strings.Contains(out, "conflict: public."+parent+" row (5): changed by someone else since") {
		t.Fatalf("undo over a conflict: exit %d\n%s", code, out)
	}
	if tablesChecksum(t, parent) != overwritten {
		t.Fatal("a refused undo changed the table")
	}
	if out, code := undo(id, "--force"); code != 0 {
		t.Fatalf("undo --force: exit %d\n%s", code, out)
	}
	if tablesChecksum(t, parent) != before {
		t.Fatal("undo --force did not put row 5 back")
	}

	// ROLLBACK of a held change: its images go with it.
	n := images()
	if _, err := conn.Exec(ctx, "UPDATE "+parent+" SET note = $1 WHERE id <= $2", "gone", 4); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if got := images(); got != n {
		t.Fatalf("%d image tables after a ROLLBACK, want %d as before", got, n)
	}
}
