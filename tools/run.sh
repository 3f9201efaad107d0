#!/usr/bin/env bash
# The main job: installs missing packages, builds the library's programs in release mode, and runs the
# CRINGE reproduction (3 seeds, both tasks, every method; about 8 minutes on 2 cores). Prints the
# tables; writes summary.json, results.csv, results.md and the plots to repro-out/.
#   tools/run.sh                 # the default reproduction
#   tools/run.sh --quick         # seconds: the pipeline end to end
#   tools/run.sh --help          # every option of cringe-repro
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash tools/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCRINGE_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target cringe-repro cringe-ref >/dev/null
# cringe-repro trains methods on parallel threads; one OpenBLAS thread each avoids oversubscription.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec build/release/examples/cringe-repro --out "${CRINGE_REPRO_OUT:-repro-out}" "$@"
