#!/usr/bin/env bash
# The whole project on ARM64: cross-builds quantd, quantctl and every test binary for aarch64
# (Release, NEON + dotprod kernels) in build-arm64, and runs under qemu-aarch64 on two CPUs:
#   -cpu max         has dotprod: dispatch must pick neon_dotprod, and the suite must cover it;
#                    then again with QUANTD_ISA=neon forced;
#   -cpu cortex-a53  no dotprod: dispatch must pick neon, a SIGILL is a failure, and forcing
#                    neon_dotprod must be refused.
# 1. kernel_tests as above; the other arm64 unit tests (quant, engine, service, llm) via ctest on
#    both CPUs (QEMU_CPU).
# 2. tests/arm64/arm64_server_test.py: the arm64 quantd under qemu (both CPUs) driven by the x86
#    quantctl and the Python client, cross-ISA conformance against the x86 quantd under every
#    QUANTD_ISA this CPU has (quantized bytes, dequantized values, greedy ids, logits), and the
#    footprint figures (sizes, RSS; printed, not asserted).
# The x86 quantd/quantctl come from $QUANTD_X86_BUILD (default build/, which scripts/test.sh
# builds first); the x86 helper isa_logits (and quantd/quantctl if that build has no server) are
# built in build-arm64-host. tests/arm64/project_include.cmake adds the helper targets without
# touching the shared CMakeLists.
# Needs scripts/install-deps.sh first. Reuses build-arm64 and build-arm64-host (a second run only
# re-checks).
# qemu runs without -L: the multiarch libc6:arm64 is found through the binary's interpreter,
# and -L /usr/aarch64-linux-gnu would mix two glibc builds (threads then hang).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-arm64"
logs="$build/test-logs"
host_build="$root/build-arm64-host"
x86_build="${QUANTD_X86_BUILD:-$root/build}"
tests="$build/tests/kernels/kernel_tests"
project_include="$root/tests/arm64/project_include.cmake"

fail() {
  echo "test-arm64: FAILED: $*" >&2
  exit 1
}

