package capture

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Plan is what undoing a change does, table by table, and what stands in
// its way.
type Plan struct {
	Change    int64
	Tables    []TablePlan
	Conflicts []Conflict
	// Undo is the id of the change the undo was recorded as (0 when
	// nothing was applied).
	Undo int64
}

// TablePlan counts, for one table, the rows set back to their
// before-image, inserted again (the change deleted them) and deleted (the
// change inserted them).
type TablePlan struct {
	Table                     string
	Restore, Reinsert, Remove int64
}

// Conflict is a row someone changed after the change: undo would
// overwrite their work.
type Conflict struct {
	Table, Key, Reason string
}

// UndoOptions say how far Undo goes.
type UndoOptions struct {
	DryRun bool // plan only, apply nothing
	Force  bool // apply over conflicts
	// Confirm, when set, is asked with the plan before anything is
	// applied; false leaves everything as it was.
	Confirm func(Plan) bool
}

// ErrConflicts is returned when rows were changed since the change and
// Force is off: nothing was applied.
var ErrConflicts = errors.New("rows changed since the change: nothing undone")

// ErrDeclined is returned when Confirm said no.
var ErrDeclined = errors.New("not confirmed: nothing undone")

// Undo puts the rows of a committed change back as they were, in one
// transaction: rows it updated get their before-images back, rows it
// deleted come back, rows it inserted go. A row whose current version was
// not written by the change (its xmin is another transaction's) is a
// conflict. The undo is captured and recorded as a change of its own, so
// it can be undone too. conn runs as the operator: it needs the rights on
// the tables and membership in belay_undo.
func Undo(ctx context.Context, conn *pgx.Conn, change int64, opts UndoOptions) (Plan, error) {
	plan := Plan{Change: change}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return plan, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The undo's own writes are captured like a held change's.
	if _, err := tx.Exec(ctx, "SET LOCAL belay.capture = 'on'"); err != nil {
		return plan, fmt.Errorf("switch capture on: %w", err)
	}
	var xid, status string
	var undoneBy *int64
	err = tx.QueryRow(ctx, "SELECT xid::text, status, undone_by FROM belay.changes WHERE id = $1", change).Scan(&xid, &status, &undoneBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return plan, fmt.Errorf("no change %d in this database", change)
	}
	if err != nil {
		return plan, fmt.Errorf("read change %d: %w", change, err)
	}
	if status == "undone" {
		by := "another change"
		if undoneBy != nil {
			by = fmt.Sprintf("change %d", *undoneBy)
		}
		return plan, fmt.Errorf("change %d was undone already, by %s", change, by)
	}
	tables, err := changeImages(ctx, tx, xid)
	if err != nil {
		return plan, err
	}
	if len(tables) == 0 {
		return plan, fmt.Errorf("change %d has no captured rows to put back", change)
	}
	for _, t := range tables {
		if err := t.prepare(ctx, tx, xid); err != nil {
			return plan, err
		}
		plan.Tables = append(plan.Tables, t.plan)
		plan.Conflicts = append(plan.Conflicts, t.conflicts...)
	}
	if opts.DryRun {
		return plan, nil
	}
	if len(plan.Conflicts) > 0 && !opts.Force {
		return plan, ErrConflicts
	}
	if opts.Confirm != nil && !opts.Confirm(plan) {
		return plan, ErrDeclined
	}
	order, err := parentsFirst(ctx, tx, tables)
	if err != nil {
		return plan, err
	}
	for _, step := range []struct {
		sql     func(*undoTable) string
		guarded bool // the step leaves rows someone else changed alone, unless forced
		reverse bool
	}{
		{(*undoTable).reinsertSQL, false, false},
		{(*undoTable).restoreSQL, true, false},
		{(*undoTable).removeSQL, true, true}, // children before their parents
	} {
		var args []any
		if step.guarded {
			args = []any{xid, opts.Force}
		}
		for i := range order {
			t := order[i]
			if step.reverse {
				t = order[len(order)-1-i]
			}
			if _, err := tx.Exec(ctx, step.sql(t), args...); err != nil {
				return plan, fmt.Errorf("undo on %s: %w", t.name, err)
			}
		}
	}
	statement := fmt.Sprintf("belay undo %d", change)
	if err := tx.QueryRow(ctx, "SELECT belay.record_change('belay undo', '', $1, '{}')", statement).Scan(&plan.Undo); err != nil {
		return plan, fmt.Errorf("record the undo: %w", err)
	}
	var marked bool
	if err := tx.QueryRow(ctx, "SELECT belay.mark_undone($1, $2)", change, plan.Undo).Scan(&marked); err != nil {
		return plan, fmt.Errorf("mark change %d undone: %w", change, err)
	}
	if !marked {
		return plan, fmt.Errorf("change %d was undone meanwhile", change)
	}
	if err := tx.Commit(ctx); err != nil {
		return plan, fmt.Errorf("commit: %w", err)
	}
	return plan, nil
}

