#!/usr/bin/env bash
# `make build`: every function built for Lambda (release, provided.al2023, x86_64 by default; pass
# `--arm64` through CARGO_LAMBDA_FLAGS) into target/lambda/<function>/bootstrap.zip.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
packages=()
for dir in functions/*/; do packages+=(-p "$(basename "$dir")"); done
# shellcheck disable=SC2086
cargo lambda build --locked --release --output-format zip ${CARGO_LAMBDA_FLAGS:-} "${packages[@]}"
for dir in functions/*/; do
  name=$(basename "$dir")
  zip="target/lambda/$name/bootstrap.zip"
  [ -f "$zip" ] || { echo "missing $zip" >&2; exit 1; }
  printf '%-16s %s bytes\n' "$name" "$(stat -c %s "$zip")"
done
