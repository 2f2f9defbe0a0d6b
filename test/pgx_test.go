package test

// pgx through belay: the query protocols an application uses.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var execModes = []pgx.QueryExecMode{
	pgx.QueryExecModeSimpleProtocol,
	pgx.QueryExecModeExec,
	pgx.QueryExecModeDescribeExec,
	pgx.QueryExecModeCacheDescribe,
	pgx.QueryExecModeCacheStatement, // pgx's default: named prepared statements
}

// TestPgxQueryModes runs the same queries in every pgx exec mode: simple
// protocol (parameters interpolated client-side), unnamed statements with and
// without Describe, and cached named statements.
func TestPgxQueryModes(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	for _, mode := range execModes {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn := connectWith(t, p.URL(upstreamDatabase, "postgres"), func(c *pgx.ConnConfig) {
				c.DefaultQueryExecMode = mode
			})
			tbl := tableName(t)
			for i := 0; i < 3; i++ { // repeated, so cached modes hit their cache
				checkQueries(ctx, t, conn, tbl, i)
			}
		})
	}
}

func checkQueries(ctx context.Context, t *testing.T, conn *pgx.Conn, tbl string, round int) {
	t.Helper()
	var (
		n    int
		s    string
		null *string
		b    []byte
		arr  []int32
	)
	in := fmt.Sprintf("it's \"quoted\", grüße, round %d", round)
	err := conn.QueryRow(ctx, "SELECT $1::int + 1, $2::text, $3::text, $4::bytea, $5::int[]",
		41, in, nil, []byte{0, 1, 255}, []int32{1, 2, 3}).Scan(&n, &s, &null, &b, &arr)
	if err != nil {
		t.Fatalf("round %d: select params: %v", round, err)
	}
	if n != 42 || s != in || null != nil || !cmp.Equal(b, []byte{0, 1, 255}) || !cmp.Equal(arr, []int32{1, 2, 3}) {
		t.Errorf("round %d: got %d %q %v %v %v", round, n, s, null, b, arr)
	}

	rows, err := conn.Query(ctx, "SELECT g, 'row ' || g FROM generate_series(1, $1::int) AS g", 1000)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		G int
		S string
	}])
	if err != nil {
		t.Fatalf("round %d: collect: %v", round, err)
	}
	if len(got) != 1000 || got[999].G != 1000 || got[999].S != "row 1000" {
		t.Errorf("round %d: got %d rows, last %+v", round, len(got), got[len(got)-1])
	}

	if round == 0 {
		if _, err := conn.Exec(ctx, "CREATE TABLE "+tbl+" (id int PRIMARY KEY, v text)"); err != nil {
			t.Fatal(err)
		}
	}
	tag, err := conn.Exec(ctx, "INSERT INTO "+tbl+" SELECT g + $1::int, 'v' FROM generate_series(1, 10) g", round*10)
	if err != nil {
		t.Fatal(err)
	}
	if tag.String() != "INSERT 0 10" {
		t.Errorf("round %d: command tag %q, want INSERT 0 10", round, tag)
	}

	_, err = conn.Exec(ctx, "INSERT INTO "+tbl+" VALUES ($1, 'dup')", 1)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != tbl+"_pkey" {
		t.Errorf("round %d: duplicate key: got %v, want 23505 on %s_pkey", round, err, tbl)
	}
	// the connection is fine after an error
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil || n != 10*(round+1) {
		t.Errorf("round %d: count after error: %d, %v; want %d", round, n, err, 10*(round+1))
	}
}

