#!/usr/bin/env bash
# `make demo`: the whole lifecycle of a few simulated tenants, locally. Brings up the local stack
# and `cargo lambda watch`, onboards the tenants through the simulator's consent page and the
# callback on onboard's function URL, drives every function through `cargo lambda invoke` (scripts/demo.py),
# prints a summary and the dashboard's address, and stops everything it started, also on Ctrl-C
# or failure; with KEEP=1 (`make demo KEEP=1`) the stack stays up until Ctrl-C, to look at.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"
cd "$ROOT"
export PATH="$VENV/bin:$PATH"
FUNCTIONS=(onboard provision status policy-targets daily-sync sync-worker token-refresh deprovision api)

WATCH_PID=""
cleanup() {
  stop_pid "$WATCH_PID"
  # The functions cargo-lambda started run as its children; stop any left behind.
  for f in "${FUNCTIONS[@]}"; do pkill -f "target/debug/$f\$" 2>/dev/null || true; done
  scripts/local.sh down >/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> building the functions"
cargo build --locked -q $(printf -- '-p %s ' "${FUNCTIONS[@]}") -p m365-inline --bins
scripts/local.sh up
# The port the app registration's consent callback names (see local.sh).
PORT=$(cat "$ROOT/.local/watch.port")
cargo lambda watch -P "$PORT" --env-file .env.local >"$ROOT/.local/watch.log" 2>&1 &
WATCH_PID=$!
wait_http "http://127.0.0.1:$PORT/" 60
echo "==> cargo lambda watch on port $PORT (pid $WATCH_PID); function logs in .local/watch.log"
status=0
"$VENV/bin/python" scripts/demo.py --port "$PORT" || status=$?
API_URL=$(sed -n 's/^API_URL=//p' .env.local)
echo "==> the dashboard: $API_URL/ui/"
if [ "${KEEP:-}" = 1 ]; then
  echo "    KEEP=1: the stack stays up (moto, m365-sim, cargo lambda watch); Ctrl-C stops it"
  wait "$WATCH_PID" || true
fi
exit "$status"
