#!/usr/bin/env bash
# Builds the quantd image from deploy/docker/Dockerfile with podman (no Docker engine needed),
# runs it, and checks it from the host:
#   - the image: runs as uid 10001, exposes 50051 and 9464, every shared library resolves;
#   - the container (--network=host, free 127.0.0.1 ports through QUANTD_GRPC_PORT /
#     QUANTD_METRICS_PORT, a tiny synthetic model from the /models volume when
#     QUANTD_MAKE_SYNTHETIC names the generator): the image's own HEALTHCHECK passes
#     (podman healthcheck run), the host's quantctl gets SERVING and a Quantize answer (and
#     INVALID_ARGUMENT for a NaN tensor), /metrics shows those calls, the model's bytes and
#     build info, the process inside runs as uid 10001;
#   - `podman stop` returns within a few seconds and the container exits 0 (SIGTERM handled
#     by quantd as PID 1, no kill after the stop timeout).
#
# The debian:12 base is made locally with debootstrap (no registry pulls) and imported as
# localhost/debian:12; the root file system tarball is cached in $QUANTD_CACHE_DIR
# (/var/cache/quantd) and the imported image stays in podman's storage, so only the first
# run pays for debootstrap. The built image stays as localhost/quantd:test (its apt layers
# make re-builds quick). `--format docker`: the OCI image format has no HEALTHCHECK;
# `--health-interval=disable`: no systemd here for podman's health timers, the test runs the
# check itself (podman healthcheck run).
#
# Needs root, podman, buildah, runc, debootstrap (QUANTD_CONTAINER_TESTS=1 scripts/install-deps.sh).
# podman runs with runc and explicit ulimits through $CONTAINERS_CONF (platform notes: crun
# fails here on the nofile limit and on hybrid cgroups); /etc/containers is left alone.
#
# Env: QUANTCTL_BIN (host quantctl; default build/client/quantctl), QUANTD_MAKE_SYNTHETIC
# (optional), QUANTD_SRC (build context; default this repository), QUANTD_DEBIAN_MIRROR
# (default: the bookworm mirror of this machine's apt sources), QUANTD_CACHE_DIR,
# QUANTD_CONTAINER_ARCH=arm64 to build and run the arm64 image instead (emulated: needs
# qemu-user-static + binfmt-support with binfmt_misc mounted; the base is then
# localhost/debian:12-arm64 from a two-stage debootstrap, the build runs under qemu).
#
# Slow (first run: debootstrap ~3 min here, image build several minutes), so it runs only with
# QUANTD_CONTAINER_TESTS=1 (exit 77, "skipped" for ctest, otherwise) or when run by hand with --force.
set -euo pipefail

if [ "${QUANTD_CONTAINER_TESTS:-0}" != 1 ] && [ "${1:-}" != --force ]; then
  echo "container_test: skipped (set QUANTD_CONTAINER_TESTS=1 to build and run the image)"
  exit 77
fi
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
src="${QUANTD_SRC:-$repo}"
cache="${QUANTD_CACHE_DIR:-/var/cache/quantd}"
quantctl="${QUANTCTL_BIN:-$repo/build/client/quantctl}"
native="$(dpkg --print-architecture)"
arch="${QUANTD_CONTAINER_ARCH:-$native}"
if [ "$arch" = "$native" ]; then
  image=localhost/quantd:test
  base=localhost/debian:12
else
  image="localhost/quantd:test-$arch"
  base="localhost/debian:12-$arch"
fi
t0=$(date +%s.%N)

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf 'container_test: [%6ss] %s\n' "$(elapsed "$t0")" "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

[ "$(id -u)" -eq 0 ] || fail "run as root (podman storage and debootstrap)"
for tool in podman buildah runc debootstrap curl; do
  command -v "$tool" >/dev/null || fail "$tool missing: QUANTD_CONTAINER_TESTS=1 scripts/install-deps.sh installs it"
done
[ -x "$quantctl" ] || fail "no quantctl at $quantctl (set QUANTCTL_BIN)"

tmp="$(mktemp -d /tmp/quantd-container-test.XXXXXX)"
name="quantd-test-$$"
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# podman/buildah configuration for this machine, without touching /etc/containers.
cat >"$tmp/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$tmp/containers.conf"

