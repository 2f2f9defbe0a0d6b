package rules

// RuleID names a rule. Ids are stable: policies, metrics, audit lines,
// error messages and docs/rules.md all use them.
type RuleID string

// The rules. docs/rules.md documents each one; a test keeps the two in step.
const (
	// DML
	RuleNoWhere         RuleID = "no-where"         // UPDATE/DELETE that reaches every row of its target
	RuleConstantWhere   RuleID = "constant-where"   // WHERE that is true for every row (1=1, x=x, … OR true)
	RuleMerge           RuleID = "merge"            // MERGE
	RuleProtectedSchema RuleID = "protected-schema" // writes to belay's own schema
	RuleOpaqueCode      RuleID = "opaque-code"      // DO, CALL, functions not known read-only, dynamic SQL: may write
	RuleDblinkExec      RuleID = "dblink-exec"      // dblink_exec and friends: writes elsewhere, unseen
	RuleFunctionCall    RuleID = "function-call"    // a FunctionCall message (the protocol's fast path): a function by OID, unseen

	// DDL and utility
	RuleTruncate        RuleID = "truncate"
	RuleDropTable       RuleID = "drop-table"
	RuleDropSchema      RuleID = "drop-schema"
	RuleDropDatabase    RuleID = "drop-database"
	RuleDropColumn      RuleID = "drop-column"
	RuleCreateRule      RuleID = "create-rule"
	RuleDisableTrigger  RuleID = "disable-trigger"
	RuleReplicationRole RuleID = "replication-role" // SET session_replication_role, set_config of it
	RuleSetRole         RuleID = "set-role"         // SET ROLE, SET SESSION AUTHORIZATION
	RuleCopyProgram     RuleID = "copy-program"
	RuleAlterSystem     RuleID = "alter-system"

	// Heavy locks on a primary
	RuleLockTable    RuleID = "lock-table"
	RuleVacuumFull   RuleID = "vacuum-full"
	RuleCluster      RuleID = "cluster"
	RuleReindex      RuleID = "reindex"      // REINDEX without CONCURRENTLY
	RuleCreateIndex  RuleID = "create-index" // CREATE INDEX without CONCURRENTLY
	RuleTableRewrite RuleID = "table-rewrite"

	// Fail closed
	RuleUnparsable       RuleID = "unparsable"        // the parser rejects the text
	RuleTooComplex       RuleID = "too-complex"       // too large or nested too deep to parse safely
	RuleUnknownStatement RuleID = "unknown-statement" // a statement kind belay does not know
	RuleUnknownPrepared  RuleID = "unknown-prepared"  // EXECUTE of a prepared statement belay did not see prepared
)

// Kind is the broad class of a statement.
type Kind uint8

const (
	KindUnknown     Kind = iota
	KindRead             // SELECT, SHOW, EXPLAIN without ANALYZE, …
	KindWrite            // INSERT, UPDATE, DELETE, MERGE, COPY FROM, SELECT with a writing CTE
	KindDDL              // CREATE, ALTER, DROP, TRUNCATE, …
	KindPrivilege        // GRANT, REVOKE, CREATE/ALTER ROLE, SET ROLE
	KindTransaction      // BEGIN, COMMIT, ROLLBACK, SAVEPOINT, …
	KindUtility          // SET, VACUUM, LISTEN, PREPARE, DO, CALL, …
)

var kindNames = [...]string{"unknown", "read", "write", "ddl", "privilege", "transaction", "utility"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Access is how a statement touches a table.
type Access uint8

const (
	AccessRead  Access = iota + 1
	AccessWrite        // rows inserted, updated or deleted
	AccessDDL          // the table's definition changes (or it goes away)
	AccessLock         // LOCK TABLE and other lock-only uses
)

// TableUse is one table a statement touches. Schema is "" when the text
// does not qualify the name.
type TableUse struct {
	Schema string
	Name   string
	Access Access
}

// QualifiedName is schema.name, or name when unqualified.
func (t TableUse) QualifiedName() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// Finding is one rule that fired on a statement.
type Finding struct {
	Rule RuleID
	// Target is what it fired on (a table, a function, a setting); may be "".
	Target string
	// Detail says what was seen, for the DETAIL of belay's error. It holds
	// no literal values: it is logged.
	Detail string
}

// PreparedRef is set on PREPARE, EXECUTE and DEALLOCATE statements, so a
// session can remember per prepared statement what it does.
type PreparedRef struct {
	Op   PreparedOp
	Name string // "" with DeallocateAll
}

// PreparedOp is what a statement does to a session's prepared statements.
type PreparedOp uint8

const (
	PrepareOp PreparedOp = iota + 1 // PREPARE name AS …: the Facts are the inner statement's
	ExecuteOp                       // EXECUTE name: what it does is what was prepared
	DeallocateOp
	DeallocateAllOp // DEALLOCATE ALL, DISCARD ALL
)

// Facts is what the parser shows about one statement, whatever its literal
// values unless LiteralSensitive says otherwise. Shared through the cache:
// read-only.
type Facts struct {
	Kind   Kind
	Tables []TableUse
	// Functions called, as written (schema-qualified when the text is).
	Functions []string
	// MayWrite: the statement's effect cannot be seen from its text (DO,
	// CALL, a function not known to be read-only, dynamic SQL). The holds
	// check with PostgreSQL what it really did.
	MayWrite bool
	// LockLevel is the heaviest table lock a DDL or utility statement
	// takes, in PostgreSQL's words ("ACCESS EXCLUSIVE"); "" when none or
	// ordinary DML locks.
	LockLevel string
	// LiteralSensitive: some finding depends on literal values (1=1 versus
	// 1=2, the body of a DO block, the setting named in set_config), so the
	// facts of one text must not be reused for another of the same shape.
	LiteralSensitive bool
	// EndsTransaction: a transaction-control statement after which the
	// transaction's writes are durable: COMMIT (END, COMMIT AND CHAIN),
	// PREPARE TRANSACTION and COMMIT PREPARED. ROLLBACK in all its forms,
	// BEGIN and savepoints leave it false. The holds refuse it in the same
	// request as a held write, which must wait for the operator's COMMIT.
	// Top-level statements only: a COMMIT inside a DO block or procedure
	// is refused by PostgreSQL inside a transaction block, and such code
	// is MayWrite anyway.
	EndsTransaction bool
	// Estimable: an UPDATE or DELETE, whose rows PostgreSQL's planner can
	// estimate (EXPLAIN) before it runs, so a hold can refuse a statement
	// far over its row cap before it takes any row lock.
	Estimable bool
	// DropTables lists the tables a DROP TABLE names, as written; with
	// DropCascade (CASCADE) and DropMissingOK (IF EXISTS). A profile that
	// quarantines dropped tables needs them.
	DropTables    []TableUse
	DropCascade   bool
	DropMissingOK bool
	Prepared      *PreparedRef
	Findings      []Finding
}
