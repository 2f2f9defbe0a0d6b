package rules

import (
	"reflect"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// utAnalyze analyses sql, failing the test if it does not parse.
func utAnalyze(t *testing.T, sql string) []Analyzed {
	t.Helper()
	out, perr := Analyze(sql)
	if perr != nil {
		t.Fatalf("Analyze(%q): %v", sql, perr)
	}
	return out
}

// utFindings is every finding of rule in any statement of sql.
func utFindings(t *testing.T, sql string, rule RuleID) []Finding {
	t.Helper()
	var out []Finding
	for _, s := range utAnalyze(t, sql) {
		for _, f := range s.Findings {
			if f.Rule == rule {
				out = append(out, f)
			}
		}
	}
	return out
}

func TestUtilityKinds(t *testing.T) {
	cases := []struct {
		sql  string
		kind Kind
	}{
		{"BEGIN", KindTransaction},
		{"START TRANSACTION ISOLATION LEVEL SERIALIZABLE", KindTransaction},
		{"COMMIT", KindTransaction},
		{"ROLLBACK", KindTransaction},
		{"SAVEPOINT s", KindTransaction},
		{"RELEASE SAVEPOINT s", KindTransaction},
		{"ROLLBACK TO SAVEPOINT s", KindTransaction},
		{"PREPARE TRANSACTION 'x'", KindTransaction},
		{"COMMIT PREPARED 'x'", KindTransaction},
		{"ROLLBACK PREPARED 'x'", KindTransaction},
		{"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", KindTransaction},
		{"SET CONSTRAINTS ALL DEFERRED", KindTransaction},
		{"SET work_mem = '64MB'", KindUtility},
		{"SET TIME ZONE 'UTC'", KindUtility},
		{"RESET ALL", KindUtility},
		{"SHOW work_mem", KindRead},
		{"SET ROLE admin", KindPrivilege},
		{"RESET ROLE", KindPrivilege},
		{"LISTEN ch", KindUtility},
		{"NOTIFY ch, 'x'", KindUtility},
		{"UNLISTEN *", KindUtility},
		{"DISCARD ALL", KindUtility},
		{"DECLARE c CURSOR FOR SELECT * FROM t", KindRead},
		{"FETCH 10 FROM c", KindRead},
		{"MOVE NEXT IN c", KindRead},
		{"CLOSE c", KindUtility},
		{"VACUUM t", KindUtility},
		{"ANALYZE t", KindUtility},
		{"CHECKPOINT", KindUtility},
		{"LOAD 'auto_explain'", KindUtility},
		{"LOCK t IN SHARE MODE", KindUtility},
		{"CLUSTER t", KindUtility},
		{"REINDEX TABLE t", KindUtility},
		{"REFRESH MATERIALIZED VIEW m", KindUtility},
		{"DO $$BEGIN END$$", KindUtility},
		{"CALL p()", KindUtility},
		{"ALTER SYSTEM SET work_mem = '1GB'", KindUtility},
		{"COPY t FROM STDIN", KindWrite},
		{"COPY t TO STDOUT", KindRead},
		{"COPY (SELECT * FROM t) TO STDOUT", KindRead},
		{"COPY (DELETE FROM t WHERE id = 1 RETURNING *) TO STDOUT", KindWrite},
		{"CREATE TABLE t (a int)", KindDDL},
		{"CREATE TABLE t AS SELECT 1", KindDDL},
		{"CREATE MATERIALIZED VIEW m AS SELECT 1", KindDDL},
		{"ALTER TABLE t ADD COLUMN c int", KindDDL},
		{"DROP TABLE t", KindDDL},
		{"TRUNCATE t", KindDDL},
		{"CREATE INDEX CONCURRENTLY i ON t (a)", KindDDL},
		{"CREATE VIEW v AS SELECT 1", KindDDL},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", KindDDL},
		{"CREATE EXTENSION pgcrypto", KindDDL},
		{"COMMENT ON TABLE t IS 'x'", KindDDL},
		{"SECURITY LABEL ON TABLE t IS 'x'", KindDDL},
		{"CREATE SCHEMA s", KindDDL},
		{"DROP DATABASE d", KindDDL},
		{"IMPORT FOREIGN SCHEMA r FROM SERVER s INTO l", KindDDL},
		{"DROP OWNED BY r", KindDDL},
		{"GRANT SELECT ON t TO r", KindPrivilege},
		{"REVOKE ALL ON SCHEMA s FROM r", KindPrivilege},
		{"GRANT admin TO r", KindPrivilege},
		{"CREATE ROLE r LOGIN", KindPrivilege},
		{"ALTER ROLE r WITH PASSWORD 'secret'", KindPrivilege},
		{"ALTER ROLE r SET work_mem = '1GB'", KindPrivilege},
		{"DROP ROLE r", KindPrivilege},
		{"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO r", KindPrivilege},
		{"REASSIGN OWNED BY a TO b", KindPrivilege},
		{"ALTER FUNCTION f() OWNER TO r", KindPrivilege},
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			if got := analyzeOne(t, c.sql).Kind; got != c.kind {
				t.Fatalf("kind %s, want %s", got, c.kind)
			}
		})
	}
}

