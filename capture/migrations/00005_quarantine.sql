-- belay's schema, version 5: DROP TABLE in two steps.
--
-- In a profile whose drop-table action is quarantine, belay turns DROP
-- TABLE into a move of the table into belay_quarantine, under a name that
-- carries the transaction; belay undo moves it back. The move runs as the
-- table's owner (the client), so everyone may create in the quarantine
-- schema; belay's guard keeps clients from writing it otherwise.

-- +goose Up
GRANT USAGE, CREATE ON SCHEMA belay_quarantine TO PUBLIC;

CREATE TABLE belay.quarantined (
  xid              xid8 NOT NULL,
  table_oid        oid NOT NULL,
  original_schema  name NOT NULL,
  original_name    name NOT NULL,
  quarantined_name name NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (xid, table_oid)
);
ALTER TABLE belay.quarantined OWNER TO belay_owner;
REVOKE ALL ON belay.quarantined FROM PUBLIC;
GRANT SELECT ON belay.quarantined TO belay_undo;

-- quarantine moves a table into belay_quarantine as <name>_<xid> and
-- records where it came from. It runs as the caller (who must own the
-- table, as DROP TABLE needs); only the record is written as belay_owner.
-- +goose StatementBegin
CREATE FUNCTION belay.note_quarantine(tab oid, original_schema name, original_name name, quarantined_name name)
RETURNS void
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO belay.quarantined (xid, table_oid, original_schema, original_name, quarantined_name)
  VALUES (pg_current_xact_id(), tab, original_schema, original_name, quarantined_name)
$$;
-- +goose StatementEnd
ALTER FUNCTION belay.note_quarantine(oid, name, name, name) OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.note_quarantine(oid, name, name, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION belay.note_quarantine(oid, name, name, name) TO PUBLIC;

-- +goose StatementBegin
CREATE FUNCTION belay.quarantine(tab regclass)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  schema_name name;
  table_name name;
  moved name;
BEGIN
  SELECT n.nspname, c.relname INTO schema_name, table_name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tab;
  moved := left(table_name, 40) || '_' || pg_current_xact_id()::text;
  PERFORM belay.note_quarantine(tab, schema_name, table_name, moved);
  EXECUTE format('ALTER TABLE %s SET SCHEMA belay_quarantine', tab);
  EXECUTE format('ALTER TABLE belay_quarantine.%I RENAME TO %I', table_name, moved);
  RETURN format('%I.%I', schema_name, table_name);
END
$$;
-- +goose StatementEnd
ALTER FUNCTION belay.quarantine(regclass) OWNER TO belay_owner;
GRANT EXECUTE ON FUNCTION belay.quarantine(regclass) TO PUBLIC;

-- +goose Down
DROP FUNCTION belay.quarantine(regclass);
DROP FUNCTION belay.note_quarantine(oid, name, name, name);
DROP TABLE belay.quarantined;
REVOKE USAGE, CREATE ON SCHEMA belay_quarantine FROM PUBLIC;
