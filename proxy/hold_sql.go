package proxy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// holdMarker names the column of belay's first statement inside a held
// extended batch, so the server→client direction knows where PostgreSQL's
// answers to belay's Query begin. Random per process: no client query
// names a column so.
var holdMarker = randomName("belay_hold_")

// checkSQL asks PostgreSQL what the transaction wrote so far: whether it
// has a transaction id at all (anything written, catalogs included), and
// rows inserted, updated and deleted per table — triggers, foreign-key
// cascades and functions included, which the parser cannot see; belay's
// own records (its schemas) are not the client's rows. A partition also
// names its tree's root, where a statement through the root is captured.
// It reads the counters behind pg_stat_xact_user_tables directly: the view
// also aggregates index scans, which costs half as much again.
const checkSQL = `SELECT txid_current_if_assigned()::text, coalesce((SELECT json_agg(json_build_array(n.nspname || '.' || c.relname, s.i, s.u, s.d, 0, CASE WHEN c.relispartition THEN (SELECT rn.nspname || '.' || r.relname FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace WHERE r.oid = pg_catalog.pg_partition_root(c.oid)) END) ORDER BY n.nspname, c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, LATERAL (SELECT pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) AS i, pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) AS u, pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid) AS d) s WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'belay', 'belay_images', 'belay_quarantine') AND n.nspname !~ '^pg_toast' AND s.i + s.u + s.d > 0), '[]')::text`

// capturedSQL adds to the check what belay's capture triggers copied in
// this transaction, per table (docs/capture.md).
const capturedSQL = `, (SELECT coalesce(json_agg(json_build_array(c.table_name, coalesce(c.inserted, 0), coalesce(c.updated, 0), coalesce(c.deleted, 0), c.bytes)), '[]') FROM belay.captured_rows() c)::text`

// checkQuery is checkSQL, with what was captured when the profile captures.
func checkQuery(p *policy.Profile) string {
	if p.Capture {
		return checkSQL + capturedSQL
	}
	return checkSQL
}

// recordSQL records the held change (belay.record_change) and returns its
// id, with the preview of its first rows (belay.preview).
func recordSQL(application, client string, statements []byte, textHashes []string, tables []tableCount, previewValues bool) []byte {
	var rows strings.Builder
	rows.WriteString("{")
	for i, t := range tables {
		if i > 0 {
			rows.WriteString(", ")
		}
		name, _ := json.Marshal(t.name)
		fmt.Fprintf(&rows, `%s: {"inserted": %d, "updated": %d, "deleted": %d}`, name, t.inserted, t.updated, t.deleted)
	}
	rows.WriteString("}")
	hashes := make([]string, len(textHashes))
	for i, h := range textHashes {
		hashes[i] = sqlString(h)
	}
	return queryMessage("SELECT belay.record_change(" + sqlString(application) + ", " + sqlString(client) + ", " +
		sqlString(string(statements)) + ", " + sqlString(rows.String()) + "::jsonb, ARRAY[" + strings.Join(hashes, ", ") + "]::text[]), belay.preview(" + strconv.Itoa(previewRows) + ", " +
		strconv.FormatBool(previewValues) + ")")
}

// previewRows is how many rows the hold's NOTICE previews.
const previewRows = 3

// recordRow reads the DataRow of recordSQL: the change's id and the
// preview; id is "" when it is not that row.
func recordRow(msg []byte) (id, preview string) {
	var d pgproto3.DataRow
	if err := d.Decode(msg[headerLen:]); err != nil || len(d.Values) != 2 || d.Values[0] == nil {
		return "", ""
	}
	return string(d.Values[0]), string(d.Values[1])
}

// beginSQL opens a hold's transaction with the profile's timeouts, so a
// held change cannot queue behind locks or run for long on the primary.
// It returns the text and how many CommandCompletes it brings.
func beginSQL(p *policy.Profile) (string, int) {
	var b strings.Builder
	b.WriteString("BEGIN; ")
	n := 1
	for _, set := range holdSettings(p) {
		fmt.Fprintf(&b, "SET LOCAL %s = '%dms'; ", set.name, set.ms)
		n++
	}
	return b.String(), n
}

// localSetting is a setting a hold makes for its transaction only.
type localSetting struct {
	name string
	ms   int64
}

