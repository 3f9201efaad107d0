#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds every test and example, runs them with CTest,
# then rebuilds with -fsanitize=address,undefined and runs everything again. The first pass uses
# OpenBLAS for matrix products (CRINGE_USE_OPENBLAS, the default), the sanitizer pass Eigen's own
# GEMM, so the suite runs both ways.
#   tools/test.sh              # both passes
#   CRINGE_SKIP_SANITIZE=1 CRINGE_SKIP_FUZZ=1 tools/test.sh   # the plain pass only (quick local loop)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash tools/install-deps.sh

jobs=${CRINGE_JOBS:-$(nproc)}
# CTest runs tests in parallel; one OpenBLAS thread per test process avoids oversubscription.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

echo "== build (release with assertions) =="
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRINGE_BUILD_BENCH=ON -DCRINGE_USE_OPENBLAS=ON >/dev/null
cmake --build build/test -j "$jobs"
echo "== ctest =="
(cd build/test && ctest --output-on-failure -j "$jobs")

if [[ "${CRINGE_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== build (address + undefined behaviour sanitizers) =="
  cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DCRINGE_SANITIZE=ON -DCRINGE_USE_OPENBLAS=OFF >/dev/null
  cmake --build build/sanitize -j "$jobs"
  echo "== ctest under ASan + UBSan =="
  (cd build/sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     CRINGE_SANITIZED=1 ctest --output-on-failure -j "$jobs")
fi

if [[ "${CRINGE_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzzing (libFuzzer, bounded) =="
  bash tools/fuzz.sh "${CRINGE_FUZZ_SECONDS:-20}"
fi
