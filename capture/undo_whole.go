package capture

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A table without a primary key is undone on whole rows, as multisets:
// the change removed its old rows (D and K images) and added its new ones
// (I and N images), so undo removes new EXCEPT ALL old and puts back old
// EXCEPT ALL new. Rows are compared by their text (row(…)::text): json,
// point and other types without an equality operator compare too.

// prepareWhole collects the rows to remove ("belay op" I) and to put back
// (D) into a temporary table, each with its text and its number among
// equal rows, and finds the conflicts.
func (t *undoTable) prepareWhole(ctx context.Context, tx pgx.Tx, xid string) error {
	selects := make([]string, len(t.images))
	for i, img := range t.images {
		if img.side() == "U" {
			return fmt.Errorf("%s has no primary key, and the change's update of it was captured without its new rows (triggers from before belay's schema 7): it cannot be undone", t.name)
		}
		selects[i] = fmt.Sprintf(`SELECT %s::text AS "belay op", %s FROM belay_images.%s i`, quoteLiteral(img.side()), prefixed("i.", t.columns), img.table)
	}
	t.work = pgx.Identifier{fmt.Sprintf("belay_undo_%d", t.oid)}.Sanitize()
	create := fmt.Sprintf(`CREATE TEMPORARY TABLE %[1]s ON COMMIT DROP AS
		WITH numbered AS (
			SELECT img.*, row(%[2]s)::text AS "belay row",
			       row_number() OVER (PARTITION BY img."belay op", row(%[2]s)::text) AS "belay n"
			FROM (%[3]s) img
		)
		SELECT n.* FROM numbered n
		WHERE NOT EXISTS (SELECT FROM numbered o WHERE o."belay op" <> n."belay op" AND o."belay row" = n."belay row" AND o."belay n" = n."belay n")`,
		t.work, prefixed("img.", t.columns), strings.Join(selects, " UNION ALL "))
	if _, err := tx.Exec(ctx, create); err != nil {
		return fmt.Errorf("images of %s: %w", t.name, err)
	}
	return t.findWholeConflicts(ctx, tx, xid)
}

// findWholeConflicts counts what undo does and lists the rows to remove
// that are not all there as the change wrote them (the first 1000): each
// must be found that many times with the change's xmin.
func (t *undoTable) findWholeConflicts(ctx context.Context, tx pgx.Tx, xid string) error {
	query := fmt.Sprintf(`
		WITH want AS (
			SELECT "belay row" AS r, count(*) AS n FROM %[1]s WHERE "belay op" = 'I' GROUP BY 1
		), have AS (
			SELECT row(%[2]s)::text AS r, count(*) AS n, count(*) FILTER (WHERE t.xmin = ANY (`+changeWriters+`)) AS ours
			FROM %[3]s t WHERE row(%[2]s)::text IN (SELECT r FROM want) GROUP BY 1
		), c AS (
			SELECT CASE WHEN length(w.r) > 100 THEN left(w.r, 99) || '…' ELSE w.r END AS key,
			       CASE WHEN w.n = 1 THEN 'changed or deleted by someone else since'
			            ELSE format('%%s of its %%s copies changed or deleted by someone else since', w.n - coalesce(h.ours, 0), w.n) END AS reason
			FROM want w LEFT JOIN have h USING (r)
			WHERE coalesce(h.ours, 0) < w.n
			ORDER BY 1 LIMIT 1000
		)
		SELECT (SELECT count(*) FROM %[1]s WHERE "belay op" = 'D'),
		       (SELECT coalesce(sum(least(w.n, h.n)), 0) FROM want w JOIN have h USING (r))::bigint,
		       (SELECT coalesce(json_agg(json_build_array(c.key, c.reason)), '[]') FROM c)`,
		t.work, prefixed("t.", t.columns), t.ident)
	var conflicts [][2]string
	if err := tx.QueryRow(ctx, query, xid).Scan(&t.plan.Reinsert, &t.plan.Remove, &conflicts); err != nil {
		return fmt.Errorf("current rows of %s: %w", t.name, err)
	}
	for _, c := range conflicts {
		t.conflicts = append(t.conflicts, Conflict{Table: t.name, Key: c[0], Reason: c[1]})
	}
	return nil
}

// reinsertWholeSQL puts back the rows the change removed.
func (t *undoTable) reinsertWholeSQL() string {
	return fmt.Sprintf(`INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s u WHERE u."belay op" = 'D'`,
		t.ident, strings.Join(t.columns, ", "), prefixed("u.", t.columns), t.work)
}

// removeWholeSQL deletes, of each row the change added, as many copies as
// it added, by their place (tableoid, ctid): the change's own first, and
// others' only when forced ($1 the change's xid, $2 force).
func (t *undoTable) removeWholeSQL() string {
	return fmt.Sprintf(`
		DELETE FROM %[1]s t USING (
			SELECT c.tableoid, c.ctid FROM (
				SELECT x.tableoid, x.ctid, row(%[2]s)::text AS r,
				       row_number() OVER (PARTITION BY row(%[2]s)::text ORDER BY x.xmin = ANY (`+changeWriters+`) DESC) AS n
				FROM %[1]s x
				WHERE (x.xmin = ANY (`+changeWriters+`) OR $2) AND row(%[2]s)::text IN (SELECT "belay row" FROM %[3]s WHERE "belay op" = 'I')
			) c JOIN (SELECT "belay row" AS r, count(*) AS n FROM %[3]s WHERE "belay op" = 'I' GROUP BY 1) w ON w.r = c.r
			WHERE c.n <= w.n
		) d WHERE t.tableoid = d.tableoid AND t.ctid = d.ctid`,
		t.ident, prefixed("x.", t.columns), t.work)
}
