#!/usr/bin/env bash
# Builds the libFuzzer harnesses in tests/fuzz with clang (-fsanitize=fuzzer,address,undefined) and runs
# each for a bounded time from the committed seed corpus, with a dictionary of the input's tokens and
# inputs up to 1 MB. A crash, a sanitizer report, an input slower than 10 s or one that needs more than
# 2 GB fails the run; its reproducer is left in build/fuzz/ and should become a regression test
# (docs/errors.md, section "Fuzzing", which also describes a longer run).
#   tools/fuzz.sh [seconds per harness, default 20] [harness ...]
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
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DCRINGE_NO_BUFFER_CACHE
       -I "$root/include" -isystem /usr/include/eigen3)
# Build every harness first, as many at once as there are cores (each is one large translation unit).
jobs=${CRINGE_JOBS:-$(nproc)}
echo "== fuzz: building ${harnesses[*]} ($jobs at a time)"
printf '%s\n' "${harnesses[@]}" | xargs -P "$jobs" -I{} \
  clang++ "${flags[@]}" "$root/tests/fuzz/fuzz_{}.cpp" -o "$out/fuzz_{}"
for harness in "${harnesses[@]}"; do
  dict="$root/tests/fuzz/json.dict"
  [[ $harness == cringe_ref_cli ]] && dict="$root/tests/fuzz/cli.dict"
  echo "== fuzz_$harness: ${seconds}s"
  work="$out/corpus_$harness"
  rm -rf "$work" && cp -r "$root/tests/fuzz/corpus/$harness" "$work"  # the committed corpus stays as is
  log="$out/fuzz_$harness.log"
  if ! (cd "$out" && ./"fuzz_$harness" -max_total_time="$seconds" -max_len=1048576 -timeout=10 -rss_limit_mb=2048 \
          -dict="$dict" -print_final_stats=1 "$work" >"$log" 2>&1); then
    tail -n 60 "$log"
    echo "fuzz_$harness: FAILED; the reproducer (crash-*, timeout-*, oom-*) is in $out, the log in $log"
    exit 1
  fi
  tail -n 4 "$log"
done
echo "fuzz: no crashes"