// TestPgxPrepared prepares named statements explicitly and checks they live
// on the server session (pg_prepared_statements), so belay kept one backend.
func TestPgxPrepared(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := connect(t, p.URL(upstreamDatabase, "postgres"))

	if _, err := conn.Prepare(ctx, "double", "SELECT $1::int * 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Prepare(ctx, "greet", "SELECT 'hello ' || $1::text"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		var n int
		var s string
		if err := conn.QueryRow(ctx, "double", i).Scan(&n); err != nil || n != 2*i {
			t.Fatalf("double(%d) = %d, %v", i, n, err)
		}
		if err := conn.QueryRow(ctx, "greet", fmt.Sprint(i)).Scan(&s); err != nil || s != fmt.Sprintf("hello %d", i) {
			t.Fatalf("greet(%d) = %q, %v", i, s, err)
		}
	}
	var names []string
	rows, _ := conn.Query(ctx, "SELECT name FROM pg_prepared_statements WHERE name IN ('double', 'greet') ORDER BY name",
		pgx.QueryExecModeSimpleProtocol)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(names, []string{"double", "greet"}) {
		t.Errorf("server has prepared %v, want [double greet]", names)
	}
	if err := conn.Deallocate(ctx, "double"); err != nil {
		t.Fatal(err)
	}
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'double'",
		pgx.QueryExecModeSimpleProtocol).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("after Deallocate: %d statements named double, %v", n, err)
	}
}

// TestPgxBatch sends 100 mixed queries in one pipeline and reads every result.
func TestPgxBatch(t *testing.T) {
	t.Parallel()
	ctx, conn, tbl := tableThroughBelay(t, "id int PRIMARY KEY")

	b := &pgx.Batch{}
	for i := 0; i < 100; i++ {
		switch i % 3 {
		case 0:
			b.Queue("INSERT INTO "+tbl+" VALUES ($1)", i)
		case 1:
			b.Queue("SELECT $1::int * 2", i)
		case 2:
			b.Queue("INSERT INTO "+tbl+" VALUES ($1) RETURNING id + 1000", i)
		}
	}
	br := conn.SendBatch(ctx, b)
	for i := 0; i < 100; i++ {
		switch i % 3 {
		case 0:
			tag, err := br.Exec()
			if err != nil || tag.String() != "INSERT 0 1" {
				t.Fatalf("query %d: %q, %v", i, tag, err)
			}
		case 1, 2:
			want := 2 * i
			if i%3 == 2 {
				want = i + 1000
			}
			var n int
			if err := br.QueryRow().Scan(&n); err != nil || n != want {
				t.Fatalf("query %d: %d, %v; want %d", i, n, err, want)
			}
		}
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil || n != 67 {
		t.Errorf("table holds %d rows (%v), want 67", n, err)
	}
}

// TestPgxBatchError puts an error in the middle of a pipeline: the batch
// runs as one implicit transaction, so PostgreSQL skips the rest up to Sync
// and rolls back the rows before the error, and the connection stays usable.
func TestPgxBatchError(t *testing.T) {
	t.Parallel()
	ctx, conn, tbl := tableThroughBelay(t, "id int")

	b := &pgx.Batch{}
	b.Queue("INSERT INTO " + tbl + " VALUES (1)")
	b.Queue("SELECT 1/0")
	b.Queue("INSERT INTO " + tbl + " VALUES (2)")
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		t.Errorf("first insert: %v", err)
	}
	var pgErr *pgconn.PgError
	if _, err := br.Exec(); !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Errorf("SELECT 1/0: %v, want 22012", err)
	}
	if _, err := br.Exec(); err == nil {
		t.Errorf("insert after the error succeeded, want it skipped")
	}
	_ = br.Close()

	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil || n != 0 {
		t.Errorf("table holds %d rows (%v), want 0: the failed batch must roll back", n, err)
	}
}

// TestPgxManyConnections runs 50 connections of 200 queries each at once.
func TestPgxManyConnections(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const workers, queries = 50, 200

	conns := make([]*pgx.Conn, workers)
	for w := range conns {
		mode := execModes[w%len(execModes)]
		conns[w] = connectWith(t, p.URL(upstreamDatabase, "postgres"), func(c *pgx.ConnConfig) {
			c.DefaultQueryExecMode = mode
		})
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := 0; q < queries; q++ {
				var n int
				var s string
				err := conn.QueryRow(ctx, "SELECT $1::int * 2, $2::text || '!'", w*1000+q, fmt.Sprintf("w%d q%d", w, q)).
					Scan(&n, &s)
				if err != nil {
					errs <- fmt.Errorf("worker %d query %d: %w", w, q, err)
					return
				}
				if n != 2*(w*1000+q) || s != fmt.Sprintf("w%d q%d!", w, q) {
					errs <- fmt.Errorf("worker %d query %d: got %d %q", w, q, n, s)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
