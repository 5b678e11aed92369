#!/usr/bin/env bash
# Installs the optional peers the comparison scripts measure against: Open MPI and Gloo
# (Debian packages). Not needed to build or test syncbed; scripts/compare_allreduce.sh
# runs it. Quiet and quick when nothing is missing.
set -euo pipefail

packages=(libopenmpi-dev openmpi-bin libgloo-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup_baselines: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
