package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BenchmarkHeldUpdateCommit measures what a hold costs a person at a
// prompt: one single-row UPDATE and its COMMIT, directly, through belay's
// guarded config as an application (not held), and as psql (held: BEGIN
// and the baseline before the UPDATE, the check after it). Run side by
// side, several times:
//
//	go test -run '^$' -bench HeldUpdateCommit -count 5 ./test/
func BenchmarkHeldUpdateCommit(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(moduleRoot, "configs", "belay.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := strings.NewReplacer("sslmode: prefer", "sslmode: disable", "output: stdout", "output: off").Replace(string(raw))
	// As shipped, the interactive profile captures; a second belay holds
	// without capture, to tell the hold's cost from capture's.
	captured := startBelay(b, belayOpts{ConfigYAML: cfg})
	uncaptured := startBelay(b, belayOpts{ConfigYAML: strings.NewReplacer("      capture: true\n", "      capture: false\n",
		"      uncaptured: refuse ", "      # uncaptured: refuse ", "        drop-table: quarantine ", "        # drop-table: quarantine ").Replace(cfg)})
	table := "hold_bench"
	direct := connectDirect(b, upstreamDatabase)
	ctx := context.Background()
	if _, err := direct.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %[1]s; CREATE TABLE %[1]s (id int PRIMARY KEY, n bigint); INSERT INTO %[1]s SELECT g, 0 FROM generate_series(1, 1000) g", table)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = direct.Exec(ctx, "DROP TABLE IF EXISTS "+table) })
	url := upstreamDSN(upstreamDatabase)
	for _, args := range [][]string{{"init", "--database-url", url}, {"capture", "enable", "--database-url", url, table}} {
		if out, code := runBelayCLI(b, args...); code != 0 {
			b.Fatalf("belay %s: exit %d\n%s", args[0], code, out)
		}
	}
	for _, target := range []struct{ name, dsn string }{
		{"direct", url},
		{"belay-not-held", captured.DSN(upstreamDatabase, upstreamUser) + " application_name=bench"},
		{"belay-held", uncaptured.DSN(upstreamDatabase, upstreamUser) + " application_name=psql"},
		{"belay-held-captured", captured.DSN(upstreamDatabase, upstreamUser) + " application_name=psql"},
	} {
		b.Run(target.name, func(b *testing.B) {
			conn := connectWith(b, target.dsn, func(c *pgx.ConnConfig) { c.OnNotice = nil })
			update := "UPDATE " + table + " SET n = n + 1 WHERE id = $1"
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := conn.Exec(ctx, update, i%1000+1); err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if st := conn.PgConn().TxStatus(); st != 'I' {
				b.Fatalf("status %c after COMMIT", st)
			}
		})
	}
}
