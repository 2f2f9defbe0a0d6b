package test

// Holds through psql, what a person at the keyboard sees: the NOTICE of a
// held change, COMMIT and ROLLBACK, the row cap, expectations and the
// LIMIT guard; and an interactive psql in tmux, its prompt included. What
// a held change did is always checked directly on PostgreSQL.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// psqlHold runs psql through belay (psql sends application_name psql:
// the interactive profile) with verbose errors, which show the SQLSTATE
// ("ERROR:  54000: belay: …").
func psqlHold(t *testing.T, p *belayProc, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runPsql(t, p.DSN(upstreamDatabase, upstreamUser), append([]string{"-v", "VERBOSITY=verbose"}, args...)...)
}

// requireContains fails when s lacks any of subs.
func requireContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// TestHoldPsqlUpdate: a lone UPDATE from psql is held (NOTICE, nothing on
// PostgreSQL, lost when psql exits); followed by COMMIT it is applied,
// followed by ROLLBACK discarded; a DO block that writes is held too; a
// write and its COMMIT in one query string are refused.
func TestHoldPsqlUpdate(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	tbl := holdTable(t, 3)
	upd := "UPDATE " + tbl + " SET note = 'x' WHERE id = 1"

	out, errOut, err := psqlHold(t, p, "-c", upd)
	if err != nil {
		t.Fatalf("psql -c: %v\n%s", err, errOut)
	}
	if out != "UPDATE 1\n" {
		t.Fatalf("stdout %q, want the normal result UPDATE 1", out)
	}
	requireContains(t, "psql's stderr", errOut,
		"NOTICE:  00000: belay: change ",
		" is held: 1 row changed (public."+tbl+": 1 updated)",
		"HINT:  COMMIT to apply, ROLLBACK to discard; belay rolls it back by itself after 1m idle.")
	// psql exited with the change held: PostgreSQL rolled it back.
	waitMetric(t, p, holdsOutcome("disconnect"), 1, 5*time.Second)
	requireUnlocked(t, tbl, 1)
	if got := noteOf(t, tbl, 1); got != "a" {
		t.Fatalf("row 1 is %q after psql -c without COMMIT, want a (unchanged)", got)
	}

	out, errOut, err = psqlHold(t, p, "-f", writeScript(t, upd+";\nCOMMIT;\n"))
	if err != nil || out != "UPDATE 1\nCOMMIT\n" {
		t.Fatalf("UPDATE; COMMIT from a file: %v, stdout %q\n%s", err, out, errOut)
	}
	requireContains(t, "psql's stderr", errOut, " is held: 1 row changed", " committed: 1 row applied")
	if got := noteOf(t, tbl, 1); got != "x" {
		t.Fatalf("row 1 is %q after COMMIT, want x", got)
	}

	out, errOut, err = psqlHold(t, p, "-f", writeScript(t, "UPDATE "+tbl+" SET note = 'y' WHERE id = 2;\nROLLBACK;\n"))
	if err != nil || out != "UPDATE 1\nROLLBACK\n" {
		t.Fatalf("UPDATE; ROLLBACK: %v, stdout %q\n%s", err, out, errOut)
	}
	requireContains(t, "psql's stderr", errOut, " rolled back: nothing applied")

	// DO may write: held like the UPDATE inside it.
	out, errOut, err = psqlHold(t, p, "-f", writeScript(t,
		"DO $$BEGIN UPDATE "+tbl+" SET note = 'do' WHERE id = 3; END$$;\nROLLBACK;\n"))
	if err != nil {
		t.Fatalf("DO; ROLLBACK: %v\n%s", err, errOut)
	}
	requireContains(t, "psql's stderr", errOut, " is held: 1 row changed (public."+tbl+": 1 updated)", " rolled back: nothing applied")

	// A write and its COMMIT in one query string (psql -c sends it whole).
	out, errOut, err = psqlHold(t, p, "-c", "UPDATE "+tbl+" SET note = 'z' WHERE id = 2; COMMIT")
	if exitCode(err) != 1 {
		t.Fatalf("UPDATE and COMMIT in one string: exit %d, want 1; stdout %q", exitCode(err), out)
	}
	requireContains(t, "psql's stderr", errOut, "ERROR:  25000: belay: hold: a write and its COMMIT in one request")

	if got := directInt(t, "SELECT count(*) FROM "+tbl+" WHERE note <> 'a'"); got != 1 {
		t.Fatalf("%d rows changed, want 1 (only the committed UPDATE)", got)
	}
	body := metricsBody(t, p)
	for outcome, want := range map[string]float64{"committed": 1, "rolled_back": 2, "disconnect": 1} {
		if got := metricValue(body, holdsOutcome(outcome)); got != want {
			t.Errorf("%s = %v, want %v", holdsOutcome(outcome), got, want)
		}
	}
}

