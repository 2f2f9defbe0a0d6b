-- belay's schema, version 7: updates undo cannot find by key, and image sizes.
--
-- Undo finds the rows an UPDATE changed by their primary key. Two kinds of
-- update defeat that: one on a table without a primary key, and one that
-- changes key values. Such an update is kept as two images: its old rows
-- (op K, which undo puts back, as after a DELETE) and its new rows (op N,
-- which undo removes, as after an INSERT). So the UPDATE trigger declares
-- both transition tables (docs/capture.md has the cost), and a column
-- trigger on the key's columns tells it when a statement set a key column:
-- only then does it compare old and new keys.
--
-- Each image also records its size, for the hold and for retention.

-- +goose Up
ALTER TABLE belay.row_images ADD COLUMN bytes bigint NOT NULL DEFAULT 0;
ALTER TABLE belay.row_images DROP CONSTRAINT row_images_op_check;
ALTER TABLE belay.row_images ADD CONSTRAINT row_images_op_check CHECK (op IN ('I', 'U', 'D', 'K', 'N'));

-- key_columns lists a table's primary key columns, and whether = on each
-- means written alike (integers, uuid, text under a deterministic
-- collation…). Where it does not (numeric 1.0 = 1.00, a case-insensitive
-- collation), capture compares keys as text and undo sets them back too,
-- so that undo is exact.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION belay.key_columns(tab oid)
RETURNS TABLE (attnum int2, attname name, exact boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT a.attnum, a.attname,
         a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'uuid'::regtype, 'bool'::regtype,
                        'date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)
         OR (a.atttypid IN ('text'::regtype, 'varchar'::regtype) AND coalesce(c.collisdeterministic, false))
  FROM pg_index x
  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
  LEFT JOIN pg_collation c ON c.oid = a.attcollation
  WHERE x.indrelid = tab AND x.indisprimary
  ORDER BY a.attnum
$$;
-- +goose StatementEnd
ALTER FUNCTION belay.key_columns(oid) OWNER TO belay_owner;
GRANT EXECUTE ON FUNCTION belay.key_columns(oid) TO PUBLIC;

-- capture_key flags the table for capture(): this statement set a key
-- column. Column triggers cannot see transition tables, but they cost
-- nothing when the statement sets no key column; they fire before
-- belay_capture_update, whose name sorts after theirs.
-- +goose StatementBegin
CREATE FUNCTION belay.capture_key() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF coalesce(current_setting('belay.capture', true), '') = 'on' THEN
    PERFORM set_config('belay.key_update', TG_RELID::text, true);
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd
ALTER FUNCTION belay.capture_key() OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.capture_key() FROM PUBLIC;

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
  ops text[];
  sources text[];
  flagged boolean;
  with_new boolean;
  key_match text;
  key_cols int2[];
  moved boolean := false;
BEGIN
  IF coalesce(current_setting('belay.capture', true), '') <> 'on' THEN
    RETURN NULL;
  END IF;
  change := pg_current_xact_id();
  IF TG_OP = 'UPDATE' THEN
    flagged := coalesce(current_setting('belay.key_update', true), '') = TG_RELID::text;
    IF flagged THEN
      PERFORM set_config('belay.key_update', '', true);
    END IF;
    SELECT t.tgnewtable IS NOT NULL INTO with_new FROM pg_trigger t WHERE t.tgrelid = TG_RELID AND t.tgname = TG_NAME;
    -- A key = calls equal but written differently (1.0, 1.00) moved too.
    SELECT string_agg(CASE WHEN k.exact THEN format('n.%1$I = o.%1$I', k.attname)
                           ELSE format('n.%1$I::text COLLATE "C" = o.%1$I::text COLLATE "C"', k.attname) END, ' AND '),
           array_agg(k.attnum ORDER BY k.attnum)
      INTO key_match, key_cols
      FROM belay.key_columns(TG_RELID) k;
    IF NOT with_new THEN
      moved := false; -- a trigger installed before version 7: old rows only
    ELSIF key_match IS NULL THEN
      moved := true; -- no key: undo matches whole rows
    ELSIF flagged
       -- Unflagged is trusted only when the key trigger covers today's key
       -- and no BEFORE ROW UPDATE trigger (tgtype 19) could have changed a
       -- key unseen.
       OR NOT EXISTS (SELECT FROM pg_trigger k WHERE k.tgrelid = TG_RELID AND k.tgname = 'belay_capture_key'
                      AND k.tgenabled <> 'D' AND k.tgattr::int2[] @> key_cols)
       OR EXISTS (SELECT FROM pg_trigger b WHERE b.tgrelid = TG_RELID AND b.tgtype::int & 19 = 19 AND b.tgenabled <> 'D') THEN
      -- An old key missing from the new keys (keys are unique, and as many):
      -- found at once when keys moved.
      EXECUTE format('SELECT EXISTS (SELECT FROM old_rows o WHERE NOT EXISTS (SELECT FROM new_rows n WHERE %s))', key_match) INTO moved;
    END IF;
  END IF;
  IF TG_OP = 'INSERT' THEN
    ops := '{I}'; sources := '{new_rows}';
  ELSIF TG_OP = 'DELETE' THEN
    ops := '{D}'; sources := '{old_rows}';
  ELSIF moved THEN
    ops := '{K,N}'; sources := '{old_rows,new_rows}';
  ELSE
    ops := '{U}'; sources := '{old_rows}';
  END IF;
  SELECT coalesce(max(r.seq), 0) INTO n_seq FROM belay.row_images r WHERE r.xid = change;
  FOR i IN 1 .. cardinality(ops) LOOP
    n_seq := n_seq + 1;
    image := change::text || '_' || n_seq;
    EXECUTE format('CREATE TABLE belay_images.%I AS SELECT * FROM %I', image, sources[i]);
    GET DIAGNOSTICS n = ROW_COUNT;
    -- The writer may read its own images (the preview); nobody else may.
    EXECUTE format('GRANT SELECT ON belay_images.%I TO %I', image, session_user);
    INSERT INTO belay.row_images (xid, seq, table_oid, table_name, op, image_table, rows, bytes)
    VALUES (change, n_seq, TG_RELID, format('%s.%s', TG_TABLE_SCHEMA, TG_TABLE_NAME), ops[i]::"char", image, n,
            pg_total_relation_size(format('belay_images.%I', image)::regclass));
  END LOOP;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- captured_rows counts a K image as updated rows (PostgreSQL counts the
-- UPDATE so) and an N image not at all; bytes is what the images take.
DROP FUNCTION belay.captured_rows();
CREATE FUNCTION belay.captured_rows()
RETURNS TABLE (table_name text, inserted bigint, updated bigint, deleted bigint, bytes bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT r.table_name,
         sum(r.rows) FILTER (WHERE r.op = 'I')::bigint,
         sum(r.rows) FILTER (WHERE r.op IN ('U', 'K'))::bigint,
         sum(r.rows) FILTER (WHERE r.op = 'D')::bigint,
         sum(r.bytes)::bigint
  FROM belay.row_images r
  WHERE r.xid = pg_current_xact_id_if_assigned()
  GROUP BY r.table_name
$$;
ALTER FUNCTION belay.captured_rows() OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.captured_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION belay.captured_rows() TO PUBLIC;

-- preview: as in version 6, and rows of K and N images, or of a table
-- without a key, are shown whole (cut to 60 characters) or by key, unpaired.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION belay.preview(max_rows int, show_values boolean)
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
    SELECT string_agg(quote_ident(k.attname), ', ' ORDER BY k.attnum), string_agg('i.' || quote_ident(k.attname), ', ' ORDER BY k.attnum)
      INTO keys, ikeys
      FROM belay.key_columns(img.table_oid) k;
    IF img.op <> 'U' OR keys IS NULL THEN
      what := CASE img.op WHEN 'I' THEN 'inserted' WHEN 'D' THEN 'deleted' WHEN 'U' THEN 'updated'
                          ELSE format('updated (%s %s)', CASE img.op WHEN 'K' THEN 'old' ELSE 'new' END,
                                      CASE WHEN keys IS NULL THEN 'row' ELSE 'key' END) END;
      FOR r IN EXECUTE format('SELECT %s AS k FROM belay_images.%I i ORDER BY 1 LIMIT %s',
                              CASE WHEN keys IS NULL THEN 'CASE WHEN length(i::text) > 60 THEN left(i::text, 59) || ''…'' ELSE i::text END'
                                   ELSE format('row(%s)::text', ikeys) END,
                              img.image_table, max_rows - cardinality(lines)) LOOP
        lines := lines || format('%s %s %s', img.table_oid::regclass, r.k, what);
      END LOOP;
      CONTINUE;
    END IF;
    FOR r IN EXECUTE format('SELECT row(%s)::text AS k, to_jsonb(i) AS o, to_jsonb(t) AS n FROM belay_images.%I i LEFT JOIN %s t USING (%s) ORDER BY 1 LIMIT %s',
                            ikeys, img.image_table, img.table_oid::regclass, keys, max_rows - cardinality(lines)) LOOP
      IF r.n IS NULL THEN
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

-- The tables protected already get the new triggers where this role may
-- put them (as belay capture enable does); elsewhere a warning asks for
-- belay capture enable, and their key updates stay as before.
-- +goose StatementBegin
DO $$
DECLARE
  tab regclass;
  key text;
BEGIN
  FOR tab IN SELECT t.tgrelid::regclass FROM pg_trigger t WHERE t.tgname = 'belay_capture_update' LOOP
    BEGIN
      EXECUTE format('CREATE OR REPLACE TRIGGER belay_capture_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION belay.capture()', tab);
      SELECT string_agg(quote_ident(k.attname), ', ' ORDER BY k.attnum) INTO key FROM belay.key_columns(tab) k;
      IF key IS NOT NULL THEN
        EXECUTE format('CREATE OR REPLACE TRIGGER belay_capture_key AFTER UPDATE OF %s ON %s FOR EACH STATEMENT EXECUTE FUNCTION belay.capture_key()', key, tab);
      END IF;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE WARNING 'belay: run belay capture enable % as its owner: until then an update of its key cannot be undone', tab;
    END;
  END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION belay.capture_key() CASCADE;
-- key_columns stays: the preview of version 7 uses it.
DROP FUNCTION belay.captured_rows();
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
  EXECUTE format('GRANT SELECT ON belay_images.%I TO %I', image, session_user);
  INSERT INTO belay.row_images (xid, seq, table_oid, table_name, op, image_table, rows)
  VALUES (change, n_seq, TG_RELID, format('%s.%s', TG_TABLE_SCHEMA, TG_TABLE_NAME),
          CASE TG_OP WHEN 'INSERT' THEN 'I' WHEN 'UPDATE' THEN 'U' ELSE 'D' END, image, n);
  RETURN NULL;
END
$$;
-- +goose StatementEnd
-- Images of version 7 (K, N) may remain: the old check holds for new rows only.
ALTER TABLE belay.row_images DROP CONSTRAINT row_images_op_check;
ALTER TABLE belay.row_images ADD CONSTRAINT row_images_op_check CHECK (op IN ('I', 'U', 'D')) NOT VALID;
ALTER TABLE belay.row_images DROP COLUMN bytes;
