#!/usr/bin/env bash
# Installs what is missing, builds, and runs the default experiment: configs/quickstart.json
# (every sync strategy at 1, 2 and 4 worker processes; under 3 minutes on 2 cores). It
# prints the comparison table and writes results and plots to results/quickstart/.
# Extra arguments go to `syncbed run`, e.g. scripts/run.sh --set workers=[1,2].
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
exec build/experiments/syncbed run configs/quickstart.json "$@"
