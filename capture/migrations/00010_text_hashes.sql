-- belay's schema, version 10: the exact text of each held request, hashed.
--
-- belay.changes keeps statements normalised (no literal values); a change
-- also needs to be recognised by its exact text (the same statement run
-- again, an approval of exactly that statement), without keeping the
-- text: each held request's SHA-256, in order.

-- +goose Up
ALTER TABLE belay.changes ADD COLUMN text_hashes text[] NOT NULL DEFAULT '{}';

-- record_change as in version 1, with the request's text hashes (a batch
-- may run several statements); the
-- four-argument form stays for belay undo's own record, which has no text.
-- +goose StatementBegin
CREATE FUNCTION belay.record_change(application text, client text, statement text, rows jsonb, text_hashes text[])
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  INSERT INTO belay.changes AS c (xid, user_name, database_name, application_name, client_addr, statements, rows, text_hashes)
  VALUES (pg_current_xact_id(), session_user, current_database(), application, client, statement, rows, text_hashes)
  ON CONFLICT (xid) DO UPDATE
    SET statements = c.statements || E'\n' || excluded.statements, rows = excluded.rows,
        text_hashes = c.text_hashes || excluded.text_hashes
  RETURNING id
$$;
-- +goose StatementEnd
ALTER FUNCTION belay.record_change(text, text, text, jsonb, text[]) OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.record_change(text, text, text, jsonb, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION belay.record_change(text, text, text, jsonb, text[]) TO PUBLIC;

-- +goose Down
DROP FUNCTION belay.record_change(text, text, text, jsonb, text[]);
ALTER TABLE belay.changes DROP COLUMN text_hashes;
