#!/usr/bin/env bash
# Builds quantd and runs it on its defaults (gRPC on 127.0.0.1:50051). Extra arguments go to
# quantd, e.g. ./scripts/run.sh --listen=0.0.0.0:50051 --threads=2
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DQUANTD_BUILD_SERVER=ON -DQUANTD_BUILD_TESTS=ON
cmake --build build -j"$(nproc)" --target quantd quantctl
exec ./build/server/quantd "$@"
