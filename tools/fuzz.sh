#!/usr/bin/env bash
# Builds the libFuzzer harnesses in tests/fuzz with clang (-fsanitize=fuzzer,address,undefined) and runs
# each for a bounded time from the committed seed corpus. A crash fails the run; its reproducer is
# left in build/fuzz/ and should become a regression test (docs/errors.md).
#   tools/fuzz.sh [seconds per harness, default 30]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-30}
out="$root/build/fuzz"
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DCRINGE_NO_BUFFER_CACHE
       -I "$root/include" -isystem /usr/include/eigen3)
for harness in checkpoint loss_request; do
  echo "== fuzz_$harness: build"
  clang++ "${flags[@]}" "$root/tests/fuzz/fuzz_$harness.cpp" -o "$out/fuzz_$harness"
  echo "== fuzz_$harness: ${seconds}s"
  work="$out/corpus_$harness"
  rm -rf "$work" && cp -r "$root/tests/fuzz/corpus/$harness" "$work"  # the committed corpus stays as is
  (cd "$out" && ./"fuzz_$harness" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 "$work" 2>&1 | tail -n 4)
done
echo "fuzz: no crashes"
