#!/usr/bin/env bash
# The whole test suite (docs/testing.md): installs missing packages, then
#   1. g++, -march=native, OpenBLAS linked (detail/gemm.hpp picks it or Eigen's GEMM at run time),
#      -O2 for the programs whose tests run long
#      (model_tests, system_tests, cringe-repro) and -O0 for the rest: builds the tests and the
#      command-line programs and runs the tests with CTest;
#   2. clang++, no -march=native, Eigen's own GEMM, AddressSanitizer + UBSan, -O0 (-O1 for those
#      three): the same tests again except the installed-package one (so the headers stay portable
#      across compilers, and results cannot depend on the instruction set or the BLAS), plus the
#      teaching examples (built and run here only), the benchmarks (compiled, not run) and the
#      libFuzzer program;
#   3. bounded libFuzzer runs of the input parsers.
# Both builds treat warnings as errors (CRINGE_WARNINGS_AS_ERRORS; a user's default build does not).
#   tools/test.sh                                            # everything (CI)
#   CRINGE_SKIP_SANITIZE=1 CRINGE_SKIP_FUZZ=1 tools/test.sh  # the g++ pass only
#   CRINGE_FUZZ_SECONDS=300 tools/test.sh                    # a longer fuzzing run (seconds per harness)
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash tools/install-deps.sh

jobs=${CRINGE_JOBS:-$(nproc)}
# CTest runs tests in parallel; one OpenBLAS thread per test process avoids oversubscription.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# Ninja for a fresh build directory (an existing one keeps the generator it was configured with).
generator() { if [[ ! -f $1/CMakeCache.txt ]] && command -v ninja >/dev/null; then echo "-GNinja"; fi; }
started=$SECONDS
stamp() { echo "-- $1 after $((SECONDS - started)) s"; }

echo "== 1/3 g++ build of the tests and commands (-O2/-O0, -march=native, OpenBLAS, warnings are errors) =="
cmake -S . -B build/test $(generator build/test) -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG" \
  -DCRINGE_LONG_RUNNING_OPTIONS=-O2 -DCRINGE_PRECOMPILED_HEADERS=OFF -DCRINGE_BUILD_TEACHING_EXAMPLES=OFF -DCRINGE_USE_OPENBLAS=ON -DCRINGE_NATIVE=ON -DCRINGE_WARNINGS_AS_ERRORS=ON "${launcher[@]}" >/dev/null
cmake --build build/test -j "$jobs"
stamp "g++ build"
echo "== 1/3 ctest =="
(cd build/test && ctest --output-on-failure -j "$jobs")
# The products' kernel is chosen at run time (detail/gemm.hpp): a machine whose OpenBLAS runs narrower
# kernels than the build (this project's development machine) tests Eigen's GEMM above. The ops, the
# fused kernels and their exact-equality tests run again with OpenBLAS computing every product.
if ldd build/test/tests/math_tests | grep -q openblas; then
  echo "== 1/3 ctest: math_tests again with CRINGE_MATRIX_PRODUCTS=openblas =="
  (cd build/test && CRINGE_MATRIX_PRODUCTS=openblas ctest --output-on-failure -j "$jobs" -R '^math_tests:')
fi
stamp "g++ tests"

if [[ "${CRINGE_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== 2/3 clang++ build of the tests, examples and benchmarks (-O0/-O1, no -march=native, Eigen's GEMM, address + undefined behaviour sanitizers) =="
  cmake -S . -B build/sanitize $(generator build/sanitize) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
    -DCRINGE_LONG_RUNNING_OPTIONS=-O1 -DCRINGE_BUILD_BENCH=ON -DCRINGE_FUZZ=ON -DCRINGE_SANITIZE=ON -DCRINGE_USE_OPENBLAS=OFF -DCRINGE_NATIVE=OFF -DCRINGE_WARNINGS_AS_ERRORS=ON "${launcher[@]}" >/dev/null
  cmake --build build/sanitize -j "$jobs"
  stamp "clang++ build"
  echo "== 2/3 ctest under ASan + UBSan =="
  (cd build/sanitize && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     CRINGE_SANITIZED=1 ctest --output-on-failure -j "$jobs" --exclude-regex '^install:')
  stamp "clang++ tests"
  export CRINGE_FUZZ_BINARY=build/sanitize/tests/fuzz_parsers  # built by this pass (CRINGE_FUZZ=ON)
fi

if [[ "${CRINGE_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== 3/3 fuzzing (libFuzzer, bounded) =="
  bash tools/fuzz.sh "${CRINGE_FUZZ_SECONDS:-20}"  # builds the program itself when pass 2 did not run
  stamp "fuzzing"
fi
