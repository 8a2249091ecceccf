#!/usr/bin/env bash
# `make local-up` / `make local-down`: the local stack for `cargo lambda watch --env-file .env.local`.
# up: moto and m365-sim (HTTP, and DNS for its tenants' domains) on free loopback ports,
#     resources from infra/template.yaml, the simulated tenants of infra/local-tenants.json,
#     the app registration created in m365-sim with the consent callback of `cargo lambda watch`
#     on the port in .local/watch.port, .env.local written.
# down: stops exactly the processes `up` started, by pid.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"
STATE="$ROOT/.local"
mkdir -p "$STATE"
# m365-sim's documented default app registration (not a secret: it only opens the simulator).
SIM_CLIENT_ID=7c6f3a52-2b1e-4c8a-9d4f-5e0b1a2c3d4e
SIM_CLIENT_CREDENTIAL=m365-sim-client-secret

# Starts m365-sim (HTTP and DNS) on free ports; sets SIM_URL and SIM_DNS from its first lines.
start_sim() {
  "$ROOT/target/debug/m365-sim" --listen 127.0.0.1:0 --dns-listen 127.0.0.1:0 --client-id "$SIM_CLIENT_ID" \
    --client-secret "$SIM_CLIENT_CREDENTIAL" >"$STATE/m365-sim.out" 2>"$STATE/m365-sim.log" &
  echo $! >"$STATE/m365-sim.pid"
  for _ in $(seq 1 100); do
    SIM_URL=$(sed -n 's/^m365-sim listening on //p' "$STATE/m365-sim.out" 2>/dev/null)
    SIM_DNS=$(sed -n 's/^m365-sim dns on //p' "$STATE/m365-sim.out" 2>/dev/null)
    [ -n "$SIM_URL" ] && [ -n "$SIM_DNS" ] && return 0
    sleep 0.1
  done
  echo "m365-sim did not start; its log follows:" >&2
  cat "$STATE/m365-sim.log" >&2
  return 1
}

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
  (cd "$ROOT" && cargo build --locked -q -p integration-tests -p m365-sim -p m365-inline --bins)
  start_sim
  echo "m365-sim on $SIM_URL, DNS on $SIM_DNS (pid $(cat "$STATE/m365-sim.pid"))"
  # The consent callback is onboard's function URL under `cargo lambda watch` (its emulation
  # serves /lambda-url/<function>/...), on a port chosen now so the app registration can name it.
  WATCH_PORT=$(free_port)
  echo "$WATCH_PORT" >"$STATE/watch.port"
  REDIRECT_URI="http://127.0.0.1:$WATCH_PORT/lambda-url/onboard/consent/callback"
  # The app registration as the vendor creates it (POST /applications), in the simulator: with
  # both opt-ins, which the local deployment turns on.
  "$ROOT/target/debug/m365-inline" app-registration --redirect-uri "$REDIRECT_URI" \
    --opt-in AppAssignsExchangeRole --opt-in AppRemovesItself >"$STATE/app-registration.json"
  python3 - "$SIM_URL/_sim/app/registration" "$STATE/app-registration.json" <<'PY'
import sys, urllib.request
url, path = sys.argv[1], sys.argv[2]
request = urllib.request.Request(url, data=open(path, "rb").read(), method="POST",
                                 headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
PY
  echo "app registration in m365-sim: consent callback $REDIRECT_URI"
  AWS_ENDPOINT_URL="$MOTO_URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    "$ROOT/target/debug/local-stack" --env-file "$ROOT/.env.local" \
    --vendor-config "$ROOT/infra/vendor-config.example.json" \
    --param AppCredentialKind=client-secret \
    --param "ConsentRedirectUri=$REDIRECT_URI" \
    --m365-url "$SIM_URL" --sim-tenants "$ROOT/infra/local-tenants.json" \
    --client-id "$SIM_CLIENT_ID" --client-secret "$SIM_CLIENT_CREDENTIAL" --dns-server "$SIM_DNS"
  # The operator API is the `api` function's URL under `cargo lambda watch` (no signature
  # locally; the deployed stack's URL takes SigV4 only).
  echo "API_URL=http://127.0.0.1:$WATCH_PORT/lambda-url/api" >>"$ROOT/.env.local"
  trap - ERR
  echo "local stack up; environment in .env.local; stop it with \`make local-down\`"
  echo "serve the functions with: cargo lambda watch -P $WATCH_PORT --env-file .env.local"
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
