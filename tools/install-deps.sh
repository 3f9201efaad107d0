#!/usr/bin/env bash
# Installs the Debian packages cringe needs, skipping those already present (idempotent).
# Runs `apt-get update` once, only if something is missing. Needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  g++ cmake make                 # toolchain
  ninja-build                    # tools/test.sh builds with Ninja (less overhead than make on 2 cores)
  libeigen3-dev                  # matrix products and vectorised elementwise math
  libopenblas-dev                # optional: OpenBLAS for the GEMMs, chosen at run time (CRINGE_USE_OPENBLAS)
  libxtensor-dev xtl-dev libxsimd-dev   # N-d tensor containers
  catch2                         # tests (v2, single header + prebuilt main)
  libbenchmark-dev               # bench/
  doxygen                        # API reference: target cringe_docs, test docs:api_reference_no_warnings
  nlohmann-json3-dev             # JSON: cringe-ref, config.json, safetensors headers, summaries
  libcli11-dev                   # command lines of the example programs
  gnuplot-nox                    # plots of the reproduction (PNG and SVG)
  clang libclang-rt-14-dev       # the second compiler of tools/test.sh (ASan + UBSan) and libFuzzer
  pkg-config                     # tests/install checks the installed cringe.pc
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
