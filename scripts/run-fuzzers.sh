#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz and runs them all at once
# for a bounded time. Fails on any crash, hang, leak, out-of-memory or sanitizer report.
#
#   FUZZ_SECONDS   seconds of one core per fuzzer (default 60); with more fuzzers than cores
#                  they share the cores and each runs that much longer
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 10)
#   FUZZERS        which fuzzers to run, e.g. "safetensors" (default: every fuzz_* target)
#   LQ_FUZZ_BUILD_DIR  build folder (default build-fuzz)
#
# A finding leaves its input in build-fuzz/findings/<fuzzer>/ (crash-*, timeout-*, leak-*,
# oom-*). Reproduce it with `build-fuzz/tests/fuzz/fuzz_<fuzzer> FILE`, fix the reader, and add
# the file to tests/data/bad/ with a row in tests/io/badinputtest.cpp. A finding of
# fuzz_packedrecipe is a recipe, not a file: LQ_FUZZ_VERBOSE=1 prints what the reader said, and
# the edits it names (tests/fuzz/packedmutations.h) become a row of
# tests/packed/packedhostiletest.cpp. New interesting inputs go to build-fuzz/corpus/<fuzzer>/,
# never into the committed seeds.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
# Read before OMP_NUM_THREADS=1 is exported below: GNU nproc honours that variable, and with it
# every fuzzer would wait for the previous one.
jobs=$(nproc)
timeout=${FUZZ_TIMEOUT:-10}
build_dir=${LQ_FUZZ_BUILD_DIR:-build-fuzz}
cxx=${LQ_FUZZ_CXX:-clang++-14}
cc=${LQ_FUZZ_CC:-clang-14}

if ! command -v "$cxx" >/dev/null; then
  echo "run-fuzzers: $cxx not found; scripts/install-deps.sh installs clang" >&2
  exit 1
fi

# Only the libraries the fuzzers need: no tests, no GUI, no benchmarks.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DLQ_BUILD_FUZZERS=ON \
  -DLQ_BUILD_TESTS=OFF -DLQ_BUILD_GUI=OFF -DLQ_BUILD_BENCHMARKS=OFF >/dev/null
targets=$(ninja -C "$build_dir" -t targets all | sed -n 's/^\(fuzz_[a-z0-9_]*\): phony$/\1/p' | sort -u)
if [ -n "${FUZZERS:-}" ]; then
  targets=$(for f in $FUZZERS; do echo "fuzz_$f"; done)
fi
if [ -z "$targets" ]; then
  echo "run-fuzzers: no fuzz_* targets found" >&2
  exit 1
fi
# shellcheck disable=SC2086
cmake --build "$build_dir" -j 2 --target $targets

# -fno-sanitize-recover makes every UBSan report fatal; halt_on_error does the same for ASan.
# allocator_may_return_null=1: an absurd size read from a damaged file (libhdf5 asks malloc for
# 16 EB while it parses one) gets NULL, as from glibc, and the library reports an error, instead
# of ASan stopping the run. Our own code allocates with new, which still throws bad_alloc: not an
# lq::Error, so the harnesses still report it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Leaks inside third-party libraries only; each entry of the file says why.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/third-party-leaks.supp:print_suppressions=0}
export OMP_NUM_THREADS=1 # one input at a time; threads would only add noise to the timings

# One fuzzer: its log in $build_dir/logs, its verdict (one line) in $build_dir/results/<name>.
fuzz_one() {
  local target=$1 name=${1#fuzz_}
  local binary seeds work findings log result status runs coverage
  binary=$(find "$build_dir/tests/fuzz" -maxdepth 1 -name "$target" -type f | head -n 1)
  seeds=tests/fuzz/corpus/$name
  work=$build_dir/corpus/$name
  findings=$build_dir/findings/$name
  log=$build_dir/logs/$name.log
  result=$build_dir/results/$name
  mkdir -p "$work" "$findings" "$(dirname "$log")" "$(dirname "$result")"
  local args=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048
              -artifact_prefix="$findings/" -print_final_stats=1)
  if [ -f "tests/fuzz/$name.dict" ]; then
    args+=(-dict="tests/fuzz/$name.dict")
  fi
  local corpora=("$work")
  if [ -d "$seeds" ]; then
    corpora+=("$seeds")
  fi
  status=0
  "$binary" "${args[@]}" "${corpora[@]}" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
  # Any sanitizer or libFuzzer report counts, even if the exit status did not say so.
  if [ "$status" -ne 0 ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: |.*runtime error: )' "$log"; then
    echo "FAILED (exit $status); log: $log" >"$result"
  else
    echo "ok: ${runs:-?} inputs, $coverage, corpus $(find "$work" -type f | wc -l) files" >"$result"
  fi
}

# Every fuzzer at once (each is one process on one core). With F fuzzers on C < F cores,
# seconds * F / C for all gives each the CPU that `seconds` alone would (3 on 2: 90 s), where
# rounds of C left cores idle in the last round.
count=$(echo "$targets" | wc -w)
if [ "$count" -gt "$jobs" ]; then
  seconds=$(((seconds * count + jobs - 1) / jobs))
fi
rm -rf "$build_dir/results"
for target in $targets; do
  echo "run-fuzzers: $target for ${seconds}s (timeout ${timeout}s per input)"
  fuzz_one "$target" &
done
wait

failed=()
for target in $targets; do
  name=${target#fuzz_}
  verdict=$(cat "$build_dir/results/$name" 2>/dev/null || echo "FAILED (no result)")
  if [[ $verdict == ok:* ]]; then
    echo "run-fuzzers: $target $verdict"
  else
    echo "run-fuzzers: $target $verdict" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|property violated' \
      "$build_dir/logs/$name.log" | head -n 20 >&2 || true
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "run-fuzzers: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzzers: all fuzzers clean"