// holdSettings are the profile's hold timeouts; one it leaves at 0 keeps
// PostgreSQL's setting.
func holdSettings(p *policy.Profile) []localSetting {
	var out []localSetting
	for _, set := range []localSetting{{"lock_timeout", p.HoldLockTimeout.Milliseconds()}, {"statement_timeout", p.HoldStatementTimeout.Milliseconds()}} {
		if set.ms > 0 {
			out = append(out, set)
		}
	}
	return out
}

// heldQuery is the client's Query text after belay's prefix: BEGIN and
// SET LOCAL when it opens the hold, the baseline counts when the
// transaction has none yet, the planner's estimate when asked (the
// profile has a row cap and an estimate factor). n is the prefix's
// CommandCompletes.
func heldQuery(p *policy.Profile, open, baseline, estimate bool, text []byte) (msg []byte, n int) {
	var prefix string
	if open {
		prefix, n = beginSQL(p)
	}
	if baseline {
		prefix += checkSQL + "; "
		n++
	}
	if estimate {
		prefix += estimateSQL(text, p) + "; "
		n++
	}
	return queryMessage(prefix + string(text)), n
}

// estimateSQL refuses an UPDATE or DELETE whose planner estimate is far
// over the row cap before it runs, so a doomed change of a million rows
// never takes their locks. PostgreSQL raises the refusal (tagged as
// belay's raises are), which stops the rest of the string.
func estimateSQL(text []byte, p *policy.Profile) string {
	limit := float64(p.RowCap) * p.HoldEstimateFactor
	var b strings.Builder
	// A statement that does not plan (a misspelt column) is left to fail
	// on its own, with PostgreSQL's error rather than EXPLAIN's.
	b.WriteString("DECLARE plan json; est float8; BEGIN BEGIN EXECUTE ")
	b.WriteString(sqlString("EXPLAIN (FORMAT JSON) " + string(text)))
	b.WriteString(" INTO plan; EXCEPTION WHEN OTHERS THEN RETURN; END; est := greatest((plan->0->'Plan'->>'Plan Rows')::float8, coalesce((plan->0->'Plan'->'Plans'->0->>'Plan Rows')::float8, 0)); ")
	fmt.Fprintf(&b, "IF est > %g THEN RAISE EXCEPTION USING ERRCODE = %s, MESSAGE = %s || est::bigint || %s, DETAIL = %s, HINT = %s, SCHEMA = %s; END IF; END",
		limit, sqlString(sqlstateRowCap),
		sqlString("belay: row cap: PostgreSQL estimates "),
		sqlString(fmt.Sprintf(" rows, more than %g times this profile's cap of %d; the statement was not run", p.HoldEstimateFactor, p.RowCap)),
		sqlString("The estimate is the planner's (EXPLAIN); no row was changed or locked."),
		sqlString("Narrow the WHERE clause. If the estimate is wrong, ANALYZE the table and try again."),
		sqlString(raiseMarker))
	body := b.String()
	tag := "$belay$"
	for strings.Contains(body, tag) {
		tag = tag[:len(tag)-1] + "_$"
	}
	return "DO " + tag + " " + body + " " + tag
}

// baselineName names belay's prepared statement and portal for the
// baseline of an extended batch; they are closed at once.
var baselineName = holdMarker + "_base"

// baselineRequest asks for the counts before an extended batch. It uses
// the extended protocol with names of its own, so the client's unnamed
// statement and portal stay as they are, and no Sync: it runs at the head
// of the client's batch, in the batch's transaction. With a Sync of its
// own the backend would go idle outside a transaction in between, where
// PostgreSQL may flush the counters the baseline read (at most once a
// second), and the batch's rows would be under-counted. With a profile it
// also sets the hold's timeouts for the rest of the batch's transaction
// (set_config(…, true): SET LOCAL without a statement of its own).
func baselineRequest(timeouts *policy.Profile) []byte {
	query := checkSQL
	if timeouts != nil {
		var sets strings.Builder
		for _, set := range holdSettings(timeouts) {
			fmt.Fprintf(&sets, ", pg_catalog.set_config('%s', '%dms', true) AS %s", set.name, set.ms, set.name)
		}
		if sets.Len() > 0 {
			query = "SELECT b.* FROM (" + checkSQL + ") b" + sets.String()
		}
	}
	var b []byte
	b, _ = (&pgproto3.Parse{Name: baselineName, Query: query}).Encode(b)
	b, _ = (&pgproto3.Bind{DestinationPortal: baselineName, PreparedStatement: baselineName}).Encode(b)
	b, _ = (&pgproto3.Execute{Portal: baselineName}).Encode(b)
	b, _ = (&pgproto3.Close{ObjectType: 'P', Name: baselineName}).Encode(b)
	b, _ = (&pgproto3.Close{ObjectType: 'S', Name: baselineName}).Encode(b)
	return b
}

