package capture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/belay-proxy/belay/internal/testpg"
)

func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// Init creates the schema once; running it again, or several at once,
// changes nothing.
func TestInitIsIdempotent(t *testing.T) {
	dsn := testpg.FreshDatabase(t)
	db := openDB(t, dsn)
	ctx := context.Background()
	r, err := Init(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if r.From != 0 || r.To < 1 {
		t.Fatalf("first init: %+v, want from 0 to the newest", r)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			again, err := Init(ctx, openDB(t, dsn))
			if err == nil && (again.From != r.To || again.To != r.To) {
				err = fmt.Errorf("init again: %+v, want nothing to do at %d", again, r.To)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var owner string
	if err := db.QueryRowContext(ctx, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'belay'").Scan(&owner); err != nil || owner != "belay_owner" {
		t.Fatalf("schema owner %q, %v; want belay_owner", owner, err)
	}
}

// A client role can add a change through the function, in its own
// transaction, but never write or read the table directly; the function
// records who the session user is, whatever the caller claims.
func TestClientsWriteOnlyThroughTheFunction(t *testing.T) {
	dsn := testpg.FreshDatabase(t)
	ctx := context.Background()
	if _, err := Init(ctx, openDB(t, dsn)); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	role := admin.Config().Database + "_client"
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP OWNED BY "+role)
		_, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	client, err := pgx.Connect(ctx, strings.Replace(dsn, "postgres@", role+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(ctx)

	tx, err := client.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var first, second int64
	if err := tx.QueryRow(ctx, "SELECT belay.record_change('psql', '10.0.0.1:5000', 'UPDATE t SET a = $1', '{\"public.t\": {\"updated\": 1}}')").Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT belay.record_change('psql', '10.0.0.1:5000', 'DELETE FROM t WHERE id = $1', '{\"public.t\": {\"updated\": 1, \"deleted\": 1}}')").Scan(&second); err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatalf("one transaction made changes %d and %d, want one", first, second)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var user, statements, rows string
	if err := admin.QueryRow(ctx, "SELECT user_name, statements, rows::text FROM belay.changes WHERE id = $1", first).Scan(&user, &statements, &rows); err != nil {
		t.Fatal(err)
	}
	if user != role || statements != "UPDATE t SET a = $1\nDELETE FROM t WHERE id = $1" || !strings.Contains(rows, `"deleted": 1`) {
		t.Fatalf("recorded %q %q %s", user, statements, rows)
	}

	// A rolled-back transaction leaves no record.
	tx, err = client.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT belay.record_change('psql', '', 'UPDATE t SET a = $1', '{}')"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM belay.changes").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d changes, %v; want 1", n, err)
	}

	for _, sql := range []string{
		"INSERT INTO belay.changes (xid, user_name, database_name) VALUES (pg_current_xact_id(), 'x', 'y')",
		"UPDATE belay.changes SET status = 'undone'",
		"DELETE FROM belay.changes",
		"SELECT count(*) FROM belay.changes",
		"CREATE TABLE belay.mine (a int)",
		"CREATE TABLE belay_images.mine (a int)",
	} {
		_, err := client.Exec(ctx, sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Errorf("%s: %v, want permission denied (42501)", sql, err)
		}
	}
}
