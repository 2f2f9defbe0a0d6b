-- belay's schema, version 8: quarantined tables expire, and undo's
-- outcomes are kept.
--
-- belay purge drops quarantined tables older than the retention. It
-- drops each one with the operator's own rights (a member of belay_owner,
-- which owns belay_quarantine and so may drop what others own there), in
-- a transaction of its own so that one it cannot drop stops nothing, and
-- records it gone through note_purged, which checks that it is. A change
-- expires only once none of its images or quarantined tables are left,
-- and keeps its images while one of its tables could not be dropped: a
-- change is kept whole, so undo never brings back half of one.
--
-- Every belay undo but a dry run adds its outcome to belay.undo_attempts,
-- add-only like belay.changes.

-- +goose Up
ALTER TABLE belay.quarantined ADD COLUMN purged_at timestamptz;

-- note_purged records that the quarantined table tab of change `change`
-- is gone: belay purge dropped it in the caller's transaction, or someone
-- did before. While a relation with its oid exists it records nothing.
CREATE FUNCTION belay.note_purged(change xid8, tab oid)
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH m AS (
    UPDATE belay.quarantined q SET purged_at = now()
    WHERE q.xid = change AND q.table_oid = tab AND q.purged_at IS NULL
      AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = tab)
    RETURNING 1)
  SELECT count(*) = 1 FROM m
$$;
ALTER FUNCTION belay.note_purged(xid8, oid) OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.note_purged(xid8, oid) FROM PUBLIC;

-- purge as in version 4, except that a change with a table still in the
-- quarantine keeps its images and does not expire.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION belay.purge(older_than interval)
RETURNS TABLE (changes bigint, images bigint, image_rows bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
BEGIN
  changes := 0; images := 0; image_rows := 0;
  FOR r IN SELECT ri.xid, ri.seq, ri.image_table, ri.rows FROM belay.row_images ri
           WHERE ri.created_at < now() - older_than
             AND NOT EXISTS (SELECT FROM belay.quarantined q JOIN pg_class c ON c.oid = q.table_oid
                             WHERE q.xid = ri.xid AND c.relnamespace = 'belay_quarantine'::regnamespace)
           ORDER BY ri.xid, ri.seq LOOP
    EXECUTE format('DROP TABLE IF EXISTS belay_images.%I', r.image_table);
    DELETE FROM belay.row_images WHERE xid = r.xid AND seq = r.seq;
    images := images + 1;
    image_rows := image_rows + r.rows;
  END LOOP;
  WITH e AS (
    UPDATE belay.changes c SET status = 'expired'
    WHERE c.status = 'applied' AND c.created_at < now() - older_than
      AND NOT EXISTS (SELECT FROM belay.row_images ri WHERE ri.xid = c.xid)
      AND NOT EXISTS (SELECT FROM belay.quarantined q JOIN pg_class t ON t.oid = q.table_oid
                      WHERE q.xid = c.xid AND t.relnamespace = 'belay_quarantine'::regnamespace)
    RETURNING 1)
  SELECT count(*) INTO changes FROM e;
  RETURN NEXT;
END
$$;
-- +goose StatementEnd

-- One row per belay undo (dry runs aside): which change, who
-- (session_user), how it ended, how many rows its plan covered (put back
-- when applied) and how many conflicts it found. The change id is not a
-- reference: an undo of a change that does not exist is an attempt too.
CREATE TABLE belay.undo_attempts (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  change_id  bigint NOT NULL,
  user_name  text NOT NULL,
  outcome    text NOT NULL CHECK (outcome IN ('applied', 'conflicts', 'declined', 'failed')),
  rows       bigint NOT NULL CHECK (rows >= 0),
  conflicts  bigint NOT NULL CHECK (conflicts >= 0)
);
ALTER TABLE belay.undo_attempts OWNER TO belay_owner;
REVOKE ALL ON belay.undo_attempts FROM PUBLIC;
GRANT SELECT ON belay.undo_attempts TO belay_undo;

-- record_undo_attempt adds one attempt, never changes one. A refused undo
-- calls it after its own transaction was rolled back.
CREATE FUNCTION belay.record_undo_attempt(undone bigint, result text, n_rows bigint, n_conflicts bigint)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO belay.undo_attempts (change_id, user_name, outcome, rows, conflicts)
  VALUES (undone, session_user, result, n_rows, n_conflicts)
  RETURNING id
$$;
ALTER FUNCTION belay.record_undo_attempt(bigint, text, bigint, bigint) OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.record_undo_attempt(bigint, text, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION belay.record_undo_attempt(bigint, text, bigint, bigint) TO belay_undo;

-- +goose Down
DROP FUNCTION belay.record_undo_attempt(bigint, text, bigint, bigint);
DROP TABLE belay.undo_attempts;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION belay.purge(older_than interval)
RETURNS TABLE (changes bigint, images bigint, image_rows bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
BEGIN
  changes := 0; images := 0; image_rows := 0;
  FOR r IN SELECT ri.xid, ri.seq, ri.image_table, ri.rows FROM belay.row_images ri
           WHERE ri.created_at < now() - older_than ORDER BY ri.xid, ri.seq LOOP
    EXECUTE format('DROP TABLE IF EXISTS belay_images.%I', r.image_table);
    DELETE FROM belay.row_images WHERE xid = r.xid AND seq = r.seq;
    images := images + 1;
    image_rows := image_rows + r.rows;
  END LOOP;
  WITH e AS (
    UPDATE belay.changes c SET status = 'expired'
    WHERE c.status = 'applied' AND c.created_at < now() - older_than
      AND NOT EXISTS (SELECT FROM belay.row_images ri WHERE ri.xid = c.xid)
    RETURNING 1)
  SELECT count(*) INTO changes FROM e;
  RETURN NEXT;
END
$$;
-- +goose StatementEnd
DROP FUNCTION belay.note_purged(xid8, oid);
ALTER TABLE belay.quarantined DROP COLUMN purged_at;
