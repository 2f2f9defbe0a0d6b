#!/usr/bin/env bash
# Installs what belay's tests, demo and benchmark need, from Debian's
# packages, when missing: PostgreSQL server and client (psql, pgbench,
# initdb, pg_ctl), pgbouncer (benchmark baseline), curl, tmux (the tests
# that type into an interactive psql). Idempotent.
set -euo pipefail

need=()
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v pgbench >/dev/null 2>&1 || need+=(postgresql-contrib postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [[ "${BELAY_WITH_PGBOUNCER:-0}" == 1 ]] && ! command -v pgbouncer >/dev/null 2>&1; then
  need+=(pgbouncer)
fi
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)

if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "install-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps Debian from starting a pgbouncer service on belay's port.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v go >/dev/null 2>&1 || { echo "install-deps: Go is required (https://go.dev/dl); see go.mod for the version" >&2; exit 1; }
