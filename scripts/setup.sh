#!/usr/bin/env bash
# Installs the Debian (bookworm) packages Rapport needs to build and run; with --test, also what
# the whole test suite needs (the fuzzers' clang, the report validators, headless Chromium).
# Idempotent: packages already present are left alone. Works as root or through sudo.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config python3
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev
  libyaml-cpp-dev libcurl4-openssl-dev libsimdjson-dev libfmt-dev
  libssl-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
)
if [ "${1:-}" = "--test" ]; then
  packages+=(
    clang libclang-rt-14-dev                   # scripts/fuzz.sh: libFuzzer with sanitizers
    libxml2-utils python3-jsonschema           # JUnit XML against its XSD, SARIF and run JSON against theirs
    chromium                                   # the HTML report rendered headless (scripts/check-html-report.py)
    time                                       # /usr/bin/time: peak memory in bench/e2e.py
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
