#!/usr/bin/env bash
# Installs what is missing, builds, and runs the default experiment: configs/quickstart.json,
# every sync strategy scaling Inception-v1 from 1 to 8 workers, with compute emulated from
# this machine's calibrated time (measured first, ~10 s) so 8 workers fit on 2 cores. About
# 2 minutes on 2 cores. It prints the comparison table and writes results and plots
# (scaling, efficiency, sync overhead) to results/quickstart/.
# Extra arguments go to `syncbed run` (and the --set ones to `syncbed calibrate` too),
# e.g. scripts/run.sh --set workers=[1,2,4].
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
overrides=()
arguments=("$@")
for ((i = 0; i + 1 < ${#arguments[@]}; i++)); do
  [ "${arguments[i]}" = --set ] && overrides+=(--set "${arguments[i + 1]}")
done
build/experiments/syncbed calibrate configs/quickstart.json "${overrides[@]}"
exec build/experiments/syncbed run configs/quickstart.json "$@"
