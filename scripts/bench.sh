#!/usr/bin/env bash
# `make bench` (run under scripts/with-moto.sh, which exports moto's endpoint): builds every
# function and the hello-world reference with cargo-lambda (release, as `make build`), extracts
# each bootstrap from its zip, builds the bench (profile `benchmark`) and runs it. It writes
# BENCHMARKS.md and bench/results.json; a missed budget is a result, never a failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
[ -n "${AWS_ENDPOINT_URL:-}" ] || { echo "AWS_ENDPOINT_URL is not set: run \`make bench\`" >&2; exit 2; }

packages=(-p hello-world)
for dir in functions/*/; do packages+=(-p "$(basename "$dir")"); done
echo "==> cargo lambda build --release (functions and hello-world)"
# shellcheck disable=SC2086
cargo lambda build --locked --release --output-format zip ${CARGO_LAMBDA_FLAGS:-} "${packages[@]}"
for package in "${packages[@]}"; do
  [ "$package" = -p ] && continue
  dir="target/lambda/$package"
  [ -f "$dir/bootstrap.zip" ] || { echo "missing $dir/bootstrap.zip" >&2; exit 1; }
  python3 - "$dir/bootstrap.zip" "$dir" <<'PY'
import os, sys, zipfile
archive, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as z:
    z.extract("bootstrap", out)
os.chmod(os.path.join(out, "bootstrap"), 0o755)
PY
done

echo "==> cargo build --profile benchmark -p bench"
cargo build --locked --profile benchmark -p bench
echo "==> bench"
"$ROOT/target/benchmark/bench"
