package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// guardedConfig is configs/belay.yaml from the repository.
func guardedConfig(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "configs", "belay.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// guardedTable creates a table of three rows, directly on PostgreSQL,
// with capture on (configs/belay.yaml's interactive profile refuses held
// writes to tables without it).
func guardedTable(t *testing.T) string {
	t.Helper()
	name := tableName(t)
	conn := connectDirect(t, upstreamDatabase)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE "+name+" (id int PRIMARY KEY, note text); INSERT INTO "+name+" VALUES (1, 'a'), (2, 'b'), (3, 'delete from t')"); err != nil {
		t.Fatal(err)
	}
	protectTable(t, name)
	return name
}

// protectTable runs belay init on the test database (once) and belay
// capture enable on table, as an operator would.
func protectTable(t *testing.T, table string) {
	t.Helper()
	if directMode {
		return // no belay binary; belay's refusals are not tested then
	}
	url := upstreamDSN(upstreamDatabase)
	initOnce.Do(func() { initOut, initCode = runBelayCLI(t, "init", "--database-url", url) })
	if initCode != 0 {
		t.Fatalf("belay init: exit %d\n%s", initCode, initOut)
	}
	if out, code := runBelayCLI(t, "capture", "enable", "--database-url", url, table); code != 0 {
		t.Fatalf("belay capture enable %s: exit %d\n%s", table, code, out)
	}
}

var (
	initOnce sync.Once
	initOut  string
	initCode int
)

