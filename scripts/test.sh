#!/usr/bin/env bash
# test.sh: build and run every test: a normal build (gcc, Release: -O3), then AddressSanitizer + UBSan
# (clang) with the libFuzzer targets, which run for WARD_FUZZ_SECONDS (default 60) each.
# Ends with one line "N passed, N failed" counting test programs over both builds.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! scripts/deps.sh; then
  echo "installing dependencies failed"
  echo "0 passed, 1 failed"
  exit 1
fi
jobs=$(nproc)
passed=0 failed=0
run_suite() { # dir, cmake args...
  local dir=$1; shift
  echo "=== build $dir: $*"
  mkdir -p "$dir"
  if ! { cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j"$jobs"; } >"$dir/build.log" 2>&1; then
    echo "build $dir FAILED:"; grep -E "error|Error" "$dir/build.log" | head -n 40
    failed=$((failed + 1)); return
  fi
  local log="$dir/ctest.log" rc
  (cd "$dir" && ctest --output-on-failure -j1 2>&1) | tee "$log"
  rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -cE "Test +#[0-9]+: .* Passed" "$log")
  f=$(grep -cE "Test +#[0-9]+: .*\*\*\*" "$log")   # ***Failed, ***Exception, ***Timeout
  # a failing ctest run counts as a failure even if no line matched
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}
mkdir -p build-test
run_suite build-test/release -DCMAKE_BUILD_TYPE=Release
run_suite build-test/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DWARD_SANITIZE=ON \
  -DWARD_FUZZ=ON -DWARD_FUZZ_SECONDS="${WARD_FUZZ_SECONDS:-60}"
echo "test programs over both builds:"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
