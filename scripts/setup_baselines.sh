#!/usr/bin/env bash
# Installs the optional peers the comparison scripts measure against: Open MPI, Gloo,
# PyTorch and torchvision (Debian packages). Not needed to build or test syncbed;
# scripts/compare_allreduce.sh and scripts/compare_overlap.sh run it.
set -euo pipefail
exec "$(dirname "$0")/setup.sh" libopenmpi-dev openmpi-bin libgloo-dev python3-torch python3-torchvision
