#!/usr/bin/env bash
# Runs a command with a private moto server on a free loopback port, exported as the AWS
# endpoint, and stops moto afterwards whatever happens (success, failure, Ctrl-C).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

mkdir -p "$ROOT/.local"
start_moto "$ROOT/.local/moto-test.log"
trap 'stop_pid "$MOTO_PID"' EXIT
trap 'exit 130' INT TERM

export AWS_ENDPOINT_URL="$MOTO_URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
echo "moto on $MOTO_URL (pid $MOTO_PID)"
"$@"
