#!/usr/bin/env bash
# Builds everything and runs every test: the x86 suite (kernels under every ISA this CPU has,
# quantization library, in-process service, end-to-end over 127.0.0.1) and the arm64 kernel
# suite under qemu-aarch64, with and without dotprod. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DQUANTD_BUILD_SERVER=ON -DQUANTD_BUILD_TESTS=ON
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j1)
if [ -x scripts/test-arm64.sh ]; then
  ./scripts/test-arm64.sh
fi
echo "test.sh: all tests passed"
