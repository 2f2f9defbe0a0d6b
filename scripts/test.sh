#!/usr/bin/env bash
# The test command: installs what is missing, makes sure PostgreSQL runs,
# then vets and runs every test with the race detector (the integration
# tests in test/ build belay with -race too).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/ensure-postgres.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n "$unformatted" ]]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
export BELAY_TEST_RACE=1
go test -race -count=1 -timeout 15m "$@" ./...
