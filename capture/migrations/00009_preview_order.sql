-- belay's schema, version 9: the preview lists a change's first rows in
-- the order of their keys (2 before 10), not of the keys' text ((10)
-- before (2)). Otherwise as in version 7.

-- +goose Up
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
      FOR r IN EXECUTE format('SELECT %s AS k FROM belay_images.%I i ORDER BY %s LIMIT %s',
                              CASE WHEN keys IS NULL THEN 'CASE WHEN length(i::text) > 60 THEN left(i::text, 59) || ''…'' ELSE i::text END'
                                   ELSE format('row(%s)::text', ikeys) END,
                              img.image_table, coalesce(ikeys, '1'), max_rows - cardinality(lines)) LOOP
        lines := lines || format('%s %s %s', img.table_oid::regclass, r.k, what);
      END LOOP;
      CONTINUE;
    END IF;
    FOR r IN EXECUTE format('SELECT row(%s)::text AS k, to_jsonb(i) AS o, to_jsonb(t) AS n FROM belay_images.%I i LEFT JOIN %s t USING (%s) ORDER BY %s LIMIT %s',
                            ikeys, img.image_table, img.table_oid::regclass, keys, ikeys, max_rows - cardinality(lines)) LOOP
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

-- +goose Down
-- Only the order of the preview's lines changed: version 7's function
-- shows the same rows, differently sorted; nothing to take back.
SELECT 1;
