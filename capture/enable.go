package capture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// triggers are the capture triggers on a protected table, one per
// operation: statement triggers with the transition tables each needs.
// An UPDATE keeps its new rows too, for the updates undo cannot find by
// key (migration 7).
var triggers = []struct{ name, event, transition string }{
	{"belay_capture_insert", "INSERT", "NEW TABLE AS new_rows"},
	{"belay_capture_update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"},
	{"belay_capture_delete", "DELETE", "OLD TABLE AS old_rows"},
}

// keyTrigger fires only for an UPDATE that sets a column of the primary
// key, and tells belay_capture_update (which fires after it: names fire in
// order) to compare old and new keys; other updates skip the comparison.
const keyTrigger = "belay_capture_key"

// Enable puts the capture triggers on each table (idempotent), in one
// transaction: all tables or none. A table is named as in SQL
// (schema.table, or a name the search_path finds). The connection's role
// must own the tables. The key trigger follows the table's primary key as
// it is now: enable again after changing it.
func Enable(ctx context.Context, db *sql.DB, tables []string) ([]string, error) {
	var installed bool
	if err := db.QueryRowContext(ctx, "SELECT to_regprocedure('belay.capture_key()') IS NOT NULL").Scan(&installed); err != nil {
		return nil, fmt.Errorf("look for belay's schema: %w", err)
	}
	if !installed {
		return nil, errors.New("belay's schema (version 7 or later) is not in this database: run belay init first")
	}
	return alterTables(ctx, db, tables, func(tx *sql.Tx, table string) error {
		for _, tr := range triggers {
			stmt := fmt.Sprintf("CREATE OR REPLACE TRIGGER %s AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION belay.capture()",
				tr.name, tr.event, table, tr.transition)
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		var key sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM belay.key_columns($1::regclass)", table).Scan(&key)
		if err != nil {
			return fmt.Errorf("%s: primary key: %w", table, err)
		}
		stmt := fmt.Sprintf("DROP TRIGGER IF EXISTS %s ON %s", keyTrigger, table) // no key: every update is kept whole
		if key.Valid {
			stmt = fmt.Sprintf("CREATE OR REPLACE TRIGGER %s AFTER UPDATE OF %s ON %s FOR EACH STATEMENT EXECUTE FUNCTION belay.capture_key()",
				keyTrigger, key.String, table)
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		return nil
	})
}

// Disable removes the capture triggers from each table.
func Disable(ctx context.Context, db *sql.DB, tables []string) ([]string, error) {
	return alterTables(ctx, db, tables, func(tx *sql.Tx, table string) error {
		names := []string{keyTrigger}
		for _, tr := range triggers {
			names = append(names, tr.name)
		}
		for _, name := range names {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("DROP TRIGGER IF EXISTS %s ON %s", name, table)); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		return nil
	})
}

// alterTables resolves each name to its table (so the triggers go on the
// table the name means, quoted) and applies change to all in one
// transaction. It returns the tables as schema.table.
func alterTables(ctx context.Context, db *sql.DB, names []string, change func(*sql.Tx, string) error) ([]string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var done []string
	for _, name := range names {
		var schema, table string
		err := tx.QueryRowContext(ctx,
			"SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::regclass AND c.relkind IN ('r', 'p')", name).Scan(&schema, &table)
		if err == sql.ErrNoRows {
			return nil, fmt.Errorf("%s is not a table", name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		qualified := pgx.Identifier{schema, table}.Sanitize()
		if err := change(tx, qualified); err != nil {
			return nil, err
		}
		done = append(done, schema+"."+table)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return done, nil
}