// batchCheckQuery goes before a held batch's Sync: the marker, the BEGIN
// when the batch started outside a transaction, and the check.
func batchCheckQuery(p *policy.Profile, open bool) []byte {
	text := `SELECT 1 AS "` + holdMarker + `"; `
	if open {
		prefix, _ := beginSQL(p)
		text += prefix
	}
	return queryMessage(text + checkQuery(p))
}

// failTransactionSQL rolls back and leaves an empty, failed transaction
// behind: the client was inside a transaction, and now gets an error
// that, as any error in a transaction, only its ROLLBACK clears. No lock
// stays held meanwhile.
func failTransactionSQL(r *Refusal) []byte {
	return queryMessage("ROLLBACK; BEGIN; " + raiseStatement(r))
}

// isHoldMarker reports whether a RowDescription is that of belay's marker.
func isHoldMarker(msg []byte) bool {
	body := msg[headerLen:]
	if len(body) < 2 || binary.BigEndian.Uint16(body) != 1 {
		return false
	}
	return bytes.Equal(cstring(body[2:]), []byte(holdMarker))
}

// checkResult is PostgreSQL's answer to checkSQL.
type checkResult struct {
	xid    string // "" when nothing was written
	tables []tableCount
	// captured is what the capture triggers copied in the transaction, per
	// table; nil when the profile does not capture.
	captured []tableCount
}

// since returns the counts of c that are not in base, per table.
func (c checkResult) since(base checkResult) checkResult {
	if len(base.tables) == 0 {
		return c
	}
	out := checkResult{xid: c.xid}
	for _, t := range c.tables {
		for _, b := range base.tables {
			if b.name == t.name {
				t.inserted = max(t.inserted-b.inserted, 0)
				t.updated = max(t.updated-b.updated, 0)
				t.deleted = max(t.deleted-b.deleted, 0)
			}
		}
		if t.rows() > 0 {
			out.tables = append(out.tables, t)
		}
	}
	return out
}

func (c *checkResult) total() int64 {
	var n int64
	for _, t := range c.tables {
		n += t.rows()
	}
	return n
}

// parseCheckRow reads the DataRow of checkSQL.
func parseCheckRow(msg []byte) (checkResult, error) {
	var d pgproto3.DataRow
	if err := d.Decode(msg[headerLen:]); err != nil {
		return checkResult{}, fmt.Errorf("decode check row: %w", err)
	}
	if len(d.Values) != 2 && len(d.Values) != 3 {
		return checkResult{}, fmt.Errorf("check row has %d columns, want 2 or 3", len(d.Values))
	}
	var c checkResult
	if d.Values[0] != nil {
		c.xid = string(d.Values[0])
	}
	var err error
	if c.tables, err = parseTableCounts(d.Values[1]); err != nil {
		return checkResult{}, err
	}
	if len(d.Values) == 3 {
		if c.captured, err = parseTableCounts(d.Values[2]); err != nil {
			return checkResult{}, err
		}
		if c.captured == nil {
			c.captured = []tableCount{}
		}
	}
	return c, nil
}

