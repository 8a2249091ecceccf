#!/usr/bin/env bash
# `make local-up` / `make local-down`: the local stack for `cargo lambda watch --env-file .env.local`.
# up: moto (and m365-sim, once it exists) on free loopback ports, resources from infra/template.yaml,
#     .env.local written. down: stops exactly the processes `up` started, by pid.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"
STATE="$ROOT/.local"
mkdir -p "$STATE"

up() {
  if [ -f "$STATE/moto.pid" ] && kill -0 "$(cat "$STATE/moto.pid")" 2>/dev/null; then
    echo "local stack already up (moto pid $(cat "$STATE/moto.pid")); run \`make local-down\` first" >&2
    exit 1
  fi
  # If anything below fails, stop what was started so nothing is left behind.
  trap 'down' ERR
  start_moto "$STATE/moto.log"
  echo "$MOTO_PID" >"$STATE/moto.pid"
  echo "moto on $MOTO_URL (pid $MOTO_PID)"
  (cd "$ROOT" && cargo build -q -p integration-tests --bin local-stack)
  AWS_ENDPOINT_URL="$MOTO_URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    "$ROOT/target/debug/local-stack" --env-file "$ROOT/.env.local"
  trap - ERR
  echo "local stack up; environment in .env.local; stop it with \`make local-down\`"
}

down() {
  local stopped=0
  for pidfile in "$STATE"/*.pid; do
    [ -e "$pidfile" ] || continue
    stop_pid "$(cat "$pidfile")"
    rm -f "$pidfile"
    stopped=$((stopped + 1))
  done
  echo "local stack down ($stopped process(es) stopped)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