// TestHoldPsqlRowCap: a 2000-row UPDATE and its COMMIT: the UPDATE is
// rolled back at once (54000), the script stops, nothing lands; without
// ON_ERROR_STOP the COMMIT finds no transaction. Inserted rows count, and
// so do rows loaded by \copy.
func TestHoldPsqlRowCap(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	tbl := holdTable(t, 2000)
	script := writeScript(t, "UPDATE "+tbl+" SET note = 'big' WHERE id <= 2000;\nCOMMIT;\n")
	capErr := "ERROR:  54000: belay: row cap: the change touched 2000 rows, more than this profile's cap of 1000; it was rolled back"

	out, errOut, err := psqlHold(t, p, "-f", script)
	if exitCode(err) != 3 {
		t.Fatalf("exit %d (%v), want 3 (stopped by ON_ERROR_STOP); stderr:\n%s", exitCode(err), err, errOut)
	}
	requireContains(t, "psql's stderr", errOut, capErr, "public."+tbl+": 2000 updated")
	if strings.Contains(out, "COMMIT") {
		t.Fatalf("the COMMIT ran after the row cap: stdout %q", out)
	}
	if n := notesNot(t, tbl); n != 0 {
		t.Fatalf("%d rows changed after the row cap, want 0", n)
	}

	_, errOut, err = psqlHold(t, p, "-v", "ON_ERROR_STOP=0", "-f", script)
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, errOut)
	}
	requireContains(t, "psql's stderr", errOut, capErr, "WARNING:  25P01: there is no transaction in progress")
	if n := notesNot(t, tbl); n != 0 {
		t.Fatalf("%d rows changed after the row cap and COMMIT, want 0", n)
	}

	// Inserted rows count.
	_, errOut, err = psqlHold(t, p, "-c", "INSERT INTO "+tbl+" SELECT g, 'new' FROM generate_series(3001, 4500) g")
	if exitCode(err) != 1 {
		t.Fatalf("INSERT of 1500 rows: exit %d, want 1\n%s", exitCode(err), errOut)
	}
	requireContains(t, "psql's stderr", errOut, "ERROR:  54000: belay: row cap: the change touched 1500 rows", "1500 inserted")

	// \copy: 1500 rows over the cap, 5 rows held and committed.
	var big, small strings.Builder
	for i := 5001; i <= 6500; i++ {
		fmt.Fprintf(&big, "%d,copied\n", i)
	}
	for i := 7001; i <= 7005; i++ {
		fmt.Fprintf(&small, "%d,copied\n", i)
	}
	dir := t.TempDir()
	bigFile, smallFile := filepath.Join(dir, "big.csv"), filepath.Join(dir, "small.csv")
	for f, s := range map[string]string{bigFile: big.String(), smallFile: small.String()} {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, errOut, err = psqlHold(t, p, "-c", fmt.Sprintf(`\copy %s FROM '%s' WITH (FORMAT csv)`, tbl, bigFile))
	if exitCode(err) != 1 {
		t.Fatalf("\\copy of 1500 rows: exit %d, want 1\n%s", exitCode(err), errOut)
	}
	requireContains(t, "psql's stderr", errOut, "ERROR:  54000: belay: row cap: the change touched 1500 rows")
	out, errOut, err = psqlHold(t, p, "-f", writeScript(t,
		fmt.Sprintf("\\copy %s FROM '%s' WITH (FORMAT csv)\nCOMMIT;\n", tbl, smallFile)))
	if err != nil || out != "COPY 5\nCOMMIT\n" {
		t.Fatalf("\\copy of 5 rows and COMMIT: %v, stdout %q\n%s", err, out, errOut)
	}
	requireContains(t, "psql's stderr", errOut, " is held: 5 rows changed (public."+tbl+": 5 inserted)", " committed: 5 rows applied")
	if n := directInt(t, "SELECT count(*) FROM "+tbl); n != 2005 {
		t.Fatalf("%d rows, want 2005 (2000 and the 5 copied)", n)
	}
}

