#!/usr/bin/env bash
# Runs a scenario on the docker compose stack through the vsim CLI and checks its event-log hash
# against the embedded run of the same scenario (README: "Integration testing with docker compose").
#
#   scripts/compose-check.sh [SCENARIO]        default: examples/two-hosts.yaml
#
# Needs the stack up (docker compose up -d --build) with VSIM_SECRETS exported: the directory
# `npx vsim secrets --compose` wrote, whose client.json is the CLI's identity. NATS is reached where
# docker-compose.yml publishes it (VSIM_COMPOSE_NATS overrides). Exit 0 when the hashes are equal.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=${1:-examples/two-hosts.yaml}
: "${VSIM_SECRETS:?export VSIM_SECRETS=DIR, the directory npx vsim secrets --compose wrote}"
nats=${VSIM_COMPOSE_NATS:-nats://127.0.0.1:4222}
hash_of() { sed -n 's/^event-log hash: //p' "$1"; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The services register on NATS a few seconds after the containers start: retry while the CLI
# finds no gateway (exit 69).
for try in $(seq 1 30); do
  status=0
  npx vsim run --nats "$nats" --credentials "$VSIM_SECRETS/client.json" "$scenario" >"$out/stack" 2>"$out/stack.err" || status=$?
  [ "$status" -ne 69 ] && break
  echo "compose-check: no gateway yet (try $try): $(tail -1 "$out/stack.err")" >&2
  sleep 2
done
if [ "$status" -ne 0 ]; then
  cat "$out/stack.err" >&2
  exit "$status"
fi
npx vsim run "$scenario" >"$out/embedded"

stack=$(hash_of "$out/stack")
embedded=$(hash_of "$out/embedded")
echo "compose stack event-log hash: $stack"
echo "embedded run  event-log hash: $embedded"
if [ -n "$stack" ] && [ "$stack" = "$embedded" ]; then
  echo 'compose-check: equal'
else
  echo 'compose-check: the hashes differ' >&2
  exit 1
fi
