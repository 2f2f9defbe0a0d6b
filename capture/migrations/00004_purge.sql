-- belay's schema, version 4: retention.
--
-- purge drops the before-images of changes older than a given age. The
-- record of each change stays (who did what, when); its status becomes
-- 'expired', and it can no longer be undone. Nobody but belay_owner (and
-- its members) may call it: purging takes undo away.

-- +goose Up
ALTER TABLE belay.changes DROP CONSTRAINT changes_status_check;
ALTER TABLE belay.changes ADD CONSTRAINT changes_status_check CHECK (status IN ('applied', 'undone', 'expired'));

-- +goose StatementBegin
CREATE FUNCTION belay.purge(older_than interval)
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
ALTER FUNCTION belay.purge(interval) OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.purge(interval) FROM PUBLIC;

-- +goose Down
DROP FUNCTION belay.purge(interval);
ALTER TABLE belay.changes DROP CONSTRAINT changes_status_check;
ALTER TABLE belay.changes ADD CONSTRAINT changes_status_check CHECK (status IN ('applied', 'undone'));