// utSamples has a statement of every statement type the utility analyzer
// knows, by parse tree node name.
var utSamples = map[string]string{
	"TransactionStmt":              "BEGIN",
	"ConstraintsSetStmt":           "SET CONSTRAINTS ALL IMMEDIATE",
	"VariableSetStmt":              "SET work_mem = '1MB'",
	"VariableShowStmt":             "SHOW ALL",
	"DiscardStmt":                  "DISCARD TEMP",
	"ListenStmt":                   "LISTEN ch",
	"UnlistenStmt":                 "UNLISTEN ch",
	"NotifyStmt":                   "NOTIFY ch",
	"LoadStmt":                     "LOAD 'plugin'",
	"CheckPointStmt":               "CHECKPOINT",
	"ClosePortalStmt":              "CLOSE ALL",
	"AlterSystemStmt":              "ALTER SYSTEM RESET work_mem",
	"DeclareCursorStmt":            "DECLARE c NO SCROLL CURSOR WITH HOLD FOR SELECT 1",
	"FetchStmt":                    "FETCH ALL c",
	"VacuumStmt":                   "VACUUM (VERBOSE) t",
	"ClusterStmt":                  "CLUSTER t USING i",
	"ReindexStmt":                  "REINDEX INDEX CONCURRENTLY i",
	"LockStmt":                     "LOCK t IN ACCESS SHARE MODE",
	"RefreshMatViewStmt":           "REFRESH MATERIALIZED VIEW CONCURRENTLY m",
	"CopyStmt":                     "COPY t (a, b) TO STDOUT WITH (FORMAT csv)",
	"CreateTableAsStmt":            "CREATE TEMP TABLE x AS SELECT * FROM t",
	"DoStmt":                       "DO $$BEGIN RAISE NOTICE 'hi'; END$$",
	"CallStmt":                     "CALL p(1)",
	"CreateStmt":                   "CREATE TABLE t (id bigint PRIMARY KEY, a text NOT NULL)",
	"CreateForeignTableStmt":       "CREATE FOREIGN TABLE f (a int) SERVER s",
	"AlterTableStmt":               "ALTER TABLE t ALTER COLUMN c SET STATISTICS 100, ALTER COLUMN d SET DEFAULT 1",
	"AlterTableMoveAllStmt":        "ALTER INDEX ALL IN TABLESPACE a SET TABLESPACE b",
	"IndexStmt":                    "CREATE INDEX CONCURRENTLY ON t (a)",
	"DropStmt":                     "DROP VIEW IF EXISTS v",
	"TruncateStmt":                 "TRUNCATE t",
	"RuleStmt":                     "CREATE RULE r AS ON INSERT TO t DO ALSO NOTIFY ch",
	"ViewStmt":                     "CREATE OR REPLACE VIEW v AS SELECT 1",
	"CreateTrigStmt":               "CREATE TRIGGER tg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
	"CreatePolicyStmt":             "CREATE POLICY p ON t USING (owner = current_user)",
	"AlterPolicyStmt":              "ALTER POLICY p ON t USING (true)",
	"CreateSeqStmt":                "CREATE SEQUENCE s",
	"AlterSeqStmt":                 "ALTER SEQUENCE s RESTART",
	"CreateStatsStmt":              "CREATE STATISTICS st ON a, b FROM t",
	"AlterStatsStmt":               "ALTER STATISTICS st SET STATISTICS 100",
	"RenameStmt":                   "ALTER TABLE t RENAME TO u",
	"AlterObjectSchemaStmt":        "ALTER TABLE t SET SCHEMA s",
	"CommentStmt":                  "COMMENT ON COLUMN t.c IS 'x'",
	"SecLabelStmt":                 "SECURITY LABEL FOR selinux ON TABLE t IS 'x'",
	"AlterObjectDependsStmt":       "ALTER FUNCTION f() DEPENDS ON EXTENSION e",
	"CreateFunctionStmt":           "CREATE FUNCTION f() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1'",
	"AlterFunctionStmt":            "ALTER FUNCTION f() STABLE",
	"CreatePLangStmt":              "CREATE LANGUAGE plsample HANDLER plsample_call_handler",
	"CreateTransformStmt":          "CREATE TRANSFORM FOR hstore LANGUAGE plpython3u (FROM SQL WITH FUNCTION f(internal), TO SQL WITH FUNCTION g(internal))",
	"CreateCastStmt":               "CREATE CAST (int AS text) WITH INOUT",
	"CreateEventTrigStmt":          "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()",
	"AlterEventTrigStmt":           "ALTER EVENT TRIGGER e ENABLE ALWAYS",
	"DefineStmt":                   "CREATE AGGREGATE agg (int) (SFUNC = int4pl, STYPE = int)",
	"CompositeTypeStmt":            "CREATE TYPE ty AS (a int, b text)",
	"CreateEnumStmt":               "CREATE TYPE mood AS ENUM ('sad', 'happy')",
	"CreateRangeStmt":              "CREATE TYPE fr AS RANGE (subtype = float8)",
	"AlterEnumStmt":                "ALTER TYPE mood ADD VALUE 'ok'",
	"AlterTypeStmt":                "ALTER TYPE ty SET (STORAGE = plain)",
	"CreateDomainStmt":             "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
	"AlterDomainStmt":              "ALTER DOMAIN posint SET NOT NULL",
	"AlterOperatorStmt":            "ALTER OPERATOR === (int, int) SET (RESTRICT = eqsel)",
	"AlterCollationStmt":           "ALTER COLLATION c REFRESH VERSION",
	"CreateConversionStmt":         "CREATE CONVERSION cv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8",
	"CreateOpClassStmt":            "CREATE OPERATOR CLASS oc FOR TYPE int USING btree AS OPERATOR 1 <",
	"CreateOpFamilyStmt":           "CREATE OPERATOR FAMILY of USING btree",
	"AlterOpFamilyStmt":            "ALTER OPERATOR FAMILY of USING btree ADD OPERATOR 1 < (int, int)",
	"AlterTSDictionaryStmt":        "ALTER TEXT SEARCH DICTIONARY d (StopWords = english)",
	"AlterTSConfigurationStmt":     "ALTER TEXT SEARCH CONFIGURATION c ALTER MAPPING FOR word WITH simple",
	"CreateAmStmt":                 "CREATE ACCESS METHOD am TYPE INDEX HANDLER h",
	"CreateSchemaStmt":             "CREATE SCHEMA IF NOT EXISTS s",
	"CreateExtensionStmt":          "CREATE EXTENSION IF NOT EXISTS pgcrypto",
	"AlterExtensionStmt":           "ALTER EXTENSION pgcrypto UPDATE",
	"AlterExtensionContentsStmt":   "ALTER EXTENSION e ADD TABLE t",
	"CreateFdwStmt":                "CREATE FOREIGN DATA WRAPPER w",
	"AlterFdwStmt":                 "ALTER FOREIGN DATA WRAPPER w OPTIONS (ADD x 'y')",
	"CreateForeignServerStmt":      "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw",
	"AlterForeignServerStmt":       "ALTER SERVER s VERSION '2'",
	"CreateUserMappingStmt":        "CREATE USER MAPPING FOR r SERVER s OPTIONS (user 'u', password 'p')",
	"AlterUserMappingStmt":         "ALTER USER MAPPING FOR r SERVER s OPTIONS (SET password 'q')",
	"DropUserMappingStmt":          "DROP USER MAPPING FOR r SERVER s",
	"ImportForeignSchemaStmt":      "IMPORT FOREIGN SCHEMA r LIMIT TO (a) FROM SERVER s INTO l",
	"CreatedbStmt":                 "CREATE DATABASE d",
	"AlterDatabaseStmt":            "ALTER DATABASE d CONNECTION LIMIT 5",
	"AlterDatabaseRefreshCollStmt": "ALTER DATABASE d REFRESH COLLATION VERSION",
	"AlterDatabaseSetStmt":         "ALTER DATABASE d SET work_mem = '1MB'",
	"DropdbStmt":                   "DROP DATABASE d",
	"CreateTableSpaceStmt":         "CREATE TABLESPACE ts LOCATION '/tmp/ts'",
	"DropTableSpaceStmt":           "DROP TABLESPACE ts",
	"AlterTableSpaceOptionsStmt":   "ALTER TABLESPACE ts SET (random_page_cost = 1)",
	"CreatePublicationStmt":        "CREATE PUBLICATION p FOR TABLE t",
	"AlterPublicationStmt":         "ALTER PUBLICATION p ADD TABLE u",
	"DropSubscriptionStmt":         "DROP SUBSCRIPTION s",
	"GrantStmt":                    "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO r",
	"AlterDefaultPrivilegesStmt":   "ALTER DEFAULT PRIVILEGES FOR ROLE a REVOKE ALL ON FUNCTIONS FROM PUBLIC",
	"GrantRoleStmt":                "REVOKE admin FROM r",
	"CreateRoleStmt":               "CREATE USER u",
	"AlterRoleStmt":                "ALTER USER u NOSUPERUSER",
	"AlterRoleSetStmt":             "ALTER ROLE u IN DATABASE d RESET ALL",
	"DropRoleStmt":                 "DROP USER IF EXISTS u",
	"ReassignOwnedStmt":            "REASSIGN OWNED BY a TO b",
	"AlterOwnerStmt":               "ALTER SCHEMA s OWNER TO r",
	"DropOwnedStmt":                "DROP OWNED BY r CASCADE",
}

