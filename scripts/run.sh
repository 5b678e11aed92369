#!/usr/bin/env bash
# Installs what is missing, builds, and runs the default experiment. Until the
# experiment harness lands this is the 4-process allreduce demo over TCP loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
exec build/experiments/syncbed demo --workers 4 "$@"
