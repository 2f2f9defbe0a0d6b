package rules

// Rule is what belay tells a client about a rule that blocked its
// statement: a summary for the error message, a hint with the safe way to
// do it, and the SQLSTATE. docs/rules.md says more.
type Rule struct {
	ID       RuleID
	Summary  string
	Hint     string
	SQLState string
}

// SQLSTATEs of belay's errors. A rule block is a policy refusal, which
// PostgreSQL spells insufficient_privilege; text the parser cannot take
// keeps PostgreSQL's own codes, so clients see what the server would say.
const (
	SQLStateBlocked    = "42501" // insufficient_privilege
	SQLStateSyntax     = "42601" // syntax_error
	SQLStateTooComplex = "54001" // statement_too_complex
)

var catalog = []Rule{
	{RuleNoWhere, "UPDATE or DELETE without a WHERE clause that restricts its target", "Add a WHERE clause that names the rows to change, e.g. WHERE id = 42; to really change every row, use a profile that allows no-where.", SQLStateBlocked},
	{RuleConstantWhere, "WHERE clause that is true for every row", "Write a WHERE clause that compares a column with a value, e.g. WHERE id = 42.", SQLStateBlocked},
	{RuleMerge, "MERGE changes rows in ways that are hard to review", "Run the UPDATE, INSERT and DELETE it stands for one by one, each with its own WHERE clause.", SQLStateBlocked},
	{RuleProtectedSchema, "the belay schema holds belay's own records and may not be changed by clients", "Use the belay CLI (belay changes, belay undo) to work with recorded changes.", SQLStateBlocked},
	{RuleOpaqueCode, "code whose effect cannot be seen from the statement text (DO, CALL, functions not known read-only, dynamic SQL)", "Run the statements the code would run directly, so belay can check them.", SQLStateBlocked},
	{RuleDblinkExec, "dblink writes to another database, out of belay's sight", "Connect to that database through belay and run the statement there.", SQLStateBlocked},
	{RuleFunctionCall, "a fast-path function call (the protocol's FunctionCall message) runs a function by its OID, out of belay's sight", "Call the function in a query (SELECT lo_unlink(…)), which belay checks; psql's \\lo_ commands use the fast path.", SQLStateBlocked},
	{RuleTruncate, "TRUNCATE removes every row at once and cannot be limited", "DELETE the rows you mean with a WHERE clause, or ask for a profile that allows truncate.", SQLStateBlocked},
	{RuleDropTable, "DROP TABLE destroys a table and its data", "Rename the table first (ALTER TABLE t RENAME TO t_old) and drop it after a while, or ask for a profile that allows drop-table.", SQLStateBlocked},
	{RuleDropSchema, "DROP SCHEMA destroys every object in the schema", "Drop the objects one by one, or ask for a profile that allows drop-schema.", SQLStateBlocked},
	{RuleDropDatabase, "DROP DATABASE destroys a whole database", "Ask for a profile that allows drop-database.", SQLStateBlocked},
	{RuleDropColumn, "ALTER TABLE … DROP COLUMN destroys the column's data", "Stop using the column first and drop it in a reviewed migration.", SQLStateBlocked},
	{RuleCreateRule, "a rewrite rule silently changes what later statements do", "Use a view or a trigger, reviewed in a migration.", SQLStateBlocked},
	{RuleDisableTrigger, "disabling triggers skips the checks and audit they carry", "Keep the triggers on; change the data in a way the triggers accept.", SQLStateBlocked},
	{RuleReplicationRole, "session_replication_role = replica turns off triggers and foreign-key checks", "Leave session_replication_role alone; fix the data with the constraints in force.", SQLStateBlocked},
	{RuleSetRole, "changing the role hides who is acting", "Connect as the role you need.", SQLStateBlocked},
	{RuleCopyProgram, "COPY … PROGRAM runs a shell command on the database server", "Use psql's \\copy, which runs on the client.", SQLStateBlocked},
	{RuleAlterSystem, "ALTER SYSTEM changes the server's configuration for everyone", "Change postgresql.conf through configuration management.", SQLStateBlocked},
	{RuleLockTable, "LOCK TABLE blocks other sessions for as long as the transaction lasts", "Let the statements take the locks they need; keep transactions short.", SQLStateBlocked},
	{RuleVacuumFull, "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock", "Run plain VACUUM, or pg_repack, outside busy hours.", SQLStateBlocked},
	{RuleCluster, "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock", "Use pg_repack, or CLUSTER in a maintenance window.", SQLStateBlocked},
	{RuleReindex, "REINDEX without CONCURRENTLY blocks writes to the table", "Use REINDEX … CONCURRENTLY.", SQLStateBlocked},
	{RuleCreateIndex, "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds", "Use CREATE INDEX CONCURRENTLY.", SQLStateBlocked},
	{RuleTableRewrite, "this ALTER TABLE rewrites or scans the whole table under an ACCESS EXCLUSIVE lock", "Add constraints NOT VALID and VALIDATE them later; add columns without a volatile default and backfill in batches.", SQLStateBlocked},
	{RuleUnparsable, "the statement does not parse", "Fix the syntax error; belay blocks what it cannot read.", SQLStateSyntax},
	{RuleTooComplex, "the statement is too large or nested too deeply to check safely", "Split the statement into smaller ones.", SQLStateTooComplex},
	{RuleUnknownStatement, "a kind of statement belay does not know", "Ask for a profile that allows unknown-statement, or report the statement to belay's maintainers.", SQLStateBlocked},
	{RuleUnknownPrepared, "EXECUTE of a prepared statement belay did not see prepared", "PREPARE the statement through belay in this session first.", SQLStateBlocked},
}

var catalogByID = func() map[RuleID]*Rule {
	m := make(map[RuleID]*Rule, len(catalog))
	for i := range catalog {
		m[catalog[i].ID] = &catalog[i]
	}
	return m
}()

// All returns every rule id, in documentation order.
func All() []RuleID {
	ids := make([]RuleID, len(catalog))
	for i, r := range catalog {
		ids[i] = r.ID
	}
	return ids
}

// Lookup returns the rule with the given id.
func Lookup(id RuleID) (*Rule, bool) {
	r, ok := catalogByID[id]
	return r, ok
}