# --- the debian:12 base -------------------------------------------------------------------------
debian_mirror() {
  if [ -n "${QUANTD_DEBIAN_MIRROR:-}" ]; then echo "$QUANTD_DEBIAN_MIRROR"; return; fi
  # deb822 sources: the URIs of a stanza whose Suites include bookworm.
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm([ \n]|$)/ && /Components:[^\n]*main/ {
           if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { u=substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", u); print u; exit } }' "$f"
  done | head -n1 | grep . && return
  # one-line sources.list
  awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1
}

if podman image exists "$base"; then
  say "base image $base present"
else
  rootfs_tar="$cache/debian-12-minbase-$arch.tar"
  if [ ! -s "$rootfs_tar" ]; then
    mirror="$(debian_mirror)"
    [ -n "$mirror" ] || fail "no bookworm mirror in the apt sources; set QUANTD_DEBIAN_MIRROR"
    say "debootstrap --arch=$arch --variant=minbase bookworm (first run only)"
    mkdir -p "$cache"
    if [ "$arch" = "$native" ]; then
      debootstrap --variant=minbase bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 \
        || { tail -20 "$tmp/debootstrap.log"; fail "debootstrap failed"; }
    else
      debootstrap --arch="$arch" --foreign --variant=minbase bookworm "$tmp/rootfs" "$mirror" \
        >"$tmp/debootstrap.log" 2>&1 || { tail -20 "$tmp/debootstrap.log"; fail "debootstrap (first stage) failed"; }
      chroot "$tmp/rootfs" /debootstrap/debootstrap --second-stage >>"$tmp/debootstrap.log" 2>&1 \
        || { tail -20 "$tmp/debootstrap.log"; fail "debootstrap --second-stage (under qemu) failed"; }
    fi
    rm -rf "$tmp/rootfs"/var/lib/apt/lists/* "$tmp/rootfs"/var/cache/apt/*
    tar -C "$tmp/rootfs" -cf "$rootfs_tar.part" . && mv "$rootfs_tar.part" "$rootfs_tar"
    rm -rf "$tmp/rootfs"
    say "cached the root file system in $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1))"
  fi
  podman import -q --arch "$arch" --change 'CMD ["/bin/bash"]' "$rootfs_tar" "$base" >/dev/null
  say "imported $base"
fi

# --- build --------------------------------------------------------------------------------------
if [ "$arch" != "$native" ]; then
  ls /proc/sys/fs/binfmt_misc/ 2>/dev/null | grep -q "qemu-" \
    || fail "no qemu binfmt handlers: apt-get install qemu-user-static binfmt-support, mount binfmt_misc"
fi
dockerfile="$repo/deploy/docker/Dockerfile"
platform=()
if [ "$arch" != "$native" ]; then
  # The same Dockerfile, on the local arm64 base (short names resolve to the native one).
  sed "s#^FROM debian:12 #FROM $base #" "$dockerfile" >"$tmp/Dockerfile"
  dockerfile="$tmp/Dockerfile"
  platform=(--platform "linux/$arch")
fi
say "building $image ($arch) from $src"
b0=$(date +%s)
if ! podman build --format docker --network=host "${platform[@]}" --ignorefile "$repo/deploy/docker/Dockerfile.dockerignore" \
    -f "$dockerfile" -t "$image" "$src" >"$tmp/build.log" 2>&1; then
  tail -40 "$tmp/build.log"
  fail "podman build failed"
fi
say "built $image in $(( $(date +%s) - b0 )) s, $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"

user="$(podman image inspect --format '{{.Config.User}}' "$image")"
[ "$user" = "10001:10001" ] || fail "image user is '$user', want 10001:10001"
ports="$(podman image inspect --format '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}' "$image")"
case "$ports" in *50051/tcp*9464/tcp*|*9464/tcp*50051/tcp*) ;; *) fail "exposed ports: '$ports'";; esac
missing="$(podman run --rm --network=none --health-interval=disable --entrypoint /bin/sh "$image" -c \
  'ldd /usr/local/bin/quantd /usr/local/bin/quantctl | grep "not found" || true' 2>"$tmp/podman.err")"
[ -z "$missing" ] || fail "unresolved libraries in the image: $missing"
say "image: user $user, ports $ports, all libraries resolve"

# --- run ----------------------------------------------------------------------------------------
port="$(free_port)"
mport="$(free_port)"
while [ "$mport" = "$port" ]; do mport="$(free_port)"; done
mkdir -p "$tmp/models" && chmod 755 "$tmp" "$tmp/models"
model_args=()
if [ -n "${QUANTD_MAKE_SYNTHETIC:-}" ] && [ -x "$QUANTD_MAKE_SYNTHETIC" ] &&
   "$QUANTD_MAKE_SYNTHETIC" --dim=64 --layers=1 --heads=4 --kv_heads=2 --ffn=128 --vocab=300 \
     --ctx=64 --type=q8_0 --out="$tmp/models/tiny.gguf" >/dev/null 2>&1; then
  chmod 644 "$tmp/models/tiny.gguf"
  model_args=("--model=tiny=/models/tiny.gguf")
fi
podman run -d --name "$name" --network=host --read-only --health-interval=disable "${platform[@]}" -v "$tmp/models:/models:ro" \
  -e QUANTD_GRPC_PORT="$port" -e QUANTD_METRICS_PORT="$mport" \
  "$image" --threads=2 --shutdown_grace_seconds=5 "${model_args[@]}" >/dev/null 2>"$tmp/podman.err" \
  || { cat "$tmp/podman.err"; fail "podman run failed"; }   # (stderr: systemd health-timer noise)
server="127.0.0.1:$port"
ok=0
for _ in $(seq 1 300); do
  if "$quantctl" health --server="$server" >/dev/null 2>&1; then ok=1; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] || break
  sleep 0.2
done
[ "$ok" = 1 ] || { podman logs "$name"; fail "the container did not become SERVING on $server"; }
say "container SERVING on $server (metrics on 127.0.0.1:$mport)"

podman healthcheck run "$name" >/dev/null || fail "the image's HEALTHCHECK (quantctl health inside) failed"
say "HEALTHCHECK inside the container: healthy"
uid="$(podman exec "$name" /bin/sh -c 'id -u')"
[ "$uid" = 10001 ] || fail "processes in the container run as uid $uid"
pid1="$(podman exec "$name" /bin/sh -c 'tr "\0" " " </proc/1/cmdline')"
# (under emulation the kernel shows the binfmt interpreter first: ".../qemu-binfmt/... /usr/local/bin/quantd quantd ...")
case "$pid1" in quantd\ * | */qemu-binfmt/*\ /usr/local/bin/quantd\ quantd\ *) ;; *) fail "PID 1 is '$pid1', want quantd";; esac

/usr/bin/python3 - "$tmp" <<'EOF'
import sys, numpy as np
np.save(sys.argv[1] + "/w.npy", np.random.default_rng(1).standard_normal((128, 256)).astype(np.float32))
a = np.ones((4, 64), np.float32); a[0, 5] = np.inf
np.save(sys.argv[1] + "/bad.npy", a)
EOF
out="$("$quantctl" quantize "$tmp/w.npy" --scheme=q8_0 --server="$server")" || fail "quantize: $out"
grep -q '^snr_db' <<<"$out" || fail "quantize printed no statistics: $out"
if err="$("$quantctl" quantize "$tmp/bad.npy" --scheme=q8_0 --server="$server" 2>&1)"; then
  fail "quantize of an Inf tensor succeeded"
fi
grep -q INVALID_ARGUMENT <<<"$err" || fail "quantize of an Inf tensor: $err"
say "Quantize OK and INVALID_ARGUMENT answered"

metrics="$(curl -fsS "http://127.0.0.1:$mport/metrics")" || fail "no /metrics on 127.0.0.1:$mport"
grep -q '^quantd_requests_total{code="OK",method="quantd.v1.Quantd/Quantize"} 1' <<<"$metrics" \
  || fail "/metrics lacks the Quantize call: $(grep quantd_requests_total <<<"$metrics")"
grep -q '^quantd_request_errors_total{code="INVALID_ARGUMENT",method="quantd.v1.Quantd/Quantize"} 1' <<<"$metrics" \
  || fail "/metrics lacks the failed call"
grep -q '^quantd_build_info{.*threads="2"' <<<"$metrics" || fail "/metrics lacks quantd_build_info"
grep -q '^process_resident_memory_bytes [1-9]' <<<"$metrics" || fail "/metrics lacks process memory"
if [ ${#model_args[@]} -gt 0 ]; then
  grep -q '^quantd_model_bytes{kind="mapped",model="tiny"} [1-9]' <<<"$metrics" \
    || fail "the model from the /models volume is not in quantd_model_bytes"
  say "/metrics: calls, build info, process memory, model tiny (from /models) mapped"
else
  say "/metrics: calls, build info, process memory (no model: QUANTD_MAKE_SYNTHETIC unset)"
fi

# --- stop ---------------------------------------------------------------------------------------
s0=$(date +%s.%N)
podman stop -t 20 "$name" >/dev/null 2>"$tmp/podman.err" || { cat "$tmp/podman.err"; fail "podman stop failed"; }
stop_s="$(elapsed "$s0")"
code="$(podman inspect --format '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || { podman logs "$name" | tail; fail "the container exited with $code after SIGTERM"; }
awk -v s="$stop_s" 'BEGIN { exit !(s < 8) }' || fail "podman stop took ${stop_s}s (SIGTERM not handled?)"
podman logs "$name" 2>&1 | grep -q "shutting down" || fail "quantd did not log its SIGTERM shutdown"
say "podman stop: exited 0 in ${stop_s}s"
say "all checks passed"