func rowCount(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := connectDirect(t, upstreamDatabase).QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Through belay with configs/belay.yaml, as user postgres from psql, the
// dangerous forms and their evasions fail with a belay: error naming the
// rule, and the table is untouched.
func TestGuardBlocksThroughPsql(t *testing.T) {
	requireBelay(t)
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	tbl := guardedTable(t)
	dsn := p.DSN(upstreamDatabase, "postgres")
	r := strings.NewReplacer("TBL", tbl)
	blocked := []struct{ rule, sql string }{
		{"no-where", "DELETE FROM TBL"},
		{"no-where", "dElEtE fRoM TBL"},
		{"no-where", "DELETE FROM ONLY TBL"},
		{"no-where", "DELETE FROM public.TBL"},
		{"no-where", `DELETE FROM "TBL"`},
		{"no-where", "/* c */ DELETE /* x */ FROM TBL -- y"},
		{"no-where", "UPDATE TBL SET note = 'x'"},
		{"no-where", "WITH gone AS (DELETE FROM TBL RETURNING *) SELECT count(*) FROM gone"},
		{"no-where", "SELECT 1; DELETE FROM TBL"},
		{"no-where", "EXPLAIN ANALYZE DELETE FROM TBL"},
		{"no-where", "PREPARE wipe AS DELETE FROM TBL"},
		{"no-where", "DO $$ BEGIN DELETE FROM TBL; END $$"},
		{"constant-where", "DELETE FROM TBL WHERE 1=1"},
		{"constant-where", "DELETE FROM TBL WHERE true"},
		{"constant-where", "DELETE FROM TBL WHERE 'a'='a'"},
		{"constant-where", "DELETE FROM TBL WHERE NOT false"},
		{"constant-where", "DELETE FROM TBL WHERE id = id"},
		{"constant-where", "UPDATE TBL SET note = 'x' WHERE id = 2 OR 1 = 1"},
		{"merge", "MERGE INTO TBL USING (SELECT 1 AS id) s ON TBL.id = s.id WHEN MATCHED THEN DELETE"},
		{"constant-where", "MERGE INTO TBL USING (SELECT 1 AS id) s ON true WHEN MATCHED THEN DELETE"},
		{"truncate", "TRUNCATE TBL"},
		{"drop-table", "DROP TABLE TBL CASCADE"}, // DROP TABLE alone is kept in quarantine: TestDropTableUndoThroughPsql
	}
	for _, c := range blocked {
		sql := r.Replace(c.sql)
		_, stderr, err := runPsql(t, dsn, "-c", sql)
		if err == nil || !strings.Contains(stderr, "belay: "+c.rule) {
			t.Errorf("%s: want a belay: %s error, got err=%v stderr=%s", sql, c.rule, err, stderr)
		}
		if n := rowCount(t, tbl); n != 3 {
			t.Fatalf("%s: the table has %d rows, want 3 (untouched)", sql, n)
		}
	}

	passed := []string{
		"SELECT count(*) FROM TBL WHERE note = 'delete from t'",
		"SELECT 'DELETE FROM TBL'",
		"SELECT $$DELETE FROM TBL$$",
		"SELECT count(*) FROM TBL -- DELETE FROM TBL",
	}
	for _, sql := range passed {
		sql = r.Replace(sql)
		if out, stderr, err := runPsql(t, dsn, "-Atc", sql); err != nil {
			t.Errorf("%s: want it to pass, got %v: %s", sql, err, stderr)
		} else if strings.TrimSpace(out) == "" {
			t.Errorf("%s: no output", sql)
		}
	}
}

// psql and PostgreSQL agree after a block inside a transaction: the
// transaction is failed on both sides, and ROLLBACK clears it.
func TestGuardInsideTransactionPsql(t *testing.T) {
	requireBelay(t)
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	tbl := guardedTable(t)
	script := strings.ReplaceAll(`BEGIN;
INSERT INTO TBL VALUES (10, 'new');
DELETE FROM TBL;
SELECT 'after the block';
ROLLBACK;
SELECT count(*) AS rows_after FROM TBL;
`, "TBL", tbl)
	// From a file psql sends each statement on its own, as at its prompt.
	file := filepath.Join(t.TempDir(), "fix.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, _ := runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-v", "ON_ERROR_STOP=0", "-At", "-f", file)
	if !strings.Contains(stderr, "belay: no-where") {
		t.Fatalf("no belay error: %s", stderr)
	}
	if !strings.Contains(stderr, "current transaction is aborted") {
		t.Fatalf("PostgreSQL did not see the transaction fail: %s", stderr)
	}
	if n := rowCount(t, tbl); n != 3 {
		t.Fatalf("%d rows, want 3 (the INSERT rolled back, nothing deleted); psql said %s", n, out)
	}
}

// pgx in both protocols: the error carries SQLSTATE, rule, detail and
// hint; inside a transaction both sides agree; PREPARE is decided at
// prepare time and EXECUTE of an unknown name fails closed.
func TestGuardPgx(t *testing.T) {
	requireBelay(t)
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	tbl := guardedTable(t)
	ctx := context.Background()
	conn := connectWith(t, p.DSN(upstreamDatabase, "postgres"), func(c *pgx.ConnConfig) {
		c.RuntimeParams["application_name"] = "psql" // the interactive profile
	})

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement} {
		_, err := conn.Exec(ctx, "DELETE FROM "+tbl, mode)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" || !strings.HasPrefix(pe.Message, "belay: no-where") || pe.Hint == "" || !strings.Contains(pe.Detail, tbl) {
			t.Fatalf("mode %v: want belay's 42501 no-where error naming %s, got %v (%+v)", mode, tbl, err, pe)
		}
		if conn.PgConn().TxStatus() != 'I' {
			t.Fatalf("mode %v: status %c after the block", mode, conn.PgConn().TxStatus())
		}
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+tbl+" VALUES ($1, 'x')", 11); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE "+tbl+" SET note = $1", "y"); err == nil {
		t.Fatal("UPDATE without WHERE passed inside a transaction")
	}
	if conn.PgConn().TxStatus() != 'E' {
		t.Fatalf("status %c, want E (failed) after a block in a transaction", conn.PgConn().TxStatus())
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := conn.Exec(ctx, "PREPARE wipe AS DELETE FROM "+tbl); err == nil {
		t.Fatal("PREPARE of a DELETE without WHERE passed")
	}
	if _, err := conn.Exec(ctx, "PREPARE one AS SELECT count(*) FROM "+tbl+" WHERE id = $1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "EXECUTE one(1)", pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil || n != 1 {
		t.Fatalf("EXECUTE of an allowed statement: %d %v", n, err)
	}
	// PREPARE and EXECUTE in one query string.
	if _, err := conn.Exec(ctx, "PREPARE two AS SELECT count(*) FROM "+tbl+" WHERE id = $1; EXECUTE two(2)", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("PREPARE and EXECUTE in one string: %v", err)
	}
	_, err = conn.Exec(ctx, "EXECUTE never_prepared", pgx.QueryExecModeSimpleProtocol)
	if err == nil || !strings.Contains(err.Error(), "belay: unknown-prepared") {
		t.Fatalf("EXECUTE of an unknown name: want unknown-prepared, got %v", err)
	}
	if got := rowCount(t, tbl); got != 3 {
		t.Fatalf("%d rows, want 3", got)
	}
}

// The blocked counter on /metrics counts by rule and profile.
func TestGuardMetrics(t *testing.T) {
	requireBelay(t)
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	tbl := guardedTable(t)
	for i := 0; i < 2; i++ {
		_, _, _ = runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-c", "DELETE FROM "+tbl)
	}
	_, body := httpGet(t, p.AdminURL()+"/metrics")
	if !strings.Contains(body, `belay_blocked_total{profile="interactive",rule="no-where"} 2`) {
		t.Fatalf("metrics do not count the two blocks:\n%s", grepLines(body, "belay_blocked"))
	}
	if !strings.Contains(body, `belay_statements_total{decision="block",kind="write"} 2`) {
		t.Fatalf("statements_total does not count them:\n%s", grepLines(body, "belay_statements_total"))
	}
}

