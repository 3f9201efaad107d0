#!/usr/bin/env bash
# The main job: builds cringe-repro in release mode and runs the CRINGE reproduction. The default is
# the safety task in the opener world, 10 seeds, the paper's main methods, with paired bootstrap
# intervals (docs/reproduction.md; measured time there). Prints the tables; writes summary.json,
# results.csv, results.md, samples.md, progress.log and the plots to repro-out/ (or --out DIR).
#   tools/run.sh                 # the default reproduction
#   tools/run.sh --quick         # seconds: the pipeline end to end
#   tools/run.sh --help          # this text and every option of cringe-repro (no build when it is built)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
binary=build/release/examples/cringe-repro
for arg in "$@"; do
    if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then
        sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
        if [ -x "$binary" ]; then
            echo
            "$binary" --help
        else
            echo
            echo "(cringe-repro is not built yet: run tools/run.sh once, or build it with"
            echo " cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCRINGE_BUILD_TESTS=OFF &&"
            echo " cmake --build build/release --target cringe-repro; then tools/run.sh --help lists every option)"
        fi
        exit 0
    fi
done
bash tools/install-deps.sh
echo "run.sh: configuring and building cringe-repro (release; a minute or two the first time) ..." >&2
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCRINGE_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target cringe-repro >&2
# cringe-repro trains seeds on parallel threads; one OpenBLAS thread each avoids oversubscription.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec "$binary" --out "${CRINGE_REPRO_OUT:-repro-out}" "$@"
