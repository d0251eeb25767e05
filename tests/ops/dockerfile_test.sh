#!/usr/bin/env bash
# Static checks of deploy/docker: dockerfilelint (npm) is clean on the Dockerfile and does
# flag a known-bad one; the Dockerfile has the shape deploy/README.md promises; the ignore
# file keeps build directories and VCS data out of the context.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
docker_dir="$here/../../deploy/docker"
lint="$here/node/node_modules/.bin/dockerfilelint"
"$here/npm_setup.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$lint" "$docker_dir/Dockerfile" || fail "dockerfilelint found issues"
echo "ok: dockerfilelint deploy/docker/Dockerfile"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
printf 'FROM debian\nRUN apt-get install curl\nEXPOSE 99999\n' >"$tmp"
if "$lint" "$tmp" >/dev/null; then fail "dockerfilelint passed a bad Dockerfile"; fi
echo "ok: dockerfilelint rejects a bad Dockerfile"

df="$docker_dir/Dockerfile"
expect() { grep -Eq "$1" "$df" || fail "Dockerfile: no line matching /$1/ ($2)"; echo "ok: Dockerfile $2"; }
[ "$(grep -Ec '^FROM debian:12 AS ' "$df")" = 2 ] || fail "Dockerfile: want two debian:12 stages"
echo "ok: Dockerfile has a build and a runtime stage on debian:12"
expect '^COPY --from=build .*/quantd .*/quantctl ' "copies quantd and quantctl from the build stage"
expect 'libgrpc\+\+1\.51 libprotobuf32 libprometheus-cpp-pull1\.0 libprometheus-cpp-core1\.0 libgomp1' "installs only the runtime libraries"
if sed -n '/AS runtime/,$p' "$df" | grep -Eq -- '-dev\b|g\+\+|cmake'; then fail "runtime stage installs build tools"; fi
expect '^USER [1-9][0-9]*:[1-9][0-9]*$' "runs as a non-root uid:gid"
expect '^VOLUME \["/models"\]' "declares the /models volume"
expect '^EXPOSE 50051 9464$' "exposes the gRPC and metrics ports"
expect '^  CMD quantctl health --server=127\.0\.0\.1:\$\{QUANTD_GRPC_PORT\}' "HEALTHCHECK runs quantctl health"
expect '^ENTRYPOINT .*exec quantd --listen=0\.0\.0\.0:\$\{QUANTD_GRPC_PORT\} --metrics_listen=0\.0\.0\.0:\$\{QUANTD_METRICS_PORT\}' "execs quantd on 0.0.0.0 for both ports"
ignore="$docker_dir/Dockerfile.dockerignore"
for p in .git build 'build-\*' '\*\*/node_modules'; do
  grep -qx "$p" "$ignore" || fail "Dockerfile.dockerignore lacks $p"
done
echo "ok: Dockerfile.dockerignore excludes .git, build, build-*, node_modules"
echo "dockerfile_test: all checks passed"
