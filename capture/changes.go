package capture

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Change is one record of belay.changes.
type Change struct {
	ID              int64     `json:"id"`
	At              time.Time `json:"at"`
	User            string    `json:"user"`
	Database        string    `json:"database"`
	ApplicationName string    `json:"application_name"`
	ClientAddr      string    `json:"client_addr"`
	Statements      string    `json:"statements"`
	// TextHashes are the SHA-256 (hex) of each held request's exact text.
	TextHashes []string                  `json:"text_hashes"`
	Rows       map[string]map[string]int `json:"rows"`
	Status     string                    `json:"status"`
	UndoneBy   *int64                    `json:"undone_by,omitempty"`
}

// Filter narrows Changes; zero fields match everything.
type Filter struct {
	ID    int64 // one change
	User  string
	Table string // schema.table, or a name in public
	Since time.Time
	Limit int // 0: 100
}

// Changes lists recorded changes, newest first.
func Changes(ctx context.Context, conn *pgx.Conn, f Filter) ([]Change, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	table := f.Table
	if table != "" && !strings.Contains(table, ".") {
		table = "public." + table
	}
	rows, err := conn.Query(ctx, `
		SELECT id, created_at, user_name, database_name, application_name, client_addr, statements, text_hashes, rows, status, undone_by
		FROM belay.changes
		WHERE ($1 = '' OR user_name = $1) AND ($2 = '' OR rows ? $2) AND created_at >= $3 AND ($5 = 0 OR id = $5)
		ORDER BY id DESC LIMIT $4`, f.User, table, f.Since, f.Limit, f.ID)
	if err != nil {
		return nil, fmt.Errorf("read belay.changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var counts []byte
		if err := rows.Scan(&c.ID, &c.At, &c.User, &c.Database, &c.ApplicationName, &c.ClientAddr, &c.Statements, &c.TextHashes, &counts, &c.Status, &c.UndoneBy); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(counts, &c.Rows); err != nil {
			return nil, fmt.Errorf("change %d: rows: %w", c.ID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RowDiff is one row of a change: its key, and the columns the change
// set, old → new (new as the row is now; Since says when someone changed
// it after the change, so that now is not what the change wrote). An
// update undo keeps whole (a key changed, or the table has none) shows
// its old rows and its new rows apart, unpaired: all columns, old or new.
type RowDiff struct {
	Table string
	// updated, deleted, inserted; updated (old key) and updated (new key),
	// or (old row) and (new row) for a table without a primary key
	Op string
	// the primary key, or the whole row (cut short) for a table without one
	Key     string
	Columns []ColumnDiff
	Since   bool
}

// ColumnDiff is one column's value before and after (JSON text; "" for a
// row that did not exist).
type ColumnDiff struct {
	Name, Old, New string
}

// Show returns the rows of a change, at most limit per table image.
func Show(ctx context.Context, conn *pgx.Conn, change int64, limit int) (Change, []RowDiff, error) {
	found, err := Changes(ctx, conn, Filter{ID: change})
	if err != nil {
		return Change{}, nil, err
	}
	if len(found) == 0 {
		return Change{}, nil, fmt.Errorf("no change %d in this database", change)
	}
	c := found[0]
	var xid string
	if err := conn.QueryRow(ctx, "SELECT xid::text FROM belay.changes WHERE id = $1", change).Scan(&xid); err != nil {
		return c, nil, fmt.Errorf("read change %d: %w", change, err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return c, nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	tables, err := changeImages(ctx, tx, xid)
	if err != nil {
		return c, nil, err
	}
	var out []RowDiff
	for _, t := range tables {
		if err := t.readName(ctx, tx); err != nil {
			return c, nil, err
		}
		if err := t.readKey(ctx, tx); err != nil {
			return c, nil, err
		}
		for _, img := range t.images {
			diffs, err := t.diff(ctx, tx, xid, img, limit)
			if err != nil {
				return c, nil, err
			}
			out = append(out, diffs...)
		}
	}
	return c, out, nil
}

// diff pairs an image's rows with the rows as they are now; the rows of a
// K or N image, or of a table without a key, are shown as they were kept.
func (t *undoTable) diff(ctx context.Context, tx pgx.Tx, xid string, img undoImage, limit int) ([]RowDiff, error) {
	query := fmt.Sprintf(`
		SELECT CASE WHEN length(i::text) > 60 THEN left(i::text, 59) || '…' ELSE i::text END, to_jsonb(i), NULL::jsonb, false
		FROM belay_images.%s i ORDER BY i::text LIMIT %d`, img.table, limit)
	var args []any
	if len(t.key) > 0 {
		args = []any{xid}
		query = fmt.Sprintf(`
			SELECT row(%[1]s)::text, to_jsonb(i), to_jsonb(cur) - 'belay xmin', coalesce(cur."belay xmin" <> pg_catalog.xid($1::xid8), false)
			FROM belay_images.%[2]s i LEFT JOIN (SELECT t.xmin AS "belay xmin", t.* FROM %[3]s t) cur USING (%[4]s)
			ORDER BY 1 LIMIT %[5]d`, prefixed("i.", t.key), img.table, t.ident, strings.Join(t.key, ", "), limit)
	}
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("rows of %s: %w", t.name, err)
	}
	defer rows.Close()
	whole := "key"
	if len(t.key) == 0 {
		whole = "row"
	}
	op := map[string]string{"U": "updated", "D": "deleted", "I": "inserted", "K": "updated (old " + whole + ")", "N": "updated (new " + whole + ")"}[img.op]
	var out []RowDiff
	for rows.Next() {
		var key string
		var image, current map[string]any
		var since bool
		if err := rows.Scan(&key, &image, &current, &since); err != nil {
			return nil, err
		}
		d := RowDiff{Table: t.name, Op: op, Key: key, Since: since}
		old, now := image, current
		switch img.side() {
		case "I":
			old, now = nil, image
		case "D":
			now = nil
		}
		d.Columns = changedColumns(old, now)
		out = append(out, d)
	}
	return out, rows.Err()
}

// changedColumns lists the columns whose values differ, by name.
func changedColumns(old, now map[string]any) []ColumnDiff {
	names := map[string]bool{}
	for k := range old {
		names[k] = true
	}
	for k := range now {
		names[k] = true
	}
	var out []ColumnDiff
	for name := range names {
		o, n := jsonText(old, name), jsonText(now, name)
		if o != n {
			out = append(out, ColumnDiff{Name: name, Old: o, New: n})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func jsonText(row map[string]any, name string) string {
	if row == nil {
		return ""
	}
	b, _ := json.Marshal(row[name])
	return string(b)
}

// readKey reads the table's primary key, if it has one (for Show, which
// needs no work table).
func (t *undoTable) readKey(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, "SELECT quote_ident(attname) FROM belay.key_columns($1) ORDER BY attnum", t.oid)
	if err != nil {
		return err
	}
	t.key, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return err
}
