-- belay's schema, version 1: who owns it, and the record of changes.
--
-- The schema and its tables belong to belay_owner, a role nobody logs in
-- as. Clients get no right on the tables: they can call the functions,
-- which run as belay_owner (SECURITY DEFINER) with a fixed search_path,
-- and add records but never change or remove one.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'belay_owner') THEN
    CREATE ROLE belay_owner NOLOGIN;
  END IF;
END
$$;
-- +goose StatementEnd

ALTER SCHEMA belay OWNER TO belay_owner;
REVOKE ALL ON SCHEMA belay FROM PUBLIC;
GRANT USAGE ON SCHEMA belay TO PUBLIC;

-- One row per held change that was committed: a change is the
-- transaction belay held, so its row is written in that transaction and
-- exists only if the transaction committed.
CREATE TABLE belay.changes (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid              xid8 NOT NULL UNIQUE,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  user_name        text NOT NULL,
  database_name    text NOT NULL,
  application_name text NOT NULL DEFAULT '',
  client_addr      text NOT NULL DEFAULT '',
  -- Normalised statements (literals replaced by $n): the data is not kept here.
  statements       text NOT NULL DEFAULT '',
  -- Rows changed per table, as PostgreSQL counted them: {"public.t": {"inserted": 0, "updated": 3, "deleted": 0}}.
  rows             jsonb NOT NULL DEFAULT '{}',
  status           text NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'undone')),
  undone_by        bigint REFERENCES belay.changes (id)
);
ALTER TABLE belay.changes OWNER TO belay_owner;
REVOKE ALL ON belay.changes FROM PUBLIC;
CREATE INDEX changes_created_at ON belay.changes (created_at);
CREATE INDEX changes_user_name ON belay.changes (user_name, created_at);

-- record_change adds the current transaction's change, or updates it when
-- the held transaction runs another statement: one row per transaction.
-- Who and where come from the session (session_user, current_database);
-- the application and client address from belay, which sees the client.
CREATE FUNCTION belay.record_change(application text, client text, statement text, rows jsonb)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO belay.changes AS c (xid, user_name, database_name, application_name, client_addr, statements, rows)
  VALUES (pg_current_xact_id(), session_user, current_database(), application, client, statement, rows)
  ON CONFLICT (xid) DO UPDATE
    SET statements = c.statements || E'\n' || excluded.statements, rows = excluded.rows
  RETURNING id
$$;
ALTER FUNCTION belay.record_change(text, text, text, jsonb) OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.record_change(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION belay.record_change(text, text, text, jsonb) TO PUBLIC;

-- The quarantine for DROP TABLE in two steps: a dropped table is moved
-- here under a name carrying its change id, and undo moves it back.
CREATE SCHEMA belay_quarantine AUTHORIZATION belay_owner;
REVOKE ALL ON SCHEMA belay_quarantine FROM PUBLIC;

-- +goose Down
DROP SCHEMA belay_quarantine;
DROP FUNCTION belay.record_change(text, text, text, jsonb);
DROP TABLE belay.changes;