// utDMLTypes are the statement types analyzeDML handles.
var utDMLTypes = map[string]bool{
	"SelectStmt": true, "InsertStmt": true, "UpdateStmt": true, "DeleteStmt": true, "MergeStmt": true,
	"ExplainStmt": true, "PrepareStmt": true, "ExecuteStmt": true, "DeallocateStmt": true,
}

// utUnknownTypes are left to unknown-statement on purpose (docs/rules.md
// says why), or are never top-level statements.
var utUnknownTypes = map[string]string{
	"CreateSubscriptionStmt": "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
	"AlterSubscriptionStmt":  "ALTER SUBSCRIPTION s REFRESH PUBLICATION",
	"ReturnStmt":             "",
	"PLAssignStmt":           "",
	"SetOperationStmt":       "",
	"ReplicaIdentityStmt":    "",
	"RawStmt":                "",
}

// Every *Stmt node type of the grammar is decided: known to the utility
// analyzer (and a sample parses to it without unknown-statement), known to
// the DML analyzer, or unknown on purpose. A new grammar's new statement
// type fails here until it is decided.
func TestUtilityCoversEveryStatementType(t *testing.T) {
	fields := (&pg_query.Node{}).ProtoReflect().Descriptor().Oneofs().Get(0).Fields()
	for i := 0; i < fields.Len(); i++ {
		name := string(fields.Get(i).Message().Name())
		if !strings.HasSuffix(name, "Stmt") || utDMLTypes[name] {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if sql, unknown := utUnknownTypes[name]; unknown {
				if sql != "" {
					if len(utFindings(t, sql, RuleUnknownStatement)) == 0 {
						t.Fatalf("%s is meant to be unknown", sql)
					}
				}
				return
			}
			sql, ok := utSamples[name]
			if !ok {
				t.Fatalf("statement type %s is not decided: add it to analyzeUtility (and a sample here) or to utUnknownTypes", name)
			}
			tree, err := pg_query.Parse(sql)
			if err != nil || len(tree.Stmts) != 1 {
				t.Fatalf("sample %q: %v", sql, err)
			}
			if got := nodeTypeName(tree.Stmts[0].Stmt); got != name {
				t.Fatalf("sample %q parses to %s, not %s", sql, got, name)
			}
			var f Facts
			if !analyzeUtility(tree.Stmts[0].Stmt, &f) {
				t.Fatalf("analyzeUtility does not know %s", name)
			}
			if f.Kind == KindUnknown {
				t.Fatalf("%s: Kind unknown", name)
			}
			if got := utFindings(t, sql, RuleUnknownStatement); len(got) > 0 {
				t.Fatalf("%s: %+v", name, got)
			}
		})
	}
}