// undoTable is one table of a change: its images and what undo does to it.
type undoTable struct {
	oid       uint32
	name      string // schema.table now (it may have been renamed since)
	ident     string // quoted
	images    []string
	key       []string // quoted primary key columns
	columns   []string // quoted columns undo writes (not generated ones)
	work      string   // the temporary table of the rows' first images
	plan      TablePlan
	conflicts []Conflict
}

// changeImages groups the change's image tables by table, in the order
// the change first touched each.
func changeImages(ctx context.Context, tx pgx.Tx, xid string) ([]*undoTable, error) {
	rows, err := tx.Query(ctx, `
		SELECT r.table_oid, r.op::text, r.image_table, c.relname IS NOT NULL, coalesce(format('%I.%I', n.nspname, c.relname), r.table_name)
		FROM belay.row_images r
		LEFT JOIN pg_catalog.pg_class c ON c.oid = r.table_oid
		LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE r.xid = $1::xid8 ORDER BY r.seq`, xid)
	if err != nil {
		return nil, fmt.Errorf("read the change's images: %w", err)
	}
	defer rows.Close()
	byOID := map[uint32]*undoTable{}
	var out []*undoTable
	for rows.Next() {
		var oid uint32
		var op, image, ident string
		var exists bool
		if err := rows.Scan(&oid, &op, &image, &exists, &ident); err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("table %s of the change no longer exists", ident)
		}
		t := byOID[oid]
		if t == nil {
			t = &undoTable{oid: oid, ident: ident}
			byOID[oid] = t
			out = append(out, t)
		}
		t.images = append(t.images, fmt.Sprintf("SELECT %d AS \"belay seq\", %s::text AS \"belay op\", i.* FROM belay_images.%s i",
			len(t.images)+1, quoteLiteral(op), pgx.Identifier{image}.Sanitize()))
	}
	return out, rows.Err()
}

