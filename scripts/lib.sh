# Shared by the scripts in this folder: free ports, starting moto, waiting for readiness.
# Source it; it expects $ROOT (the repository root) to be set.

VENV="${VENV:-$ROOT/.venv}"

# Prints a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until an HTTP GET of $1 answers (any status), for at most $2 seconds (default 30).
wait_http() {
  local url=$1 limit=${2:-30}
  python3 - "$url" "$limit" <<'PY'
import sys, time, urllib.request, urllib.error
url, limit = sys.argv[1], float(sys.argv[2])
deadline = time.time() + limit
while time.time() < deadline:
    try:
        urllib.request.urlopen(url, timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
print(f"{url} did not answer within {limit:.0f}s", file=sys.stderr)
sys.exit(1)
PY
}

# Starts moto on a free loopback port; sets MOTO_PID and MOTO_URL. Logs go to $1.
start_moto() {
  local log=$1 port
  port=$(free_port)
  # One request at a time: see moto_server.py for why.
  "$VENV/bin/python" "$ROOT/scripts/moto_server.py" 127.0.0.1 "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  MOTO_URL="http://127.0.0.1:$port"
  if ! wait_http "$MOTO_URL/" 60; then
    kill "$MOTO_PID" 2>/dev/null || true
    echo "moto did not start; its log follows:" >&2
    cat "$log" >&2
    return 1
  fi
}

# Stops the process $1 and waits for it, if it is running.
stop_pid() {
  local pid=$1
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}
