package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Purged says what Purge removed.
type Purged struct {
	Changes, Images, Rows int64 // changes that expired, image tables and rows dropped
	Tables                int64 // quarantined tables dropped
	// Gone counts quarantined tables someone had dropped already, now
	// recorded as purged.
	Gone int64
}

// DropFailure is a quarantined table Purge could not drop; the other
// tables of its change were kept too.
type DropFailure struct {
	Table       string // schema.table, its name before DROP TABLE
	Quarantined string // its name in belay_quarantine
	Err         error  // PostgreSQL's reason, with its SQLSTATE
}

// DropFailures is Purge's error when quarantined tables could not be
// dropped. Everything else was done; their changes are kept whole, images
// and tables, and can still be undone.
type DropFailures []DropFailure

func (f DropFailures) Error() string {
	parts := make([]string, len(f))
	for i, d := range f {
		parts[i] = fmt.Sprintf("%s (belay_quarantine.%s): %v", d.Table, d.Quarantined, d.Err)
	}
	return fmt.Sprintf("%d quarantined tables not dropped: %s", len(f), strings.Join(parts, "; "))
}

// dropLockTimeout bounds each quarantined table's DROP: a table someone
// still holds a lock on is a failure to list, not a purge that hangs.
const dropLockTimeout = "10s"

// Purge drops what belay kept of changes older than age: quarantined
// tables (DROP TABLE in two steps), then before-images. Their records
// stay, marked expired once nothing of them is left, and can no longer be
// undone. conn's role must be belay_owner or a member of it. The tables
// are dropped with conn's own rights (belay_owner owns belay_quarantine,
// so its members may drop what others own there), each change's in a
// transaction of its own: those that cannot be dropped (a view or a
// foreign key still depends on one, a lock is not granted) are returned as
// DropFailures after the rest is done.
func Purge(ctx context.Context, conn *pgx.Conn, age time.Duration) (Purged, error) {
	var p Purged
	failed, err := purgeQuarantine(ctx, conn, age, &p)
	if err != nil {
		return p, err
	}
	err = conn.QueryRow(ctx, "SELECT changes, images, image_rows FROM belay.purge($1)", age).Scan(&p.Changes, &p.Images, &p.Rows)
	if err != nil {
		err = fmt.Errorf("purge: %w", err)
	}
	if len(failed) > 0 {
		return p, errors.Join(err, failed)
	}
	return p, err
}

// quarantinedTable is a table a change moved to belay_quarantine.
type quarantinedTable struct {
	xid   string
	oid   uint32
	table string // schema.table before the drop
	moved string // its name in belay_quarantine
}

// purgeQuarantine drops the quarantined tables older than age, change by
// change, each change's in a transaction of its own: a change whose table
// cannot be dropped keeps all of them, and its images, so that undo can
// still bring all of it back. Tables undo moved back are left alone.
func purgeQuarantine(ctx context.Context, conn *pgx.Conn, age time.Duration, p *Purged) (DropFailures, error) {
	rows, err := conn.Query(ctx, `
		SELECT q.xid::text, q.table_oid, format('%I.%I', q.original_schema, q.original_name), q.quarantined_name
		FROM belay.quarantined q
		WHERE q.purged_at IS NULL AND q.created_at < pg_catalog.now() - $1::interval
		  AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c
		                  WHERE c.oid = q.table_oid AND c.relnamespace <> 'belay_quarantine'::regnamespace)
		ORDER BY q.created_at, q.xid, q.table_oid`, age)
	if err != nil {
		return nil, fmt.Errorf("purge: read belay.quarantined: %w", err)
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (quarantinedTable, error) {
		var q quarantinedTable
		err := r.Scan(&q.xid, &q.oid, &q.table, &q.moved)
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("purge: read belay.quarantined: %w", err)
	}
	var failed DropFailures
	for len(tables) > 0 {
		n := 1
		for n < len(tables) && tables[n].xid == tables[0].xid {
			n++
		}
		change := tables[:n]
		tables = tables[n:]
		if err := ctx.Err(); err != nil {
			return failed, fmt.Errorf("purge: %w", err)
		}
		dropped, gone, fail := dropChange(ctx, conn, change)
		if fail != nil {
			failed = append(failed, *fail)
			continue
		}
		p.Tables += dropped
		p.Gone += gone
	}
	return failed, nil
}

// dropChange drops one change's quarantined tables and records them
// purged, in one transaction: all of them or none.
func dropChange(ctx context.Context, conn *pgx.Conn, change []quarantinedTable) (dropped, gone int64, fail *DropFailure) {
	failure := func(q quarantinedTable, err error) (int64, int64, *DropFailure) {
		return 0, 0, &DropFailure{Table: q.table, Quarantined: q.moved, Err: err}
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return failure(change[0], err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+dropLockTimeout+"'"); err != nil {
		return failure(change[0], err)
	}
	for _, q := range change {
		there, err := q.drop(ctx, tx)
		if err != nil {
			return failure(q, err)
		}
		if there {
			dropped++
		} else {
			gone++
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return failure(change[0], err)
	}
	return dropped, gone, nil
}

// drop drops the table, found by its oid so that nothing else of its name
// is dropped, and records it purged. A table already gone is only
// recorded (there is false).
func (q quarantinedTable) drop(ctx context.Context, tx pgx.Tx) (there bool, err error) {
	var ident string
	err = tx.QueryRow(ctx, `
		SELECT format('%I.%I', n.nspname, c.relname)
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = $1 AND n.nspname = 'belay_quarantine'`, q.oid).Scan(&ident)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return false, err
	default:
		if _, err := tx.Exec(ctx, "DROP TABLE "+ident); err != nil {
			return false, err
		}
		there = true
	}
	var noted bool
	if err := tx.QueryRow(ctx, "SELECT belay.note_purged($1::xid8, $2)", q.xid, q.oid).Scan(&noted); err != nil {
		return false, fmt.Errorf("record it purged: %w", err)
	}
	if !noted {
		return false, errors.New("it is still there, or was recorded meanwhile")
	}
	return there, nil
}
