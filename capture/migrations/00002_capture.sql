-- belay's schema, version 2: capture (docs/capture.md).
--
-- A table an operator protects (belay capture enable) carries three
-- statement triggers with transition tables. Inside a held transaction
-- (SET LOCAL belay.capture = 'on', set by belay) each statement that
-- changes the table copies the rows it changed into a table of its own in
-- belay_images, typed like the source: the rows before an UPDATE or
-- DELETE, the rows an INSERT added. Elsewhere the triggers return at once.

-- +goose Up
CREATE SCHEMA belay_images AUTHORIZATION belay_owner;
REVOKE ALL ON SCHEMA belay_images FROM PUBLIC;

-- One row per image table: which change (by transaction), which table,
-- which operation, in what order, how many rows.
CREATE TABLE belay.row_images (
  xid         xid8 NOT NULL,
  seq         int NOT NULL,
  table_oid   oid NOT NULL,
  table_name  text NOT NULL,
  op          "char" NOT NULL CHECK (op IN ('I', 'U', 'D')),
  image_table name NOT NULL,
  rows        bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (xid, seq)
);
ALTER TABLE belay.row_images OWNER TO belay_owner;
REVOKE ALL ON belay.row_images FROM PUBLIC;

-- +goose StatementBegin
CREATE FUNCTION belay.capture() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  change xid8;
  n_seq int;
  image name;
  n bigint;
BEGIN
  IF coalesce(current_setting('belay.capture', true), '') <> 'on' THEN
    RETURN NULL;
  END IF;
  change := pg_current_xact_id();
  SELECT coalesce(max(r.seq), 0) + 1 INTO n_seq FROM belay.row_images r WHERE r.xid = change;
  image := change::text || '_' || n_seq;
  IF TG_OP = 'INSERT' THEN
    EXECUTE format('CREATE TABLE belay_images.%I AS SELECT * FROM new_rows', image);
  ELSE
    EXECUTE format('CREATE TABLE belay_images.%I AS SELECT * FROM old_rows', image);
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  INSERT INTO belay.row_images (xid, seq, table_oid, table_name, op, image_table, rows)
  VALUES (change, n_seq, TG_RELID, format('%s.%s', TG_TABLE_SCHEMA, TG_TABLE_NAME),
          CASE TG_OP WHEN 'INSERT' THEN 'I' WHEN 'UPDATE' THEN 'U' ELSE 'D' END, image, n);
  RETURN NULL;
END
$$;
-- +goose StatementEnd
ALTER FUNCTION belay.capture() OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.capture() FROM PUBLIC;

-- captured_rows is what the current transaction captured per table, for
-- the hold's cross-check against PostgreSQL's own counts.
CREATE FUNCTION belay.captured_rows()
RETURNS TABLE (table_name text, inserted bigint, updated bigint, deleted bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT r.table_name,
         sum(r.rows) FILTER (WHERE r.op = 'I')::bigint,
         sum(r.rows) FILTER (WHERE r.op = 'U')::bigint,
         sum(r.rows) FILTER (WHERE r.op = 'D')::bigint
  FROM belay.row_images r
  WHERE r.xid = pg_current_xact_id_if_assigned()
  GROUP BY r.table_name
$$;
ALTER FUNCTION belay.captured_rows() OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.captured_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION belay.captured_rows() TO PUBLIC;

-- +goose Down
DROP FUNCTION belay.captured_rows();
DROP FUNCTION belay.capture();
DROP TABLE belay.row_images;
DROP SCHEMA belay_images;
