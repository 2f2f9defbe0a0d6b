-- belay's schema, version 6: the preview in a hold's NOTICE.
--
-- A writer may read the images of its own changes (the capture trigger
-- grants it), so belay can show, in the writer's session, the first rows
-- of a held change old → new before the operator commits.

-- +goose Up
GRANT USAGE ON SCHEMA belay_images TO PUBLIC;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION belay.capture() RETURNS trigger
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
  -- The writer may read its own images (the preview); nobody else may.
  EXECUTE format('GRANT SELECT ON belay_images.%I TO %I', image, session_user);
  INSERT INTO belay.row_images (xid, seq, table_oid, table_name, op, image_table, rows)
  VALUES (change, n_seq, TG_RELID, format('%s.%s', TG_TABLE_SCHEMA, TG_TABLE_NAME),
          CASE TG_OP WHEN 'INSERT' THEN 'I' WHEN 'UPDATE' THEN 'U' ELSE 'D' END, image, n);
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- current_images lists the images of the current transaction.
CREATE FUNCTION belay.current_images()
RETURNS TABLE (seq int, table_oid oid, op "char", image_table name)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT r.seq, r.table_oid, r.op, r.image_table FROM belay.row_images r
  WHERE r.xid = pg_current_xact_id_if_assigned() ORDER BY r.seq
$$;
ALTER FUNCTION belay.current_images() OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.current_images() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION belay.current_images() TO PUBLIC;

-- preview describes the first max_rows rows of the current transaction's
-- change, one line each: the table, the row's key, and the columns it
-- changed (with old → new values, cut to 24 characters, when
-- show_values). It runs as the caller, who reads its own images and
-- tables.
-- +goose StatementBegin
CREATE FUNCTION belay.preview(max_rows int, show_values boolean)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  img record;
  keys text;
  ikeys text;
  r record;
  what text;
  lines text[] := '{}';
BEGIN
  FOR img IN SELECT * FROM belay.current_images() LOOP
    EXIT WHEN cardinality(lines) >= max_rows;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
           string_agg('i.' || quote_ident(a.attname), ', ' ORDER BY a.attnum)
      INTO keys, ikeys
      FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
      WHERE x.indrelid = img.table_oid AND x.indisprimary;
    CONTINUE WHEN keys IS NULL;
    FOR r IN EXECUTE format('SELECT row(%s)::text AS k, to_jsonb(i) AS o, to_jsonb(t) AS n FROM belay_images.%I i LEFT JOIN %s t USING (%s) ORDER BY 1 LIMIT %s',
                            ikeys, img.image_table, img.table_oid::regclass, keys, max_rows - cardinality(lines)) LOOP
      IF img.op = 'I' THEN
        what := 'inserted';
      ELSIF img.op = 'D' THEN
        what := 'deleted';
      ELSIF r.n IS NULL THEN
        what := 'updated, then deleted';
      ELSE
        SELECT 'updated: ' || coalesce(string_agg(CASE WHEN show_values
                 THEN format('%s %s → %s', c, left(coalesce(r.o->>c, 'null'), 24), left(coalesce(r.n->>c, 'null'), 24))
                 ELSE c END, ', ' ORDER BY c), 'nothing')
          INTO what
          FROM jsonb_object_keys(r.o) c WHERE r.o->c IS DISTINCT FROM r.n->c;
      END IF;
      lines := lines || format('%s %s %s', img.table_oid::regclass, r.k, what);
    END LOOP;
  END LOOP;
  RETURN array_to_string(lines, E'\n');
END
$$;
-- +goose StatementEnd
ALTER FUNCTION belay.preview(int, boolean) OWNER TO belay_owner;
GRANT EXECUTE ON FUNCTION belay.preview(int, boolean) TO PUBLIC;

-- +goose Down
DROP FUNCTION belay.preview(int, boolean);
DROP FUNCTION belay.current_images();
REVOKE USAGE ON SCHEMA belay_images FROM PUBLIC;