// TestHoldPsqlTableRowCap: table_row_caps bounds one table's rows.
func TestHoldPsqlTableRowCap(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	tbl := holdTable(t, 10)
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong, TableRowCaps: map[string]int{tbl: 5}})
	_, errOut, err := psqlHold(t, p, "-c", "UPDATE "+tbl+" SET note = 'six' WHERE id <= 6")
	if exitCode(err) != 1 {
		t.Fatalf("UPDATE of 6 rows: exit %d, want 1\n%s", exitCode(err), errOut)
	}
	requireContains(t, "psql's stderr", errOut,
		"ERROR:  54000: belay: row cap: the change touched 6 rows in public."+tbl+", more than this profile's cap of 5 for that table; it was rolled back")
	out, errOut, err := psqlHold(t, p, "-f", writeScript(t, "UPDATE "+tbl+" SET note = 'five' WHERE id <= 5;\nCOMMIT;\n"))
	if err != nil || out != "UPDATE 5\nCOMMIT\n" {
		t.Fatalf("UPDATE of 5 rows and COMMIT: %v, stdout %q\n%s", err, out, errOut)
	}
	if n := notesNot(t, tbl); n != 5 {
		t.Fatalf("%d rows changed, want 5", n)
	}
}

// TestHoldPsqlExpectAndLimit: /* belay:expect N */, -- belay:expect N and
// SET belay.expect_rows roll back a write that changes another number of
// rows (21000) and hold one that matches; UPDATE/DELETE … LIMIT n rolls
// back a write of more than n rows and holds one of at most n.
func TestHoldPsqlExpectAndLimit(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	tbl := holdTable(t, 10)
	in123 := " WHERE id IN (1, 2, 3)"

	refused := []struct{ name, args, want string }{
		{"block comment", "/* belay:expect 2 */ UPDATE " + tbl + " SET note = 'e'" + in123 + ";",
			"ERROR:  21000: belay: expected 2 rows, the statement changed 3; it was rolled back"},
		{"line comment", "UPDATE " + tbl + " SET note = 'e' -- belay:expect 4\n" + in123 + ";\n",
			"ERROR:  21000: belay: expected 4 rows, the statement changed 3; it was rolled back"},
		{"setting", "SET belay.expect_rows = 2;\nUPDATE " + tbl + " SET note = 'e'" + in123 + ";\n",
			"ERROR:  21000: belay: expected 2 rows, the statement changed 3; it was rolled back"},
		{"LIMIT", "UPDATE " + tbl + " SET note = 'l'" + in123 + " LIMIT 2;\n",
			"ERROR:  21000: belay: LIMIT 2: the statement changed 3 rows; it was rolled back"},
		{"DELETE LIMIT", "DELETE FROM " + tbl + " WHERE id > 5 LIMIT 4;\n",
			"ERROR:  21000: belay: LIMIT 4: the statement changed 5 rows; it was rolled back"},
	}
	for _, c := range refused {
		out, errOut, err := psqlHold(t, p, "-f", writeScript(t, c.args+"\nCOMMIT;\n"))
		if exitCode(err) != 3 || strings.Contains(out, "COMMIT") {
			t.Fatalf("%s: exit %d, stdout %q; want the script stopped at the error (3)\n%s", c.name, exitCode(err), out, errOut)
		}
		requireContains(t, c.name+": psql's stderr", errOut, c.want)
		if n := notesNot(t, tbl) + (10 - directInt(t, "SELECT count(*) FROM "+tbl)); n != 0 {
			t.Fatalf("%s: %d rows changed, want 0", c.name, n)
		}
	}

	// Met: held, and COMMIT applies. The setting covers the next write only.
	held := []struct{ name, script, stdout string }{
		{"block comment", "/* belay:expect 3 */ UPDATE " + tbl + " SET note = 'e'" + in123 + ";\nCOMMIT;\n", "UPDATE 3\nCOMMIT\n"},
		{"setting", "SET belay.expect_rows = 1;\nUPDATE " + tbl + " SET note = 's' WHERE id = 4;\nUPDATE " + tbl +
			" SET note = 's' WHERE id IN (5, 6);\nCOMMIT;\n", "SET\nUPDATE 1\nUPDATE 2\nCOMMIT\n"},
		{"LIMIT", "UPDATE " + tbl + " SET note = 'l' WHERE id IN (7, 8) LIMIT 2;\nCOMMIT;\n", "UPDATE 2\nCOMMIT\n"},
		{"DELETE LIMIT", "DELETE FROM " + tbl + " WHERE id >= 9 LIMIT 5;\nCOMMIT;\n", "DELETE 2\nCOMMIT\n"},
	}
	for _, c := range held {
		out, errOut, err := psqlHold(t, p, "-f", writeScript(t, c.script))
		if err != nil || out != c.stdout {
			t.Fatalf("%s: %v, stdout %q, want %q\n%s", c.name, err, out, c.stdout, errOut)
		}
		requireContains(t, c.name+": psql's stderr", errOut, " is held: ", " committed: ")
	}
	if n, rows := notesNot(t, tbl), directInt(t, "SELECT count(*) FROM "+tbl); n != 8 || rows != 8 {
		t.Fatalf("%d rows changed of %d, want 8 of 8 (rows 1-8 updated, 9 and 10 deleted)", n, rows)
	}
}

