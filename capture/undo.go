package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Plan is what undoing a change does, table by table, and what stands in
// its way.
type Plan struct {
	Change int64
	Tables []TablePlan
	// Restored are the tables the change's DROP TABLE moved to the
	// quarantine, which undo moves back (schema.table).
	Restored  []string
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
// overwrite their work. Key is the row's primary key, or the whole row
// (cut short) in a table without one.
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
// not written by the change (its xmin is none of changeWriters) is a
// conflict. A table without a primary key is undone on whole rows
// (undo_whole.go). The undo is captured and recorded as a change of its
// own, so it can be undone too. conn runs as the operator: it needs the
// rights on the tables and membership in belay_undo.
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
	if status == "expired" {
		return plan, fmt.Errorf("change %d can no longer be undone: it was purged (retention), its before-images and quarantined tables dropped", change)
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
	moves, err := quarantinedTables(ctx, tx, xid)
	if err != nil {
		return plan, err
	}
	if len(tables) == 0 && len(moves) == 0 {
		return plan, fmt.Errorf("change %d has no captured rows to put back", change)
	}
	for _, m := range moves {
		plan.Restored = append(plan.Restored, m.original())
		if m.taken {
			plan.Conflicts = append(plan.Conflicts, Conflict{Table: m.original(), Key: "-", Reason: "a table of that name exists again"})
		}
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
	for _, m := range moves {
		if m.taken { // not even --force drops someone's new table
			return plan, fmt.Errorf("%s exists again: rename it, then undo", m.original())
		}
		if err := m.restore(ctx, tx); err != nil {
			return plan, err
		}
	}
	order, err := parentsFirst(ctx, tx, tables)
	if err != nil {
		return plan, err
	}
	for _, step := range []struct {
		sql     func(*undoTable) string
		rows    func(TablePlan) int64
		guarded bool // the step leaves rows someone else changed alone, unless forced
		reverse bool
	}{
		{(*undoTable).reinsertSQL, func(p TablePlan) int64 { return p.Reinsert }, false, false},
		{(*undoTable).restoreSQL, func(p TablePlan) int64 { return p.Restore }, true, false},
		{(*undoTable).removeSQL, func(p TablePlan) int64 { return p.Remove }, true, true}, // children before their parents
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
			if step.rows(t.plan) == 0 {
				continue
			}
			if _, err := tx.Exec(ctx, step.sql(t), args...); err != nil {
				return plan, fmt.Errorf("undo on %s: %w", t.name, err)
			}
		}
	}
	statement := fmt.Sprintf("belay undo %d", change)
	rows := map[string]map[string]int64{}
	for _, tp := range plan.Tables {
		rows[tp.Table] = map[string]int64{"inserted": tp.Reinsert, "updated": tp.Restore, "deleted": tp.Remove}
	}
	counts, err := json.Marshal(rows)
	if err != nil {
		return plan, err
	}
	if err := tx.QueryRow(ctx, "SELECT belay.record_change('belay undo', '', $1, $2::jsonb)", statement, string(counts)).Scan(&plan.Undo); err != nil {
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

// changeWriters are the transaction ids a change's rows carry as xmin, for
// $1, the change's xid: the change's own, and those of its
// subtransactions (psql's ON_ERROR_ROLLBACK, a PL/pgSQL EXCEPTION block),
// whose writes carry theirs. Each capture trigger's record in
// belay.row_images was written in the same subtransaction as the rows it
// copied, so its own xmin is theirs.
const changeWriters = `ARRAY(SELECT r.xmin FROM belay.row_images r WHERE r.xid = $1::xid8)`

// undoTable is one table of a change: its images and what undo does to it.
type undoTable struct {
	oid       uint32
	name      string // schema.table now (it may have been renamed since)
	ident     string // quoted
	images    []undoImage
	key       []string // quoted primary key columns
	columns   []string // quoted columns undo inserts (not generated ones)
	settable  []string // ... and those it sets back: not the key (unless = on it is not sameness), nor identity ALWAYS
	work      string   // the temporary table of the rows' first images
	plan      TablePlan
	conflicts []Conflict
}

// undoImage is one image table of a table in the change, in statement order.
type undoImage struct {
	op    string // I, U, D; K and N: the old and new rows of an update kept whole
	table string // quoted, in belay_images
}

// side is what undo does with the image's rows: U sets them back, D (for
// D and K) puts them back, I (for I and N) removes them.
func (img undoImage) side() string {
	switch img.op {
	case "K":
		return "D"
	case "N":
		return "I"
	}
	return img.op
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
		t.images = append(t.images, undoImage{op: op, table: pgx.Identifier{image}.Sanitize()})
	}
	return out, rows.Err()
}

// prepare reads the table's key and columns, collects each row's first
// image (the row as it was before the change, or the row the change
// inserted) into a temporary table, and finds the conflicts.
func (t *undoTable) prepare(ctx context.Context, tx pgx.Tx, xid string) error {
	if err := t.readName(ctx, tx); err != nil {
		return err
	}
	t.plan.Table = t.name
	rows, err := tx.Query(ctx, `
		SELECT quote_ident(a.attname), k.attnum IS NOT NULL, coalesce(k.exact, true), a.attidentity = 'a'
		FROM pg_catalog.pg_attribute a
		LEFT JOIN belay.key_columns($1) k ON k.attnum = a.attnum
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		ORDER BY a.attnum`, t.oid)
	if err != nil {
		return fmt.Errorf("columns of %s: %w", t.name, err)
	}
	for rows.Next() {
		var col string
		var key, exact, identityAlways bool
		if err := rows.Scan(&col, &key, &exact, &identityAlways); err != nil {
			return err
		}
		t.columns = append(t.columns, col)
		if key {
			t.key = append(t.key, col)
		}
		// Identity ALWAYS: an UPDATE cannot set it, nor could the change. A
		// key column whose = is not sameness (1.0 = 1.00) is set back too.
		if (!key || !exact) && !identityAlways {
			t.settable = append(t.settable, col)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(t.key) == 0 {
		return t.prepareWhole(ctx, tx, xid)
	}
	keys := strings.Join(t.key, ", ")
	if len(t.images) == 1 {
		// One statement touched the table: its image has each row once,
		// and is the rows' first image as it stands.
		img := t.images[0]
		t.work = fmt.Sprintf(`(SELECT %[1]s::text AS "belay op", %[1]s::text AS "belay last op", i.* FROM belay_images.%[2]s i)`, quoteLiteral(img.side()), img.table)
		return t.findConflicts(ctx, tx, xid)
	}
	selects := make([]string, len(t.images))
	for i, img := range t.images {
		selects[i] = fmt.Sprintf(`SELECT %d AS "belay seq", %s::text AS "belay op", i.* FROM belay_images.%s i`, i+1, quoteLiteral(img.side()), img.table)
	}
	t.work = pgx.Identifier{fmt.Sprintf("belay_undo_%d", t.oid)}.Sanitize()
	create := fmt.Sprintf(`CREATE TEMPORARY TABLE %s ON COMMIT DROP AS
		SELECT DISTINCT ON (%s) img.*, last_value(img."belay op") OVER (PARTITION BY %s ORDER BY img."belay seq" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "belay last op"
		FROM (%s) img ORDER BY %s, img."belay seq"`,
		t.work, keys, keys, strings.Join(selects, " UNION ALL "), keys)
	if _, err := tx.Exec(ctx, create); err != nil {
		return fmt.Errorf("images of %s: %w", t.name, err)
	}
	return t.findConflicts(ctx, tx, xid)
}

// readName reads the table's schema.table as it is named now.
func (t *undoTable) readName(ctx context.Context, tx pgx.Tx) error {
	err := tx.QueryRow(ctx, "SELECT format('%s.%s', n.nspname, c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1", t.oid).Scan(&t.name)
	if err != nil {
		return fmt.Errorf("table %d: %w", t.oid, err)
	}
	return nil
}

// findConflicts counts what undo does and lists the rows someone else
// changed since (the first 1000): a row the change wrote that now carries
// another transaction's xmin, or one it updated that is gone. PostgreSQL
// does the counting: 100 000 rows need not travel to belay.
func (t *undoTable) findConflicts(ctx context.Context, tx pgx.Tx, xid string) error {
	keys := strings.Join(t.key, ", ")
	query := fmt.Sprintf(`
		WITH s AS (
			SELECT u.*, cur.xmin IS NOT NULL AS "belay exists", coalesce(cur.xmin = ANY (`+changeWriters+`), false) AS "belay ours"
			FROM %[1]s u LEFT JOIN (SELECT t.xmin, %[2]s FROM %[3]s t) cur USING (%[2]s)
		), c AS (
			SELECT row(%[4]s)::text AS key,
			       CASE WHEN "belay exists" THEN 'changed by someone else since' ELSE 'deleted by someone else since' END AS reason
			FROM s
			WHERE ("belay exists" AND NOT "belay ours") OR ("belay op" <> 'I' AND NOT "belay exists" AND "belay last op" <> 'D')
			ORDER BY 1 LIMIT 1000
		)
		SELECT count(*) FILTER (WHERE "belay op" <> 'I' AND "belay exists"),
		       count(*) FILTER (WHERE "belay op" <> 'I' AND NOT "belay exists"),
		       count(*) FILTER (WHERE "belay op" = 'I' AND "belay exists"),
		       (SELECT coalesce(json_agg(json_build_array(c.key, c.reason)), '[]') FROM c)
		FROM s`,
		t.work, keys, t.ident, prefixed("s.", t.key))
	var conflicts [][2]string
	if err := tx.QueryRow(ctx, query, xid).Scan(&t.plan.Restore, &t.plan.Reinsert, &t.plan.Remove, &conflicts); err != nil {
		return fmt.Errorf("current rows of %s: %w", t.name, err)
	}
	for _, c := range conflicts {
		t.conflicts = append(t.conflicts, Conflict{Table: t.name, Key: c[0], Reason: c[1]})
	}
	return nil
}

// The three steps. Restore and remove take $1, the change's xid, and $2,
// force: without it a row someone else changed is left alone (Undo
// refuses to run when there is one). Reinsert brings back only rows that
// are gone. A table without a primary key has its own (undo_whole.go).

func (t *undoTable) restoreSQL() string {
	if len(t.key) == 0 || len(t.settable) == 0 { // whole rows, or only the key: nothing to set
		return "SELECT $1::xid8, $2::boolean"
	}
	return fmt.Sprintf(`UPDATE %s t SET (%s) = ROW(%s) FROM %s u WHERE %s AND u."belay op" <> 'I' AND (t.xmin = ANY (`+changeWriters+`) OR $2)`,
		t.ident, strings.Join(t.settable, ", "), prefixed("u.", t.settable), t.work, joinOn("t.", "u.", t.key))
}

func (t *undoTable) reinsertSQL() string {
	if len(t.key) == 0 {
		return t.reinsertWholeSQL()
	}
	return fmt.Sprintf(`INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s u WHERE u."belay op" <> 'I' AND NOT EXISTS (SELECT FROM %s t WHERE %s)`,
		t.ident, strings.Join(t.columns, ", "), prefixed("u.", t.columns), t.work, t.ident, joinOn("t.", "u.", t.key))
}

func (t *undoTable) removeSQL() string {
	if len(t.key) == 0 {
		return t.removeWholeSQL()
	}
	return fmt.Sprintf(`DELETE FROM %s t USING %s u WHERE %s AND u."belay op" = 'I' AND (t.xmin = ANY (`+changeWriters+`) OR $2)`,
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

// quarantineMove is a table a change's DROP TABLE moved to belay_quarantine.
type quarantineMove struct {
	schema, name, moved string
	taken               bool // a table of the original name exists again
}

func (m quarantineMove) original() string { return m.schema + "." + m.name }

// quarantinedTables reads the change's moves, and whether each original
// name is free.
func quarantinedTables(ctx context.Context, tx pgx.Tx, xid string) ([]quarantineMove, error) {
	rows, err := tx.Query(ctx, `
		SELECT q.original_schema, q.original_name, q.quarantined_name,
		       to_regclass(format('%I.%I', q.original_schema, q.original_name)) IS NOT NULL,
		       to_regclass(format('belay_quarantine.%I', q.quarantined_name)) IS NOT NULL,
		       coalesce(to_char(q.purged_at, 'YYYY-MM-DD HH24:MI TZ'), '')
		FROM belay.quarantined q WHERE q.xid = $1::xid8 ORDER BY q.created_at`, xid)
	if err != nil {
		return nil, fmt.Errorf("read the change's dropped tables: %w", err)
	}
	defer rows.Close()
	var out []quarantineMove
	for rows.Next() {
		var m quarantineMove
		var there bool
		var purged string
		if err := rows.Scan(&m.schema, &m.name, &m.moved, &m.taken, &there, &purged); err != nil {
			return nil, err
		}
		if purged != "" {
			return nil, fmt.Errorf("%s was dropped for good by belay purge on %s (retention): it cannot be brought back", m.original(), purged)
		}
		if !there {
			return nil, fmt.Errorf("%s is no longer in belay_quarantine (someone dropped belay_quarantine.%s): it cannot be brought back", m.original(), m.moved)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// restore moves the table back under its name (as its owner).
func (m quarantineMove) restore(ctx context.Context, tx pgx.Tx) error {
	for _, sql := range []string{
		fmt.Sprintf("ALTER TABLE belay_quarantine.%s SET SCHEMA %s", pgx.Identifier{m.moved}.Sanitize(), pgx.Identifier{m.schema}.Sanitize()),
		fmt.Sprintf("ALTER TABLE %s RENAME TO %s", pgx.Identifier{m.schema, m.moved}.Sanitize(), pgx.Identifier{m.name}.Sanitize()),
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("bring %s back: %w", m.original(), err)
		}
	}
	return nil
}
