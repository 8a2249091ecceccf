#!/usr/bin/env bash
# The supply-chain gate of `make test` (supply-chain/README.md): cargo deny checks advisories,
# bans, licenses and sources (deny.toml), offline. The RustSec database is ADVISORY_DB if set,
# else the snapshot archived in supply-chain/; DENY_FETCH=1 fetches it instead. The run says
# which database it read, and fails without one.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

VERSION=0.20.2
TOOLS="$ROOT/.tools"
DENY="$TOOLS/bin/cargo-deny"
if ! "$DENY" --version 2>/dev/null | grep -qF "$VERSION"; then
  echo "installing cargo-deny $VERSION into .tools (once)"
  cargo install cargo-deny --version "$VERSION" --locked --root "$TOOLS" --quiet
fi

# cargo deny reads the crates' metadata offline: have every locked crate in the registry cache.
cargo fetch --locked --quiet

if [ "${DENY_FETCH:-}" = 1 ]; then
  echo "advisories: fetching https://github.com/rustsec/advisory-db"
  exec "$DENY" check
fi

# cargo-deny looks for the database of deny.toml's db-urls in this directory under db-path.
DB="$ROOT/target/advisory-db/advisory-db-3157b0e258782691"
rm -rf "$DB" && mkdir -p "$DB"
if [ -n "${ADVISORY_DB:-}" ]; then
  [ -d "$ADVISORY_DB/crates" ] || { echo "ADVISORY_DB=$ADVISORY_DB has no crates/: not a RustSec database" >&2; exit 1; }
  source="$ADVISORY_DB"
  cp -r "$ADVISORY_DB/crates" "$ADVISORY_DB/rust" "$DB/"
else
  source="supply-chain/rustsec-advisory-db.tar.gz"
  tar xzf "$source" -C "$DB"
fi
newest=$(grep -rho '^date = "[0-9-]*"' "$DB/crates" | sort | tail -1 | cut -d'"' -f2)
[ -n "$newest" ] || { echo "no advisory in $source has a date: not a RustSec database" >&2; exit 1; }
# cargo-deny reads the database as a git checkout: one commit, dated by the newest advisory, so
# cargo-deny judges the database's age truly.
(
  cd "$DB"
  git init -q
  git add -A
  GIT_COMMITTER_DATE="${newest}T00:00:00Z" git -c user.name=snapshot -c user.email=snapshot@localhost \
    -c commit.gpgsign=false commit -q --date "${newest}T00:00:00Z" -m "RustSec advisory-db from $source"
)
echo "advisories: $source ($(find "$DB/crates" -name '*.md' | wc -l) advisories, newest $newest), offline"
"$DENY" --offline check