// prepare reads the table's key and columns, collects each row's first
// image (the row as it was before the change, or the row the change
// inserted) into a temporary table, and finds the conflicts.
func (t *undoTable) prepare(ctx context.Context, tx pgx.Tx, xid string) error {
	if err := tx.QueryRow(ctx, "SELECT format('%s.%s', n.nspname, c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1", t.oid).Scan(&t.name); err != nil {
		return fmt.Errorf("table %d: %w", t.oid, err)
	}
	t.plan.Table = t.name
	rows, err := tx.Query(ctx, `
		SELECT quote_ident(a.attname), coalesce(a.attnum = ANY (i.indkey), false)
		FROM pg_catalog.pg_attribute a
		LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY a.attnum`, t.oid)
	if err != nil {
		return fmt.Errorf("columns of %s: %w", t.name, err)
	}
	for rows.Next() {
		var col string
		var key bool
		if err := rows.Scan(&col, &key); err != nil {
			return err
		}
		t.columns = append(t.columns, col)
		if key {
			t.key = append(t.key, col)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(t.key) == 0 {
		return fmt.Errorf("%s has no primary key: undo matches rows by it (tables without one are not supported yet)", t.name)
	}
	t.work = pgx.Identifier{fmt.Sprintf("belay_undo_%d", t.oid)}.Sanitize()
	keys := strings.Join(t.key, ", ")
	create := fmt.Sprintf(`CREATE TEMPORARY TABLE %s ON COMMIT DROP AS
		SELECT DISTINCT ON (%s) img.*, last_value(img."belay op") OVER (PARTITION BY %s ORDER BY img."belay seq" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "belay last op"
		FROM (%s) img ORDER BY %s, img."belay seq"`,
		t.work, keys, keys, strings.Join(t.images, " UNION ALL "), keys)
	if _, err := tx.Exec(ctx, create); err != nil {
		return fmt.Errorf("images of %s: %w", t.name, err)
	}
	return t.findConflicts(ctx, tx, xid)
}

// findConflicts counts what undo does and lists the rows someone else
// changed since: a row the change wrote that now carries another
// transaction's xmin, or one it updated that is gone.
func (t *undoTable) findConflicts(ctx context.Context, tx pgx.Tx, xid string) error {
	rows, err := tx.Query(ctx, fmt.Sprintf(`
		SELECT row(%s)::text, u."belay op", u."belay last op", cur.xmin IS NOT NULL, coalesce(cur.xmin = pg_catalog.xid($1::xid8), false)
		FROM %s u LEFT JOIN (SELECT t.xmin, %s FROM %s t) cur USING (%s)`,
		prefixed("u.", t.key), t.work, strings.Join(t.key, ", "), t.ident, strings.Join(t.key, ", ")), xid)
	if err != nil {
		return fmt.Errorf("current rows of %s: %w", t.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, first, last string
		var exists, ours bool
		if err := rows.Scan(&key, &first, &last, &exists, &ours); err != nil {
			return err
		}
		conflict := func(reason string) {
			t.conflicts = append(t.conflicts, Conflict{Table: t.name, Key: key, Reason: reason})
		}
		switch {
		case first != "I" && exists:
			t.plan.Restore++
			if !ours {
				conflict("changed by someone else since")
			}
		case first != "I" && last == "D":
			t.plan.Reinsert++
		case first != "I":
			t.plan.Reinsert++
			conflict("deleted by someone else since")
		case exists:
			t.plan.Remove++
			if !ours {
				conflict("changed by someone else since")
			}
		}
	}
	return rows.Err()
}

// The three steps. Restore and remove take $1, the change's xid, and $2,
// force: without it a row someone else changed is left alone (Undo
// refuses to run when there is one). Reinsert brings back only rows that
// are gone.

func (t *undoTable) restoreSQL() string {
	return fmt.Sprintf(`UPDATE %s t SET (%s) = ROW(%s) FROM %s u WHERE %s AND u."belay op" <> 'I' AND (t.xmin = pg_catalog.xid($1::xid8) OR $2)`,
		t.ident, strings.Join(t.columns, ", "), prefixed("u.", t.columns), t.work, joinOn("t.", "u.", t.key))
}

func (t *undoTable) reinsertSQL() string {
	return fmt.Sprintf(`INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s u WHERE u."belay op" <> 'I' AND NOT EXISTS (SELECT FROM %s t WHERE %s)`,
		t.ident, strings.Join(t.columns, ", "), prefixed("u.", t.columns), t.work, t.ident, joinOn("t.", "u.", t.key))
}

func (t *undoTable) removeSQL() string {
	return fmt.Sprintf(`DELETE FROM %s t USING %s u WHERE %s AND u."belay op" = 'I' AND (t.xmin = pg_catalog.xid($1::xid8) OR $2)`,
		t.ident, t.work, joinOn("t.", "u.", t.key))
}

// parentsFirst orders the change's tables so that a table comes after the
// tables its foreign keys reference.
func parentsFirst(ctx context.Context, tx pgx.Tx, tables []*undoTable) ([]*undoTable, error) {
	byOID := map[uint32]*undoTable{}
	for _, t := range tables {
		byOID[t.oid] = t
	}
	parents := map[uint32][]uint32{}
	rows, err := tx.Query(ctx, "SELECT conrelid, confrelid FROM pg_catalog.pg_constraint WHERE contype = 'f' AND conrelid <> confrelid")
	if err != nil {
		return nil, fmt.Errorf("foreign keys: %w", err)
	}
	for rows.Next() {
		var child, parent uint32
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		if byOID[child] != nil && byOID[parent] != nil {
			parents[child] = append(parents[child], parent)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []*undoTable
	done := map[uint32]bool{}
	var visit func(oid uint32, depth int)
	visit = func(oid uint32, depth int) {
		if done[oid] || depth > len(tables) { // a cycle: any order will do
			return
		}
		ps := append([]uint32(nil), parents[oid]...)
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		for _, p := range ps {
			visit(p, depth+1)
		}
		if !done[oid] {
			done[oid] = true
			out = append(out, byOID[oid])
		}
	}
	for _, t := range tables {
		visit(t.oid, 0)
	}
	return out, nil
}

func prefixed(prefix string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + c
	}
	return strings.Join(out, ", ")
}

func joinOn(left, right string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = left + c + " = " + right + c
	}
	return strings.Join(out, " AND ")
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
