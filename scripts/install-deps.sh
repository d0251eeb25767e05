#!/usr/bin/env bash
# Installs everything quantd needs to build and test, from Debian 12's packages only.
# Idempotent: packages already present are skipped by apt, so a second run is quick.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  # build and the C++ dependencies
  g++ cmake make pkg-config ninja-build
  protobuf-compiler protobuf-compiler-grpc libgrpc++-dev libprotobuf-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  # arm64: cross compiler and user-mode emulator for the NEON tests
  g++-aarch64-linux-gnu qemu-user
  # Python client and its tests (Debian's interpreter at /usr/bin/python3)
  python3 python3-grpcio python3-grpc-tools python3-numpy grpc-proto
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