now_ns() { date +%s%N; }
seconds_since() {  # seconds_since START_NS: elapsed time as "12.3"
  local ms=$((($(now_ns) - $1) / 1000000))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

for tool in aarch64-linux-gnu-g++ qemu-aarch64 cmake /usr/bin/python3; do
  command -v "$tool" >/dev/null || fail "$tool not found; run scripts/install-deps.sh"
done
[ -f /usr/lib/aarch64-linux-gnu/cmake/GTest/GTestConfig.cmake ] ||
  fail "libgtest-dev:arm64 missing; run scripts/install-deps.sh"
[ -f /usr/lib/aarch64-linux-gnu/cmake/prometheus-cpp/prometheus-cpp-config.cmake ] &&
  [ -f /usr/lib/aarch64-linux-gnu/cmake/grpc/gRPCConfig.cmake ] ||
  fail "arm64 gRPC / prometheus-cpp missing; run scripts/install-deps.sh"

# --- Configure and build ----------------------------------------------------------------------
start=$(now_ns)
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release \
  -DQUANTD_BUILD_SERVER=ON -DQUANTD_BUILD_TESTS=ON -DQUANTD_BUILD_BENCHMARKS=OFF \
  -DCMAKE_PROJECT_quantd_INCLUDE="$project_include" >/dev/null ||
  fail "configure (cmake -S $root -B $build)"
cmake --build "$build" -j "$(nproc)" || fail "build (arm64)"
for bin in server/quantd client/quantctl isa_logits qemu_baseline tests/kernels/kernel_tests; do
  [ -x "$build/$bin" ] || fail "$build/$bin was not built"
done
echo "test-arm64: arm64 configure + build $(seconds_since "$start") s"

# The x86 side: quantd and quantctl from the main build, the isa_logits helper from our own.
start=$(now_ns)
host_targets=(isa_logits)
if [ ! -x "$x86_build/server/quantd" ] || [ ! -x "$x86_build/client/quantctl" ]; then
  echo "test-arm64: $x86_build has no quantd/quantctl; building them in $host_build"
  x86_build="$host_build"
  host_targets+=(quantd quantctl)
fi
generator=()
if [ ! -f "$host_build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$root" -B "$host_build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DQUANTD_BUILD_SERVER=ON -DQUANTD_BUILD_TESTS=OFF -DQUANTD_BUILD_BENCHMARKS=OFF \
  -DCMAKE_PROJECT_quantd_INCLUDE="$project_include" >/dev/null ||
  fail "configure (cmake -S $root -B $host_build)"
cmake --build "$host_build" -j "$(nproc)" --target "${host_targets[@]}" || fail "build (x86 helpers)"
echo "test-arm64: x86 helper build $(seconds_since "$start") s (x86 quantd from $x86_build)"

# --- neon_dotprod.o must not export anything but its table builder --------------------------
# A weak (inline or template) symbol defined there is compiled with +dotprod, and the linker
# may keep that copy for every caller: a SIGILL waiting for a CPU without SDOT.
objs="$build/kernels/CMakeFiles/quantd_kernels.dir"
dotprod_obj="$objs/arm/neon_dotprod.cc.o"
[ -f "$dotprod_obj" ] || fail "$dotprod_obj not found"
exported=$(aarch64-linux-gnu-nm --defined-only --extern-only -C "$dotprod_obj" |
  grep -v ' quantd::kernels::fill_neon_dotprod_table(' || true)
[ -z "$exported" ] || fail "neon_dotprod.cc.o defines shared symbols (built with +dotprod):
$exported"
# And SDOT appears nowhere else in the library.
for obj in $(find "$objs" -name '*.o' ! -name 'neon_dotprod.cc.o'); do
  if aarch64-linux-gnu-objdump -d "$obj" | grep -qE '\s(s|u)dot\s'; then
    fail "$(basename "$obj") contains SDOT/UDOT outside neon_dotprod.cc"
  fi
done

# --- Runs -------------------------------------------------------------------------------------
mkdir -p "$logs"
summary=()

# run NAME CPU ISA [gtest args...]: runs the suite, fails on any failure or signal.
# ISA "" leaves the choice to dispatch. Sets $log.
run() {
  local name=$1 cpu=$2 isa=$3
  shift 3
  log="$logs/$name.log"
  local t0 rc=0
  t0=$(now_ns)
  if [ -n "$isa" ]; then
    env QUANTD_ISA="$isa" qemu-aarch64 -cpu "$cpu" "$tests" "$@" >"$log" 2>&1 || rc=$?
  else
    env -u QUANTD_ISA qemu-aarch64 -cpu "$cpu" "$tests" "$@" >"$log" 2>&1 || rc=$?
  fi
  local secs
  secs=$(seconds_since "$t0")
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$log" >&2
    [ "$rc" -eq 132 ] && fail "$name: SIGILL (illegal instruction) on -cpu $cpu; log $log"
    [ "$rc" -gt 128 ] && fail "$name: killed by signal $((rc - 128)) on -cpu $cpu; log $log"
    fail "$name: kernel_tests exited $rc on -cpu $cpu; log $log"
  fi
  local passed
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\..*/\1/p' "$log")
  [ -n "$passed" ] || fail "$name: no gtest summary in $log"
  summary+=("$(printf '%-22s -cpu %-10s QUANTD_ISA=%-8s %3s tests passed  %5s s' \
    "$name" "$cpu" "${isa:-(auto)}" "$passed" "$secs")")
}

expect_line() {  # expect_line NAME PATTERN: the last run's log must contain the line
  grep -qxF -- "$2" "$log" || fail "$1: expected \"$2\" in $log"
}
reject_line() {
  if grep -qxF -- "$2" "$log"; then fail "$1: unexpected \"$2\" in $log"; fi
}

run max max ""
expect_line max "[ covered  ] neon_dotprod"
expect_line max "[ active   ] neon_dotprod"

run max_forced_neon max neon
expect_line max_forced_neon "[ active   ] neon"

run a53 cortex-a53 ""
expect_line a53 "[ covered  ] neon"
reject_line a53 "[ covered  ] neon_dotprod"
expect_line a53 "[ active   ] neon"

# Forcing what the CPU lacks must be refused by dispatch (an error, not a SIGILL).
log="$logs/a53_forced_neon_dotprod.log"
rc=0
env QUANTD_ISA=neon_dotprod qemu-aarch64 -cpu cortex-a53 "$tests" \
  --gtest_filter=Dispatch.ActiveTableHonoursQuantdIsa >"$log" 2>&1 || rc=$?
[ "$rc" -ne 132 ] || fail "QUANTD_ISA=neon_dotprod on cortex-a53: SIGILL; log $log"
[ "$rc" -ne 0 ] || fail "QUANTD_ISA=neon_dotprod on cortex-a53 was accepted; log $log"
grep -q 'QUANTD_ISA=neon_dotprod: not supported by this build and CPU' "$log" ||
  fail "QUANTD_ISA=neon_dotprod on cortex-a53: no refusal message; log $log"
summary+=("$(printf '%-22s -cpu %-10s QUANTD_ISA=%-8s refused, as expected' a53_forced_dotprod cortex-a53 neon_dotprod)")

# --- The other arm64 unit tests, under ctest (the toolchain's emulator), on both CPUs ---------
# model_tests is left out: its 71,000-file corruption test takes ~8 min per CPU under qemu on a
# loaded host (over its 300 s ctest timeout); GGUF parsing is byte-level and runs natively, and
# the arm64 server test below loads every real GGUF file.
for cpu in max cortex-a53; do
  log="$logs/ctest-$cpu.log"
  t0=$(now_ns)
  rc=0
  QEMU_CPU=$cpu ctest --test-dir "$build" -R '^(quant|engine|service|llm)$' --output-on-failure \
    --timeout 900 >"$log" 2>&1 || rc=$?
  secs=$(seconds_since "$t0")
  if [ "$rc" -ne 0 ]; then
    tail -n 60 "$log" >&2
    grep -q 'Illegal\|SIGILL' "$log" && fail "ctest on -cpu $cpu: SIGILL; log $log"
    fail "arm64 unit tests (quant, engine, service, llm) failed on -cpu $cpu; log $log"
  fi
  summary+=("$(printf '%-22s -cpu %-10s %s  %5s s' "ctest-$cpu" "$cpu" \
    "$(grep -o '[0-9]*% tests passed, [0-9]* tests failed out of [0-9]*' "$log")" "$secs")")
done

printf 'test-arm64: %s\n' "${summary[@]}"

# --- The arm64 server under qemu, driven from x86; cross-ISA conformance; footprint ------------
t0=$(now_ns)
rc=0
ARM64_BUILD="$build" HOST_BUILD="$host_build" QUANTD_X86="$x86_build/server/quantd" \
  QUANTCTL_X86="$x86_build/client/quantctl" MODELS_DIR="$root/../shared/models" \
  OUT_DIR="$logs/server" ARM64_BASELINE="$build/qemu_baseline" \
  /usr/bin/python3 "$root/tests/arm64/arm64_server_test.py" 2>&1 | tee "$logs/arm64_server_test.log" ||
  rc=$?
[ "$rc" -eq 0 ] || fail "arm64_server_test.py (log $logs/arm64_server_test.log)"
echo "test-arm64: arm64_server_test $(seconds_since "$t0") s"
echo "test-arm64: all passed (logs in $logs)"
