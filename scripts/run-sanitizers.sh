#!/usr/bin/env bash
# Builds the whole test suite with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DLQ_SANITIZE=ON: no recovery, so any report aborts its test) in build-asan and runs it with
# CTest. Fails on any failing test, sanitizer report or leak.
#
#   LQ_ASAN_BUILD_DIR  build folder (default build-asan)
#   LQ_JOBS            parallel compile jobs and tests (default: the number of cores)
#
# The benchmarks are left out: they time code rather than check it, and under ASan their
# timings mean nothing. Warnings are the Release build's business (-Werror there); GCC's
# sanitizer instrumentation brings false positives of its own, so they do not stop this build.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${LQ_ASAN_BUILD_DIR:-build-asan}
jobs=${LQ_JOBS:-$(nproc)}

# -O1 instead of Release's -O3: the instrumented build is most of this stage's time, and at -O1
# it took 9 min instead of 14 on 2 cores, while the tests ran as fast (306 s against 295 s).
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLQ_WERROR=OFF \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DLQ_SANITIZE=ON -DLQ_BUILD_TESTS=ON -DLQ_BUILD_GUI=ON -DLQ_BUILD_BENCHMARKS=OFF \
  -DLQ_BUILD_FUZZERS=OFF >/dev/null
cmake --build "$build_dir" -j "$jobs"

# detect_leaks: LeakSanitizer runs at every test's exit. Its suppressions name third-party
# libraries only (each with its reason); a leak in our code fails the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan-third-party.supp:print_suppressions=0}
# The CTest timeouts are scaled for this build (tests/CMakeLists.txt, LQ_SANITIZE); Qt Test's
# own per-function watchdog (5 min by default) is scaled the same way.
export QTEST_FUNCTION_TIMEOUT=${QTEST_FUNCTION_TIMEOUT:-1200000}
QT_QPA_PLATFORM=offscreen ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
