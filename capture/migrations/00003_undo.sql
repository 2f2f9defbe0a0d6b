-- belay's schema, version 3: undo.
--
-- belay undo runs as the operator's own role. It reads the change's record
-- and images through the role belay_undo (grant it to the people who may
-- undo), writes the tables with the operator's own rights, and marks the
-- change undone through a function: the record itself stays add-only.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'belay_undo') THEN
    CREATE ROLE belay_undo NOLOGIN;
  END IF;
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA belay_images TO belay_undo;
GRANT SELECT ON belay.changes, belay.row_images TO belay_undo;
GRANT SELECT ON ALL TABLES IN SCHEMA belay_images TO belay_undo;
ALTER DEFAULT PRIVILEGES FOR ROLE belay_owner IN SCHEMA belay_images GRANT SELECT ON TABLES TO belay_undo;

-- mark_undone records that change `undone` was taken back by change `by`
-- (the undo's own record, in the same transaction). Only a change still
-- applied can be marked, once.
CREATE FUNCTION belay.mark_undone(undone bigint, by_change bigint)
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH m AS (
    UPDATE belay.changes SET status = 'undone', undone_by = by_change
    WHERE id = undone AND status = 'applied'
      AND EXISTS (SELECT FROM belay.changes b WHERE b.id = by_change AND b.xid = pg_current_xact_id())
    RETURNING 1)
  SELECT count(*) = 1 FROM m
$$;
ALTER FUNCTION belay.mark_undone(bigint, bigint) OWNER TO belay_owner;
REVOKE ALL ON FUNCTION belay.mark_undone(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION belay.mark_undone(bigint, bigint) TO belay_undo;

-- +goose Down
DROP FUNCTION belay.mark_undone(bigint, bigint);
ALTER DEFAULT PRIVILEGES FOR ROLE belay_owner IN SCHEMA belay_images REVOKE SELECT ON TABLES FROM belay_undo;
REVOKE SELECT ON ALL TABLES IN SCHEMA belay_images FROM belay_undo;
REVOKE SELECT ON belay.changes, belay.row_images FROM belay_undo;
REVOKE USAGE ON SCHEMA belay_images FROM belay_undo;