// 100 000 nested parentheses are refused with an error, and belay keeps
// serving (libpg_query would overflow its stack on them).
func TestGuardRefusesDeepNesting(t *testing.T) {
	requireBelay(t)
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := connect(t, p.DSN(upstreamDatabase, "postgres"))
	sql := "SELECT " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000)
	_, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "54001" || !strings.Contains(pe.Message, "belay: too-complex") {
		t.Fatalf("want belay's 54001 too-complex, got %v", err)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("belay unusable after deep input: %v", err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// SIGHUP swaps the policy: an open session sees it at its next statement;
// an invalid file keeps the running policy, and the failure is counted.
func TestGuardPolicyReload(t *testing.T) {
	requireBelay(t)
	auditOnly, err := os.ReadFile(filepath.Join(moduleRoot, "configs", "audit-only.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := startBelay(t, belayOpts{ConfigYAML: string(auditOnly)})
	path := configPathOf(t, p)
	tbl := guardedTable(t)
	ctx := context.Background()
	conn := connectWith(t, p.DSN(upstreamDatabase, "postgres"), func(c *pgx.ConnConfig) {
		c.RuntimeParams["application_name"] = "psql"
	})
	// Audit-only: relayed (and audited).
	if _, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = 'audited'"); err != nil {
		t.Fatalf("audit-only blocked: %v", err)
	}

	offset := len(p.Stderr())
	writeConfigFile(t, path, guardedConfig(t))
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitStderr(t, p, offset, "config reloaded", 5*time.Second)
	if _, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = 'blocked'"); err == nil || !strings.Contains(err.Error(), "belay: no-where") {
		t.Fatalf("the open session did not get the new policy: %v", err)
	}

	offset = len(p.Stderr())
	writeConfigFile(t, path, strings.Replace(guardedConfig(t), "no-where: block", "no-wher: allow", 1))
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitStderr(t, p, offset, "no-wher", 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	if _, err := conn.Exec(ctx, "UPDATE "+tbl+" SET note = 'still blocked'"); err == nil || !strings.Contains(err.Error(), "belay: no-where") {
		t.Fatalf("an invalid file changed the running policy: %v", err)
	}
	_, body := httpGet(t, p.AdminURL()+"/metrics")
	if !strings.Contains(body, `belay_config_reloads_total{result="error"} 1`) {
		t.Fatalf("the failed reload is not counted:\n%s", grepLines(body, "reloads"))
	}
}

// belay's own schema is nobody's to write, applications included.
func TestGuardProtectsBelaySchema(t *testing.T) {
	requireBelay(t)
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	ctx := context.Background()
	conn := connect(t, p.DSN(upstreamDatabase, "postgres")) // no application_name: the applications profile
	for _, sql := range []string{
		"INSERT INTO belay.changes (id) VALUES (1)",
		"UPDATE belay.changes SET status = 'x' WHERE id = 1",
		"DROP TABLE belay.changes",
	} {
		if _, err := conn.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "belay: protected-schema") {
			t.Errorf("%s: want belay: protected-schema, got %v", sql, err)
		}
	}
}

// psql's \lo_unlink is a FunctionCall message (libpq's fast path), which
// belay decides like a statement (rule function-call). With
// configs/belay.yaml, psql itself (profile interactive, holding) gets
// belay's error — inside the transaction psql opens around the call, so
// PostgreSQL raises it; another application (profile applications) has the
// call audited and relayed, and PostgreSQL answers it.
func TestGuardFunctionCallLoUnlinkPsql(t *testing.T) {
	requireBelay(t)
	p := startBelay(t, belayOpts{ConfigYAML: guardedConfig(t)})
	dsn := p.DSN(upstreamDatabase, "postgres")
	var oid uint32
	if err := connectDirect(t, upstreamDatabase).QueryRow(context.Background(), "SELECT 'pg_catalog.lo_unlink(oid)'::regprocedure::oid").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	statement := fmt.Sprintf(`"statement":"fast-path call of function OID %d"`, oid)

	_, stderr, err := runPsql(t, dsn, "-c", `\lo_unlink 12345`)
	if err == nil || !strings.Contains(stderr, "belay: function-call") || strings.Contains(stderr, "does not exist") {
		t.Fatalf("psql (interactive): want belay's function-call error, got err=%v stderr=%s", err, stderr)
	}
	_, stderr, err = runPsql(t, dsn+" application_name=belay-lo-app", "-c", `\lo_unlink 12345`)
	if err == nil || strings.Contains(stderr, "belay:") || !strings.Contains(stderr, "large object 12345 does not exist") {
		t.Fatalf("applications: want PostgreSQL's error about the missing large object, got err=%v stderr=%s", err, stderr)
	}

	lines := waitAuditLines(t, p, 2, func(s string) bool { return strings.Contains(s, statement) })
	if len(lines) != 2 {
		t.Fatalf("want two audit lines with %s, got %d:\n%s", statement, len(lines), strings.Join(lines, "\n"))
	}
	want := map[string]auditLine{
		"psql":         {Protocol: "fastpath", Kind: "utility", Decision: "block", Rule: "function-call", Status: "blocked", SQLState: "42501"},
		"belay-lo-app": {Protocol: "fastpath", Kind: "utility", Decision: "audit", Rule: "function-call", Status: "error", SQLState: "42704"},
	}
	for _, raw := range lines {
		var l auditLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatal(err)
		}
		w, ok := want[l.ApplicationName]
		if !ok || l.Protocol != w.Protocol || l.Kind != w.Kind || l.Decision != w.Decision || l.Rule != w.Rule || l.Status != w.Status || l.SQLState != w.SQLState {
			t.Errorf("audit line %s\nwant %+v", raw, w)
		}
		delete(want, l.ApplicationName)
	}
}
