#!/usr/bin/env bash
# Builds the libFuzzer program tests/fuzz/fuzz_parsers.cpp (all harnesses in one binary) with clang
# (-fsanitize=fuzzer,address,undefined) and runs each harness for a bounded time from the committed
# seed corpus, with a dictionary of the input's tokens and inputs up to 1 MB. A crash, a sanitizer
# report, an input slower than 10 s or one that needs more than 2 GB fails the run; its reproducer is
# left in build/fuzz/ and should become a regression test (docs/errors.md, section "Fuzzing", which
# also describes a longer run and how to replay an input).
#   tools/fuzz.sh [seconds per harness, default 20] [harness ...]
#   CRINGE_FUZZ_BINARY=build/sanitize/tests/fuzz_parsers tools/fuzz.sh   # a program built by CMake (CRINGE_FUZZ=ON)
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  echo "harnesses: loss_request checkpoint pretrained training_state cringe_ref_cli (default: all)"
  exit 0
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-20}
shift || true
harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=(loss_request checkpoint pretrained training_state cringe_ref_cli)
out="$root/build/fuzz"
mkdir -p "$out"
flags=(-std=c++20 -O1 -g1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DCRINGE_NO_BUFFER_CACHE
       -I "$root/include" -isystem /usr/include/eigen3)
# One translation unit for all harnesses (-g1: line tables are enough for a reproducer's stack trace).
# CRINGE_FUZZ_BINARY names one already built (tools/test.sh builds it in its sanitizer pass).
binary=${CRINGE_FUZZ_BINARY:-}
if [[ -n $binary && -x $binary ]]; then
  binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
  echo "== fuzz: using $binary (${harnesses[*]})"
else
  echo "== fuzz: building fuzz_parsers (${harnesses[*]})"
  clang++ "${flags[@]}" "$root/tests/fuzz/fuzz_parsers.cpp" -o "$out/fuzz_parsers"
  binary="$out/fuzz_parsers"
fi
# Then fuzz, as many harnesses at once as there are cores (each is one process, one thread).
jobs=${CRINGE_JOBS:-$(nproc)}
fuzz_one() {
  local harness=$1 dict="$root/tests/fuzz/json.dict"
  [[ $harness == cringe_ref_cli ]] && dict="$root/tests/fuzz/cli.dict"
  local work="$out/corpus_$harness" log="$out/fuzz_$harness.log"
  rm -rf "$work" && cp -r "$root/tests/fuzz/corpus/$harness" "$work"  # the committed corpus stays as is
  if ! (cd "$out" && "$binary" --harness="$harness" -max_total_time="$seconds" -max_len=1048576 -timeout=10 -rss_limit_mb=2048 \
          -dict="$dict" -print_final_stats=1 "$work" >"$log" 2>&1); then
    tail -n 60 "$log"
    echo "fuzz $harness: FAILED; the reproducer (crash-*, timeout-*, oom-*) is in $out, the log in $log"
    return 1
  fi
  echo "== fuzz $harness: ${seconds}s, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs, no crash"
}
export -f fuzz_one
export root out seconds binary
printf '%s\n' "${harnesses[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one {}' || { echo "fuzz: FAILED (see above)"; exit 1; }
echo "fuzz: no crashes"
