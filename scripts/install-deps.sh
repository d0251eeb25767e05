#!/usr/bin/env bash
# Installs everything quantd needs to build and test, from Debian 12's packages only, plus the
# arm64 (multiarch) libraries for the cross build that scripts/test-arm64.sh runs under qemu.
# Idempotent: packages already present are skipped, so a second run is quick and offline.
# QUANTD_SKIP_ARM64=1 leaves the arm64 architecture alone.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # build and the C++ dependencies
  g++ cmake make pkg-config ninja-build
  protobuf-compiler protobuf-compiler-grpc libgrpc++-dev libprotobuf-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  # arm64: cross compiler and user-mode emulator for the NEON tests
  g++-aarch64-linux-gnu qemu-user
  # Python client and its tests (Debian's interpreter at /usr/bin/python3)
  python3 python3-grpcio python3-grpc-tools python3-numpy grpc-proto
  # operations tests (tests/ops): Prometheus + promtool, YAML tools, curl
  prometheus yamllint python3-yaml curl
)

# arm64 libraries (Multi-Arch: same, so they co-install with the amd64 -dev packages).
# qemu-aarch64 runs the test binaries with the arm64 libc6/libstdc++6/libgomp1 from
# /lib/aarch64-linux-gnu, found through the binaries' own ELF interpreter (no -L needed).
ARM64_PACKAGES=(
  # kernel tests
  libc6:arm64 libstdc++6:arm64 libgomp1:arm64 libgtest-dev:arm64 libgmock-dev:arm64
  # the whole server (prometheus-cpp-dev:arm64 is handled below)
  libgrpc++-dev:arm64 libprotobuf-dev:arm64 libprometheus-cpp-core1.0:arm64
  libprometheus-cpp-pull1.0:arm64 libprometheus-cpp-push1.0:arm64 libcivetweb-dev:arm64
  libcurl4-openssl-dev:arm64 zlib1g-dev:arm64 libssl-dev:arm64 libbenchmark-dev:arm64
)

# Prints the packages of "$@" that are not installed. A name without :arch means the native
# architecture (or an Architecture: all package), not an arm64 copy of it.
native_arch=$(dpkg --print-architecture)
missing_of() {
  local p arch
  for p in "$@"; do
    arch=$native_arch
    [[ "$p" == *:* ]] && arch=${p#*:}
    dpkg-query -W -f='${Status} ${Architecture}\n' "${p%%:*}" 2>/dev/null |
      grep -qE "^install ok installed ($arch|all)\$" || echo "$p"
  done
}

apt_updated=0
apt_install() {
  echo "install-deps: installing $*"
  if [ "$apt_updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

mapfile -t missing < <(missing_of "${PACKAGES[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  apt_install "${missing[@]}"
fi

# tests/ops: Node.js (Debian's nodejs + npm unless a node is already installed), then the
# locked npm packages in tests/ops/node (idempotent); podman & co. for the container test.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
"$(dirname "$0")/../tests/ops/npm_setup.sh"
if [ "${QUANTD_CONTAINER_TESTS:-0}" = 1 ]; then
  mapfile -t missing < <(missing_of podman buildah runc debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
fi

if [ "${QUANTD_SKIP_ARM64:-0}" = 1 ]; then exit 0; fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "install-deps: enabling the arm64 architecture"
  $SUDO dpkg --add-architecture arm64
  apt_updated=0  # the arm64 package lists are not downloaded yet
fi
mapfile -t missing < <(missing_of "${ARM64_PACKAGES[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#ARM64_PACKAGES[@]} arm64 packages present"
else
  apt_install "${missing[@]}"
fi

# prometheus-cpp-dev is not Multi-Arch: installing the arm64 one would remove the amd64 one.
# Its arm64 CMake package and link symlinks are unpacked by hand instead (not tracked by
# dpkg; the headers are architecture-independent and come from the amd64 package).
arm64_lib=/usr/lib/aarch64-linux-gnu
if [ ! -f "$arm64_lib/cmake/prometheus-cpp/prometheus-cpp-config.cmake" ]; then
  echo "install-deps: unpacking prometheus-cpp-dev:arm64 into $arm64_lib"
  if [ "$apt_updated" -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq prometheus-cpp-dev:arm64 && dpkg -x prometheus-cpp-dev_*_arm64.deb x)
  $SUDO mkdir -p "$arm64_lib/cmake"
  $SUDO cp -a "$tmp/x$arm64_lib/cmake/prometheus-cpp" "$arm64_lib/cmake/"
  $SUDO cp -a "$tmp/x$arm64_lib"/libprometheus-cpp-*.so "$arm64_lib/"
fi
