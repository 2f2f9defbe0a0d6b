#!/usr/bin/env bash
# Makes sure the PostgreSQL on 127.0.0.1:5432 is up when this machine has
# one (a Debian cluster): starts it when it is down. Prints nothing and
# succeeds when there is none: the tests then start a throwaway cluster.
set -euo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  exit 0
fi
if command -v pg_lsclusters >/dev/null 2>&1; then
  while read -r ver name port _; do
    [[ "$port" == 5432 ]] || continue
    echo "ensure-postgres: starting cluster $ver/$name" >&2
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || true
  done < <(pg_lsclusters -h 2>/dev/null || true)
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
    sleep 1
  done
fi
echo "ensure-postgres: no PostgreSQL on 127.0.0.1:5432; tests will start a throwaway cluster" >&2
