package test

// psql through belay: what a person at the keyboard does.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPsqlMultiStatement(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	out, errOut, err := runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-At", "-c", "SELECT 1; SELECT 2")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, errOut)
	}
	if out != "1\n2\n" {
		t.Errorf("psql -c 'SELECT 1; SELECT 2' printed %q, want %q", out, "1\n2\n")
	}
}

func TestPsqlError(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	out, errOut, err := runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-At", "-c", "SELECT 1/0")
	if code := exitCode(err); code != 1 {
		t.Errorf("psql -c 'SELECT 1/0' exit code %d (%v), want 1", code, err)
	}
	if !strings.Contains(errOut, "ERROR:  division by zero") {
		t.Errorf("stderr %q does not contain %q", errOut, "ERROR:  division by zero")
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
}

// TestPsqlScriptStopsOnError runs a script with an error in the middle: the
// statements before it ran, the ones after it did not, and psql exits 3.
func TestPsqlScriptStopsOnError(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	tbl := tableName(t)
	script := fmt.Sprintf(`CREATE TABLE %[1]s (id int);
INSERT INTO %[1]s VALUES (1);
SELECT 'before' AS marker;
SELECT 1/0;
INSERT INTO %[1]s VALUES (2);
SELECT 'after' AS marker;
`, tbl)
	file := filepath.Join(t.TempDir(), "script.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-At", "-f", file)
	if code := exitCode(err); code != 3 {
		t.Errorf("exit code %d (%v), want 3 (script stopped by ON_ERROR_STOP)", code, err)
	}
	if !strings.Contains(errOut, "division by zero") {
		t.Errorf("stderr %q lacks the error", errOut)
	}
	if !strings.Contains(out, "before") || strings.Contains(out, "after") {
		t.Errorf("stdout %q: want 'before' and not 'after'", out)
	}
	var ids []int32
	rows, err := connectDirect(t, upstreamDatabase).Query(context.Background(), "SELECT id FROM "+tbl+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int32
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(ids) != 1 || ids[0] != 1 {
		t.Errorf("table holds ids %v, want [1]", ids)
	}
}

// TestPsqlCopy moves rows in with \copy FROM and out with \copy TO and
// compares the files byte for byte. The rows hold what CSV finds hard:
// delimiters, quotes, newlines, NULL versus empty string, non-ASCII.
func TestPsqlCopy(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	tbl := tableName(t)
	dsn := p.DSN(upstreamDatabase, "postgres")
	if _, errOut, err := runPsql(t, dsn, "-c", "CREATE TABLE "+tbl+" (id int PRIMARY KEY, note text)"); err != nil {
		t.Fatalf("create: %v\n%s", err, errOut)
	}

	const n = 5000
	var in bytes.Buffer
	for i := 1; i <= n; i++ {
		var note string
		null := false
		switch i % 6 {
		case 0:
			note = fmt.Sprintf("plain %d", i)
		case 1:
			note = fmt.Sprintf(`"a, b" and "c" %d`, i) // delimiter and quotes
		case 2:
			note = fmt.Sprintf("line one\nline two %d", i)
		case 3:
			null = true
		case 4:
			note = "" // empty string, not NULL
		case 5:
			note = fmt.Sprintf("grüße ✓ %d", i)
		}
		fmt.Fprintf(&in, "%d,%s\n", i, csvField(note, null))
	}
	dir := t.TempDir()
	inFile := filepath.Join(dir, "in.csv")
	outFile := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(inFile, in.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	out, errOut, err := runPsql(t, dsn, "-c", fmt.Sprintf(`\copy %s FROM '%s' WITH (FORMAT csv)`, tbl, inFile))
	if err != nil {
		t.Fatalf("\\copy from: %v\n%s", err, errOut)
	}
	if want := fmt.Sprintf("COPY %d\n", n); out != want {
		t.Errorf("\\copy from printed %q, want %q", out, want)
	}
	out, errOut, err = runPsql(t, dsn, "-c",
		fmt.Sprintf(`\copy (SELECT id, note FROM %s ORDER BY id) TO '%s' WITH (FORMAT csv)`, tbl, outFile))
	if err != nil {
		t.Fatalf("\\copy to: %v\n%s", err, errOut)
	}
	if want := fmt.Sprintf("COPY %d\n", n); out != want {
		t.Errorf("\\copy to printed %q, want %q", out, want)
	}
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, in.Bytes()) {
		t.Errorf("copied out %d bytes differ from the %d copied in; first difference at byte %d",
			len(got), in.Len(), firstDiff(got, in.Bytes()))
	}

	var count, nulls, empties int
	err = connectDirect(t, upstreamDatabase).QueryRow(context.Background(),
		"SELECT count(*), count(*) FILTER (WHERE note IS NULL), count(*) FILTER (WHERE note = '') FROM "+tbl).
		Scan(&count, &nulls, &empties)
	if err != nil {
		t.Fatal(err)
	}
	if count != n || nulls != n/6 || empties != n/6 {
		t.Errorf("table holds %d rows, %d NULL, %d empty; want %d, %d, %d", count, nulls, empties, n, n/6, n/6)
	}
}

// csvField encodes a value as PostgreSQL's COPY CSV writes it: NULL as
// nothing, and quotes only where needed (an empty string needs them).
func csvField(v string, null bool) string {
	if null {
		return ""
	}
	if v == "" || strings.ContainsAny(v, ",\"\r\n") {
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestPsqlNotice(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	_, errOut, err := runPsql(t, p.DSN(upstreamDatabase, "postgres"), "-c",
		"DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "NOTICE:  hello 42") {
		t.Errorf("stderr %q does not contain %q", errOut, "NOTICE:  hello 42")
	}
}

// TestPsqlCancel does what Ctrl-C does: SIGINT to psql makes libpq send a
// CancelRequest on a new connection, which belay must route to the backend
// running the query.
func TestPsqlCancel(t *testing.T) {
	t.Parallel()
	p := startBelay(t, belayOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), psqlTimeout)
	defer cancel()
	cmd := psqlCmd(ctx, t, p.DSN(upstreamDatabase, "postgres"), "-c", "SELECT pg_sleep(20)")
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	time.Sleep(time.Second)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if took := time.Since(sent); took > 5*time.Second {
			t.Errorf("psql exited %v after SIGINT, want < 5s", took)
		}
		if code := exitCode(err); code != 1 {
			t.Errorf("exit code %d (%v), want 1", code, err)
		}
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("psql still running 5s after SIGINT; stderr %q", errOut.String())
	}
	if want := "canceling statement due to user request"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q does not contain %q", errOut.String(), want)
	}
}