// Protobuf fields may be missing anywhere: an empty message of every node
// type must not panic the analyzer (nor make it claim a type it does not
// know).
func TestUtilityEmptyNodesDoNotPanic(t *testing.T) {
	fields := (&pg_query.Node{}).ProtoReflect().Descriptor().Oneofs().Get(0).Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		n := &pg_query.Node{}
		m := n.ProtoReflect()
		m.Set(fd, m.NewField(fd))
		t.Run(string(fd.Message().Name()), func(t *testing.T) {
			var f Facts
			analyzeUtility(n, &f)
			analyzeUtility(nil, &f)
			analyzeUtility(&pg_query.Node{}, &f)
		})
	}
}

// Facts are shared by every text of one shape (literals cut out) unless
// LiteralSensitive says they depend on the literals.
func TestUtilityFactsAgreeAcrossLiterals(t *testing.T) {
	pairs := [][2]string{
		{"SET session_replication_role = 'replica'", "SET session_replication_role = 'origin'"},
		{"SET ROLE 'admin'", "SET ROLE 'none'"},
		{"SET search_path = 'belay'", "SET search_path = 'public'"},
		{"VACUUM (FULL 1) t", "VACUUM (FULL 0) t"},
		{"VACUUM (FULL 'on') t", "VACUUM (FULL 'off') t"},
		{"REINDEX (CONCURRENTLY 1) TABLE t", "REINDEX (CONCURRENTLY 0) TABLE t"},
		{"DO $$BEGIN DELETE FROM t; END$$", "DO $$BEGIN PERFORM 1; END$$"},
		{"DO 'BEGIN TRUNCATE t; END'", "DO 'BEGIN NULL; END'"},
		{"DO LANGUAGE 'plpgsql' $$BEGIN TRUNCATE t; END$$", "DO LANGUAGE 'plperl' $$BEGIN TRUNCATE t; END$$"},
		{"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM t'", "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'SELECT 1'"},
		{"COPY t FROM PROGRAM 'a'", "COPY t FROM PROGRAM 'b'"},
		{"COPY t FROM '/a'", "COPY t FROM '/b'"},
		{"ALTER TABLE t ADD COLUMN c int DEFAULT 0", "ALTER TABLE t ADD COLUMN c int DEFAULT 5"},
		{"ALTER TABLE t ADD COLUMN c text DEFAULT 'x'", "ALTER TABLE t ADD COLUMN c text DEFAULT 'y'"},
		{"ALTER SYSTEM SET work_mem = '1GB'", "ALTER SYSTEM SET work_mem = '2GB'"},
		{"ALTER ROLE r SET session_replication_role = 'replica'", "ALTER ROLE r SET session_replication_role = 'origin'"},
		{"LOCK t IN SHARE MODE", "LOCK t IN SHARE MODE"},
		{"NOTIFY ch, 'a'", "NOTIFY ch, 'b'"},
	}
	requireFactsAgreeAcrossLiterals(t, pairs)
}

