package rules

import "testing"

// Lock levels as PostgreSQL's documentation gives them, most checked in
// pg_locks on PostgreSQL 15.
func TestUtilityLockLevels(t *testing.T) {
	const (
		none = ""
		sue  = lockShareUpdateExclusive
		sh   = lockShare
		sre  = lockShareRowExclusive
		ex   = lockExclusive
		ae   = lockAccessExclusive
	)
	cases := []struct {
		sql  string
		want string
	}{
		{"ALTER TABLE t ADD COLUMN c int", ae},
		{"ALTER TABLE t ALTER COLUMN c SET DEFAULT 1", ae},
		{"ALTER TABLE t ALTER COLUMN c SET STATISTICS 100", sue},
		{"ALTER TABLE t ALTER COLUMN c SET (n_distinct = 5)", sue},
		{"ALTER TABLE t VALIDATE CONSTRAINT c", sue},
		{"ALTER TABLE t CLUSTER ON i", sue},
		{"ALTER TABLE t SET WITHOUT CLUSTER", sue},
		{"ALTER TABLE t SET (fillfactor = 50, autovacuum_enabled = false, toast.autovacuum_enabled = false)", sue},
		{"ALTER TABLE t SET (user_catalog_table = true)", ae},
		{"ALTER TABLE t RESET (fillfactor)", sue},
		{"ALTER TABLE t DISABLE TRIGGER tg", sre},
		{"ALTER TABLE t ENABLE TRIGGER ALL", sre},
		{"ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u NOT VALID", sre},
		{"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID", ae},
		{"ALTER TABLE t ALTER COLUMN c SET STATISTICS 10, ALTER COLUMN d TYPE bigint", ae},
		{"ALTER TABLE t DISABLE RULE r", ae},
		{"ALTER TABLE p ATTACH PARTITION p1 FOR VALUES FROM (0) TO (10)", ae},
		{"ALTER TABLE p DETACH PARTITION p1", ae},
		{"ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", sue},
		{"ALTER TABLE p DETACH PARTITION p1 FINALIZE", sue},
		{"ALTER INDEX i SET (fillfactor = 50)", sue},
		{"ALTER INDEX i RENAME TO j", sue},
		{"ALTER TABLE t RENAME TO u", ae},
		{"ALTER TABLE t RENAME COLUMN a TO b", ae},
		{"ALTER TABLE t SET SCHEMA s", ae},
		{"ALTER SEQUENCE s RESTART", sre},
		{"CREATE TABLE t (a int)", none},
		{"CREATE TABLE t (a int REFERENCES u)", sre},
		{"CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10)", ae},
		{"CREATE TABLE c (x int) INHERITS (p)", sue},
		{"CREATE INDEX ON t (a)", sh},
		{"CREATE INDEX CONCURRENTLY ON t (a)", sue},
		{"DROP INDEX i", ae},
		{"DROP INDEX CONCURRENTLY i", sue},
		{"DROP TABLE t", ae},
		{"DROP TRIGGER tg ON t", ae},
		{"DROP FUNCTION f()", none},
		{"TRUNCATE t", ae},
		{"CREATE TRIGGER tg AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", sre},
		{"CREATE RULE r AS ON INSERT TO t DO ALSO NOTIFY ch", ae},
		{"CREATE POLICY p ON t USING (true)", ae},
		{"CREATE STATISTICS s ON a, b FROM t", sue},
		{"CREATE OR REPLACE VIEW v AS SELECT 1", ae},
		{"CREATE VIEW v AS SELECT 1", none},
		{"COMMENT ON TABLE t IS 'x'", sue},
		{"COMMENT ON FUNCTION f() IS 'x'", none},
		{"VACUUM t", sue},
		{"ANALYZE t", sue},
		{"VACUUM FULL t", ae},
		{"CLUSTER t", ae},
		{"REINDEX TABLE t", ae},
		{"REINDEX TABLE CONCURRENTLY t", sue},
		{"REFRESH MATERIALIZED VIEW m", ae},
		{"REFRESH MATERIALIZED VIEW CONCURRENTLY m", ex},
		{"LOCK t", ae},
		{"LOCK t IN ACCESS SHARE MODE", lockAccessShare},
		{"LOCK t IN ROW SHARE MODE", lockRowShare},
		{"LOCK t IN ROW EXCLUSIVE MODE", lockRowExclusive},
		{"LOCK t IN SHARE UPDATE EXCLUSIVE MODE", sue},
		{"LOCK t IN SHARE MODE", sh},
		{"LOCK t IN SHARE ROW EXCLUSIVE MODE", sre},
		{"LOCK t IN EXCLUSIVE MODE", ex},
		{"DO $$BEGIN TRUNCATE t; END$$", ae},
		{"GRANT SELECT ON t TO r", none},
		{"SET work_mem = '1MB'", none},
		{"COPY t FROM STDIN", none},
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			if got := analyzeOne(t, c.sql).LockLevel; got != c.want {
				t.Fatalf("LockLevel %q, want %q", got, c.want)
			}
		})
	}
}

func TestUtilityLockRank(t *testing.T) {
	for i := 1; i < len(lockModes); i++ {
		if lockRank(lockModes[i]) != i || lockRank(lockModes[i-1]) >= lockRank(lockModes[i]) {
			t.Fatalf("rank of %q", lockModes[i])
		}
	}
	var f Facts
	raiseLock(&f, lockShare)
	raiseLock(&f, lockRowShare)
	raiseLock(&f, "nonsense")
	if f.LockLevel != lockShare {
		t.Fatalf("LockLevel %q", f.LockLevel)
	}
}
