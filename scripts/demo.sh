#!/usr/bin/env bash
# The demo: builds belay and runs it with configs/belay.yaml in front of the
# local PostgreSQL (127.0.0.1:5432), or in front of a throwaway cluster when
# none is running. Prints the psql command to use; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/ensure-postgres.sh

mkdir -p bin
echo "demo: building belay (the first build compiles PostgreSQL's parser: about a minute)" >&2
go build -o bin/belay ./cmd/belay

upstream=127.0.0.1:5432
user=postgres
db=postgres
if pg_isready -q -h 127.0.0.1 -p 5432; then
  psql -X -q -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1 || user=$(id -un)
else
  # No local PostgreSQL: a throwaway cluster, removed on exit.
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  tmp=$(mktemp -d /tmp/belay-demo.XXXXXX)
  chmod 755 "$tmp"
  port=55432
  runas=()
  [[ $(id -u) -eq 0 ]] && { chown postgres: "$tmp"; runas=(runuser -u postgres --); }
  "${runas[@]}" "$bindir/initdb" -D "$tmp/data" -U postgres -A trust >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$tmp" start >/dev/null
  trap '"${runas[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m fast stop >/dev/null; rm -rf "$tmp"' EXIT
  upstream=127.0.0.1:$port
  echo "demo: no PostgreSQL on 127.0.0.1:5432, started a throwaway one on $upstream" >&2
fi

# configs/belay.yaml keeps the before-images of psql's writes: belay's
# schema in the database (belay init, idempotent), and a demo table with
# capture on (belay capture enable), straight on PostgreSQL.
direct="postgres://$user@$upstream/$db?sslmode=disable"
bin/belay init --database-url "$direct" >&2
psql -X -q -v ON_ERROR_STOP=1 "$direct" >/dev/null <<'SQL'
CREATE TABLE IF NOT EXISTS belay_demo (id int PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL);
INSERT INTO belay_demo SELECT g, 'account ' || g, 100 FROM generate_series(1, 5) g ON CONFLICT (id) DO NOTHING;
SQL
bin/belay capture enable --database-url "$direct" belay_demo >&2

cat >&2 <<MSG

  belay is starting on 127.0.0.1:6432 in front of $upstream.
  Connect with:

      psql "host=127.0.0.1 port=6432 dbname=$db user=$user"

  and try, on the demo table belay_demo (5 rows, capture on):

      UPDATE belay_demo SET balance = 0;                  -- blocked: no WHERE
      UPDATE belay_demo SET balance = 0 WHERE id <= 3;    -- held: NOTICE with a preview
      COMMIT;                                             -- prints: undo with: belay undo N

  then, in another terminal:

      bin/belay changes --database-url "$direct"
      bin/belay undo N --database-url "$direct"

  Other tables: bin/belay capture enable --database-url "$direct" TABLE
  Metrics: curl http://127.0.0.1:9632/metrics     Audit lines: this terminal (stdout)
  Ctrl-C stops belay.

MSG
bin/belay serve --config configs/belay.yaml --upstream "$upstream"