// parseTableCounts reads [["schema.table", inserted, updated, deleted], …].
func parseTableCounts(b []byte) ([]tableCount, error) {
	var rows [][]json.RawMessage
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("decode table counts: %w", err)
	}
	var out []tableCount
	for _, r := range rows {
		if len(r) < 4 || len(r) > 6 {
			return nil, fmt.Errorf("table count has %d fields, want 4 to 6 (name, counts, bytes captured, partition root)", len(r))
		}
		var t tableCount
		if err := json.Unmarshal(r[0], &t.name); err != nil {
			return nil, fmt.Errorf("decode table name: %w", err)
		}
		for i, dst := range []*int64{&t.inserted, &t.updated, &t.deleted, &t.bytes}[:min(len(r)-1, 4)] {
			if err := json.Unmarshal(r[i+1], dst); err != nil {
				return nil, fmt.Errorf("decode table count: %w", err)
			}
		}
		if len(r) == 6 {
			var root *string // null: not a partition
			if err := json.Unmarshal(r[5], &root); err != nil {
				return nil, fmt.Errorf("decode partition root: %w", err)
			}
			if root != nil {
				t.root = *root
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// dmlRows returns the row count of an INSERT, UPDATE, DELETE, MERGE or COPY
// CommandComplete tag; ok is false for other tags.
func dmlRows(tag string) (int64, bool) {
	verb, rest, _ := strings.Cut(tag, " ")
	switch verb {
	case "INSERT": // INSERT oid rows
		_, rest, _ = strings.Cut(rest, " ")
	case "UPDATE", "DELETE", "MERGE", "COPY":
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil
}

// commandTag is the tag of a CommandComplete message.
func commandTag(msg []byte) string {
	return string(cstring(msg[headerLen:]))
}

// pgError is the part of an ErrorResponse belay reports on.
type pgError struct {
	code, message string
}

func parseError(msg []byte) *pgError {
	var e pgproto3.ErrorResponse
	if err := e.Decode(msg[headerLen:]); err != nil {
		return &pgError{code: "XX000", message: "unreadable error response"}
	}
	return &pgError{code: e.Code, message: e.Message}
}

// quarantineSQL moves the tables of a DROP TABLE into belay_quarantine
// (belay.quarantine, migration 5), failing as DROP TABLE fails for a table
// that is missing (unless IF EXISTS) or not a table.
func quarantineSQL(tables []rules.TableUse, missingOK bool) string {
	var b strings.Builder
	b.WriteString("DECLARE r regclass; BEGIN ")
	// Without belay init there is no quarantine: say so, not PostgreSQL's
	// "schema belay does not exist".
	fmt.Fprintf(&b, "IF pg_catalog.to_regprocedure('belay.quarantine(regclass)') IS NULL THEN RAISE EXCEPTION USING ERRCODE = %s, MESSAGE = %s, HINT = %s; END IF; ",
		sqlString(sqlstateHoldFailed), sqlString("belay: drop-table: belay's schema is not in this database, so the table cannot be kept in quarantine; nothing was dropped"),
		sqlString("An administrator runs: belay init --database-url <this database> (docs/capture.md)."))
	for _, t := range tables {
		name := quoteIdent(t.Name)
		if t.Schema != "" {
			name = quoteIdent(t.Schema) + "." + name
		}
		fmt.Fprintf(&b, "r := to_regclass(%s); ", sqlString(name))
		if missingOK {
			fmt.Fprintf(&b, "IF r IS NULL THEN RAISE NOTICE USING MESSAGE = %s; ELSE ", sqlString(fmt.Sprintf("table %q does not exist, skipping", t.Name)))
		} else {
			fmt.Fprintf(&b, "IF r IS NULL THEN RAISE EXCEPTION USING ERRCODE = '42P01', MESSAGE = %s; END IF; ", sqlString(fmt.Sprintf("table %q does not exist", t.Name)))
		}
		fmt.Fprintf(&b, "IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = r) NOT IN ('r', 'p') THEN RAISE EXCEPTION USING ERRCODE = '42809', MESSAGE = %s; END IF; PERFORM belay.quarantine(r); ",
			sqlString(fmt.Sprintf("%q is not a table", t.Name)))
		if missingOK {
			b.WriteString("END IF; ")
		}
	}
	b.WriteString("END")
	body := b.String()
	tag := "$belay$"
	for strings.Contains(body, tag) {
		tag = tag[:len(tag)-1] + "_$"
	}
	return "DO " + tag + " " + body + " " + tag
}

// quoteIdent quotes a name as PostgreSQL's quote_ident would, always.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// tableNames is each table as schema.table, or as written without one.
func tableNames(ts []rules.TableUse) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.QualifiedName()
	}
	return out
}