// TestHoldPsqlFunctions: rows a function changes count toward the cap,
// and so do foreign-key cascades; a function that writes nothing is not
// held.
func TestHoldPsqlFunctions(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	parent := tableName(t)
	child, wiped := parent+"_child", parent+"_wiped"
	wipe, noop := parent+"_wipe", parent+"_noop"
	t.Cleanup(func() { // before tableName's cleanup: the child refers to the parent
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn := connectDirect(t, upstreamDatabase)
		for _, sql := range []string{"DROP TABLE IF EXISTS " + child + ", " + wiped,
			"DROP FUNCTION IF EXISTS " + wipe + "()", "DROP FUNCTION IF EXISTS " + noop + "()"} {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Errorf("cleanup: %s: %v", sql, err)
			}
		}
	})
	directExec(t, fmt.Sprintf(`CREATE TABLE %[1]s (id int PRIMARY KEY);
CREATE TABLE %[2]s (id int PRIMARY KEY, parent int NOT NULL REFERENCES %[1]s ON DELETE CASCADE);
CREATE TABLE %[3]s (id int);
INSERT INTO %[1]s VALUES (1), (2);
INSERT INTO %[2]s SELECT g, 1 FROM generate_series(1, 1500) g;
INSERT INTO %[2]s SELECT g, 2 FROM generate_series(1501, 1510) g;
INSERT INTO %[3]s SELECT generate_series(1, 5000);
CREATE FUNCTION %[4]s() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint; BEGIN DELETE FROM %[3]s; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
CREATE FUNCTION %[5]s() RETURNS int LANGUAGE sql AS 'SELECT 42';`, parent, child, wiped, wipe, noop))

	// A function that deletes 5000 rows.
	_, errOut, err := psqlHold(t, p, "-c", "SELECT "+wipe+"()")
	if exitCode(err) != 1 {
		t.Fatalf("SELECT %s(): exit %d, want 1\n%s", wipe, exitCode(err), errOut)
	}
	requireContains(t, "psql's stderr", errOut,
		"ERROR:  54000: belay: row cap: the change touched 5000 rows, more than this profile's cap of 1000; it was rolled back",
		"public."+wiped+": 5000 deleted")
	if n := directInt(t, "SELECT count(*) FROM "+wiped); n != 5000 {
		t.Fatalf("%d rows left after the function was capped, want 5000", n)
	}

	// One parent row, 1500 children by cascade.
	_, errOut, err = psqlHold(t, p, "-c", "DELETE FROM "+parent+" WHERE id = 1")
	if exitCode(err) != 1 {
		t.Fatalf("DELETE of a parent of 1500: exit %d, want 1\n%s", exitCode(err), errOut)
	}
	requireContains(t, "psql's stderr", errOut,
		"ERROR:  54000: belay: row cap: the change touched 1501 rows",
		"public."+child+": 1500 deleted", "public."+parent+": 1 deleted")
	if n := directInt(t, "SELECT count(*) FROM "+child); n != 1510 {
		t.Fatalf("%d child rows after the cascade was capped, want 1510", n)
	}
	// A parent of 10: held, counted with its children, and applied.
	out, errOut, err := psqlHold(t, p, "-f", writeScript(t, "DELETE FROM "+parent+" WHERE id = 2;\nCOMMIT;\n"))
	if err != nil || out != "DELETE 1\nCOMMIT\n" {
		t.Fatalf("DELETE of a parent of 10: %v, stdout %q\n%s", err, out, errOut)
	}
	requireContains(t, "psql's stderr", errOut, " is held: 11 rows changed (public."+parent+": 1 deleted, public."+child+": 10 deleted)")
	if n := directInt(t, "SELECT count(*) FROM "+child); n != 1500 {
		t.Fatalf("%d child rows, want 1500", n)
	}

	// A function not known read-only that writes nothing: run in a
	// transaction belay commits quietly. Status idle: the BEGIN after it
	// warns of no transaction in progress, and nothing fails.
	script := "SELECT " + noop + "() AS answer;\n\\echo error=:ERROR sqlstate=:SQLSTATE\nBEGIN;\nSELECT 'in my transaction' AS t;\nCOMMIT;\n"
	out, errOut, err = psqlHold(t, p, "-At", "-f", writeScript(t, script))
	if err != nil {
		t.Fatalf("SELECT %s(): %v\n%s", noop, err, errOut)
	}
	if want := "42\nerror=false sqlstate=00000\nBEGIN\nin my transaction\nCOMMIT\n"; out != want {
		t.Fatalf("stdout %q, want %q", out, want)
	}
	if errOut != "" {
		t.Fatalf("stderr %q, want nothing (no NOTICE, no WARNING of a transaction in progress)", errOut)
	}
	body := metricsBody(t, p)
	if v := metricValue(body, "belay_holds_open"); v != 0 {
		t.Fatalf("belay_holds_open %v, want 0", v)
	}
	if v := metricValue(body, holdsOutcome("committed")); v != 1 {
		t.Fatalf("%s = %v, want 1 (only the parent of 10; the function that wrote nothing is no hold)\n%s",
			holdsOutcome("committed"), v, grepLines(body, "belay_hold"))
	}
}

