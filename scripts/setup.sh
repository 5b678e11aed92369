#!/usr/bin/env bash
# Installs the Debian packages syncbed needs (or, given package names, those); quiet and
# quick when nothing is missing.
set -euo pipefail

default_packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libdnnl-dev ocl-icd-opencl-dev libeigen3-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
  python3-matplotlib iproute2 iperf3 iptables iputils-ping   # iptables: delay and loss without netem
  dataset-fashion-mnist zlib1g-dev   # real data for the convergence check
  clang libclang-rt-14-dev   # libFuzzer and sanitizer runtimes for scripts/fuzz.sh
  clang-format git           # scripts/test.sh checks the style of every tracked file
)
if [ $# -gt 0 ]; then packages=("$@"); else packages=("${default_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
