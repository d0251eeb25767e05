#!/usr/bin/env bash
# The Grafana dashboard type-checks against @grafana/schema (TypeScript), panel options
# included; broken copies must fail (see node/check-dashboard.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/npm_setup.sh"
node "$here/node/check-dashboard.mjs" "$here/../../deploy/grafana/dashboards/quantd.json"