func TestUtilityDiscard(t *testing.T) {
	if p := analyzeOne(t, "DISCARD ALL").Prepared; p == nil || p.Op != DeallocateAllOp {
		t.Fatalf("DISCARD ALL: Prepared %+v", p)
	}
	// DISCARD PLANS keeps prepared statements (checked on PostgreSQL 15):
	// EXECUTE still works afterwards.
	for _, sql := range []string{"DISCARD PLANS", "DISCARD TEMP", "DISCARD SEQUENCES"} {
		if p := analyzeOne(t, sql).Prepared; p != nil {
			t.Fatalf("%s: Prepared %+v", sql, p)
		}
	}
}

func TestUtilityTables(t *testing.T) {
	cases := []struct {
		sql  string
		want []TableUse
	}{
		{"TRUNCATE a, s.b", []TableUse{{"", "a", AccessWrite}, {"s", "b", AccessWrite}}},
		{"DROP TABLE IF EXISTS \"My Table\"", []TableUse{{"", "My Table", AccessDDL}}},
		{"COPY s.t FROM STDIN", []TableUse{{"s", "t", AccessWrite}}},
		{"COPY t TO STDOUT", []TableUse{{"", "t", AccessRead}}},
		{"LOCK a, b IN SHARE MODE", []TableUse{{"", "a", AccessLock}, {"", "b", AccessLock}}},
		{"ALTER TABLE s.t ADD COLUMN c int", []TableUse{{"s", "t", AccessDDL}}},
		{"CREATE INDEX CONCURRENTLY ON t (a)", []TableUse{{"", "t", AccessDDL}}},
		{"VACUUM ANALYZE t", []TableUse{{"", "t", AccessRead}}},
		{"VACUUM FULL t", []TableUse{{"", "t", AccessLock}}},
		{"CREATE TABLE x AS SELECT * FROM t", []TableUse{{"", "x", AccessDDL}, {"", "t", AccessRead}}},
		{"CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)", []TableUse{{"", "p1", AccessDDL}, {"", "p", AccessDDL}}},
		{"DROP TRIGGER tg ON s.t", []TableUse{{"s", "t", AccessDDL}}},
		{"DROP FUNCTION f()", nil},
		{"DROP FUNCTION belay.f()", []TableUse{{"belay", "f", AccessDDL}}},
		{"DROP SCHEMA belay", []TableUse{{"belay", "", AccessDDL}}},
		{"CREATE SCHEMA belay CREATE TABLE x (a int)", []TableUse{{"belay", "", AccessDDL}, {"belay", "x", AccessDDL}}},
		{"ALTER TABLE x SET SCHEMA belay", []TableUse{{"", "x", AccessDDL}, {"belay", "x", AccessDDL}}},
		{"GRANT SELECT ON belay.changes TO r", []TableUse{{"belay", "changes", AccessDDL}}},
		// A function's body runs later: its tables are not touched now.
		{"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM t WHERE id = 1'", nil},
		// A DO block's statements run now.
		{"DO $$BEGIN DELETE FROM t WHERE id = 1; END$$", []TableUse{{"", "t", AccessWrite}}},
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			got := analyzeOne(t, c.sql).Tables
			if len(got) == 0 && len(c.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("tables %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestUtilityQueries(t *testing.T) {
	t.Run("CREATE TABLE AS with a writing WITH", func(t *testing.T) {
		f := analyzeOne(t, "CREATE TABLE x AS WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d")
		if !utHas(f, RuleNoWhere, "t") {
			t.Fatalf("no-where not found: %+v", f)
		}
	})
	t.Run("COPY of a DELETE", func(t *testing.T) {
		f := analyzeOne(t, "COPY (DELETE FROM t RETURNING *) TO STDOUT")
		if f.Kind != KindWrite || !utHas(f, RuleNoWhere, "t") {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("CREATE TABLE AS EXECUTE", func(t *testing.T) {
		f := analyzeOne(t, "CREATE TABLE x AS EXECUTE p")
		if f.Prepared == nil || f.Prepared.Op != ExecuteOp || f.Prepared.Name != "p" {
			t.Fatalf("Prepared %+v", f.Prepared)
		}
	})
	t.Run("DECLARE", func(t *testing.T) {
		f := analyzeOne(t, "DECLARE c CURSOR FOR SELECT * FROM s.t")
		if f.Kind != KindRead || len(f.Tables) != 1 || f.Tables[0] != (TableUse{"s", "t", AccessRead}) {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("CREATE SCHEMA with elements", func(t *testing.T) {
		f := analyzeOne(t, "CREATE SCHEMA s CREATE TABLE a (x int) CREATE INDEX ON a (x)")
		if !utHas(f, RuleCreateIndex, "a") {
			t.Fatalf("%+v", f)
		}
	})
}

// utHas reports whether f has a finding of rule with the target.
func utHas(f Facts, rule RuleID, target string) bool {
	for _, x := range f.Findings {
		if x.Rule == rule && x.Target == target {
			return true
		}
	}
	return false
}

// Details are logged: they hold no literal values.
func TestUtilityDetailsHoldNoLiterals(t *testing.T) {
	secrets := []string{
		"SET ROLE 'secret_role'",
		"SET session_replication_role = 'secret_value'",
		"SET search_path = 'secret_schema', belay",
		"ALTER SYSTEM SET work_mem = 'secret_value'",
		"COPY t FROM PROGRAM 'secret_command'",
		"COPY (SELECT 'secret_value') TO PROGRAM 'secret_command'",
		"DO $$BEGIN DELETE FROM t; EXECUTE 'secret_value'; END$$",
		"DO LANGUAGE 'secret_language' 'secret_value'",
		"ALTER TABLE t ADD COLUMN c text DEFAULT 'secret_value' || random()",
		"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM t; SELECT ''secret_value'''",
		"DROP DATABASE d; ALTER ROLE r SET role = 'secret_role'",
	}
	for _, sql := range secrets {
		t.Run(sql, func(t *testing.T) {
			for _, s := range utAnalyze(t, sql) {
				if len(s.Findings) == 0 {
					t.Fatalf("no finding: the test proves nothing")
				}
				for _, f := range s.Findings {
					if strings.Contains(f.Detail+f.Target, "secret") {
						t.Fatalf("literal in finding: %+v", f)
					}
				}
			}
		})
	}
}