// tmuxPsql is an interactive psql in a detached tmux session of its own
// tmux server.
type tmuxPsql struct {
	t      *testing.T
	bin    string
	socket string
}

// startTmuxPsql starts psql on dsn in tmux; it skips the test when tmux is
// not installed (scripts/install-deps.sh installs it).
func startTmuxPsql(t *testing.T, dsn string) *tmuxPsql {
	t.Helper()
	bin, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux not installed (scripts/install-deps.sh installs it)")
	}
	psql := requireTool(t, "psql")
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	// remain-on-exit: if psql dies, its last words stay on the screen.
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g history-limit 5000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A server of its own, on a socket in a short directory of its own
	// (a socket's path is limited to about 100 bytes).
	sockDir, err := os.MkdirTemp("", "belay-tmux-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	s := &tmuxPsql{t: t, bin: bin, socket: filepath.Join(sockDir, "sock")}
	s.run("-f", conf, "new-session", "-d", "-s", "psql", "-x", "200", "-y", "50",
		psql, "-X", "-v", "VERBOSITY=verbose", "-P", "pager=off", "-d", dsn)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- the tmux pane ---\n%s", s.pane())
		}
		_ = s.command("kill-server").Run()
	})
	return s
}

func (s *tmuxPsql) command(args ...string) *exec.Cmd {
	cmd := exec.Command(s.bin, append([]string{"-S", s.socket}, args...)...)
	cmd.Env = append(clientEnv(), "TERM=xterm", "PSQL_HISTORY="+os.DevNull, "HOME="+s.t.TempDir())
	return cmd
}

