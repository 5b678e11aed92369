#!/usr/bin/env bash
# Installs the optional peers the comparison scripts measure against: Open MPI and Gloo
# (Debian packages). Not needed to build or test syncbed; scripts/compare_allreduce.sh
# runs it.
set -euo pipefail
exec "$(dirname "$0")/setup.sh" libopenmpi-dev openmpi-bin libgloo-dev
