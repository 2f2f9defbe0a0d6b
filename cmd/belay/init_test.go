package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/belay-proxy/belay/internal/testpg"
)

// belay init against a fresh database: it migrates once, then has nothing
// to do; a connection it cannot make is exit 1 with the reason.
func TestInit(t *testing.T) {
	url := testpg.FreshDatabase(t)
	for _, want := range []string{"migrated from version 0 to ", ": nothing to do"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"init", "--database-url", url}, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("stdout %q, want %q", stdout.String(), want)
		}
	}
	var stdout, stderr bytes.Buffer
	bad := strings.Replace(url, "postgres@", "no_such_role_belay@", 1)
	if code := run([]string{"init", "--database-url", bad}, strings.NewReader(""), &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no_such_role_belay") {
		t.Fatalf("exit %d, stderr %q; want 1 naming the role", code, stderr.String())
	}
}

// belay capture enable and disable against that database.
func TestCaptureCommand(t *testing.T) {
	url := testpg.FreshDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE orders (id int PRIMARY KEY); CREATE SCHEMA shop; CREATE TABLE shop.items (id int); CREATE TABLE shop."Odd" (id int); CREATE SCHEMA empty`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"capture", "enable", "--database-url", url, "orders"}, 1, "run belay init first"},
		{[]string{"init", "--database-url", url}, 0, "migrated"},
		{[]string{"capture", "enable", "--database-url", url, "orders"}, 0, "capture enabled on public.orders"},
		{[]string{"capture", "enable", "--database-url", url, "nope"}, 1, `relation "nope" does not exist`},
		{[]string{"capture", "disable", "--database-url", url, "orders"}, 0, "capture disabled on public.orders"},
		{[]string{"capture", "enable", "--database-url", url, "--schema", "shop", "orders"}, 0, "capture enabled on public.orders, shop.Odd, shop.items"},
		{[]string{"capture", "enable", "--database-url", url, "--schema", "empty"}, 1, "schema empty has no tables (or does not exist)"},
		{[]string{"capture", "enable", "--database-url", url, "--schema", "belay_images"}, 1, "schema belay_images is belay's own"},
		{[]string{"capture", "enable", "--database-url", url}, 2, "name the tables, or --schema"},
		{[]string{"purge", "--older-than", "30d", "--database-url", url}, 0, "purged 0 image tables (0 rows), dropped 0 quarantined tables; 0 changes"},
		{[]string{"purge", "--older-than", "soon", "--database-url", url}, 2, `"soon" is not a duration`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Fatalf("%v: exit %d, out %q %q; want %d and %q", tc.args[:2], code, stdout.String(), stderr.String(), tc.code, tc.out)
		}
	}
}