func (s *tmuxPsql) run(args ...string) {
	s.t.Helper()
	if out, err := s.command(args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// pane is what the pane shows, its history included, without the blank
// lines below the cursor: what it showed before is a prefix of it.
func (s *tmuxPsql) pane() string {
	out, _ := s.command("capture-pane", "-p", "-J", "-S", "-", "-t", "psql").Output()
	return strings.TrimRight(string(out), "\n ")
}

// prompt is the pane's last line.
func (s *tmuxPsql) prompt() string {
	pane := s.pane()
	return strings.TrimSpace(pane[strings.LastIndexByte(pane, '\n')+1:])
}

// typeLine types line and Enter.
func (s *tmuxPsql) typeLine(line string) {
	s.t.Helper()
	// tmux reads an argument's trailing ";" as a command separator.
	if strings.HasSuffix(line, ";") {
		line = strings.TrimSuffix(line, ";") + `\;`
	}
	s.run("send-keys", "-t", "psql", "-l", line)
	s.run("send-keys", "-t", "psql", "Enter")
}

// waitPrompt waits until the prompt is want and the pane has grown since
// before by text containing every one of subs; it returns the new text.
func (s *tmuxPsql) waitPrompt(before int, want string, subs ...string) string {
	s.t.Helper()
	var pane string
	ok := waitFor(15*time.Second, func() bool {
		pane = s.pane()
		if len(pane) < before || s.prompt() != want {
			return false
		}
		for _, sub := range subs {
			if !strings.Contains(pane[before:], sub) {
				return false
			}
		}
		return true
	})
	if !ok {
		s.t.Fatalf("the prompt is %q, want %q, and the screen should show %q; the pane:\n%s", s.prompt(), want, subs, pane)
	}
	return pane[before:]
}

// TestHoldPsqlTmux types into an interactive psql: the UPDATE is held, the
// prompt shows the open transaction (=*#, psql runs as a superuser) and
// the NOTICE; COMMIT brings the prompt back to =# and applies the row.
func TestHoldPsqlTmux(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutLong})
	tbl := holdTable(t, 3)
	s := startTmuxPsql(t, p.DSN(upstreamDatabase, upstreamUser))
	s.waitPrompt(0, upstreamDatabase+"=#")

	before := len(s.pane())
	s.typeLine("UPDATE " + tbl + " SET note = 'typed' WHERE id = 2;")
	s.waitPrompt(before, upstreamDatabase+"=*#", "UPDATE 1",
		"NOTICE:  00000: belay: change ", " is held: 1 row changed (public."+tbl+": 1 updated)",
		"HINT:  COMMIT to apply, ROLLBACK to discard")
	if got := noteOf(t, tbl, 2); got != "a" {
		t.Fatalf("row 2 is %q on PostgreSQL while held, want a", got)
	}

	before = len(s.pane())
	s.typeLine("COMMIT;")
	s.waitPrompt(before, upstreamDatabase+"=#", " committed: 1 row applied", "COMMIT")
	if got := noteOf(t, tbl, 2); got != "typed" {
		t.Fatalf("row 2 is %q after COMMIT, want typed", got)
	}

	// A write over the cap from the prompt: refused, the prompt idle.
	before = len(s.pane())
	s.typeLine("UPDATE " + tbl + " SET note = 'x' WHERE id > 0 LIMIT 1;")
	s.waitPrompt(before, upstreamDatabase+"=#", "ERROR:  21000: belay: LIMIT 1: the statement changed 3 rows; it was rolled back")
	if n := notesNot(t, tbl); n != 1 {
		t.Fatalf("%d rows changed, want 1", n)
	}
}

// TestHoldPsqlTmuxTimeout: at the prompt, a held change left for longer
// than hold_timeout is rolled back; the next statement shows the error and
// the failed-transaction prompt (=!#), and ROLLBACK returns to =#.
func TestHoldPsqlTmuxTimeout(t *testing.T) {
	requireBelay(t)
	t.Parallel()
	p := startHoldBelay(t, holdConfigOpts{HoldTimeout: holdTimeoutShort})
	tbl := holdTable(t, 3)
	s := startTmuxPsql(t, p.DSN(upstreamDatabase, upstreamUser))
	s.waitPrompt(0, upstreamDatabase+"=#")

	before := len(s.pane())
	s.typeLine("DELETE FROM " + tbl + " WHERE id = 3;")
	s.waitPrompt(before, upstreamDatabase+"=*#", "DELETE 1", " is held: 1 row changed (public."+tbl+": 1 deleted)", "after 2s idle.")
	waitMetric(t, p, holdsOutcome("timeout"), 1, 10*time.Second)
	requireUnlocked(t, tbl, 3)

	before = len(s.pane())
	s.typeLine("SELECT count(*) FROM " + tbl + ";")
	s.waitPrompt(before, upstreamDatabase+"=!#", "ERROR:  25P03: belay: change ", " was rolled back: no COMMIT came within the hold timeout of 2s")
	before = len(s.pane())
	s.typeLine("ROLLBACK;")
	s.waitPrompt(before, upstreamDatabase+"=#", "ROLLBACK")
	if n := directInt(t, "SELECT count(*) FROM "+tbl); n != 3 {
		t.Fatalf("%d rows after the timeout, want 3", n)
	}
}
