#!/usr/bin/env bash
# Installs what syncbed needs (scripts/setup.sh) and the optional peers the comparison
# scripts measure against (Debian packages): Open MPI, Gloo, PyTorch and torchvision, and
# OpenBLAS, without which PyTorch loads Debian's reference BLAS and its baselines would be
# slow for the wrong reason; and Chromium, which scripts/render_trace.py draws traces in.
# Not needed to build or test syncbed; scripts/compare_allreduce.sh, compare_models.sh and
# compare_overlap.sh run it.
set -euo pipefail
"$(dirname "$0")/setup.sh"
exec "$(dirname "$0")/setup.sh" libopenmpi-dev openmpi-bin libgloo-dev python3-torch python3-torchvision \
  libopenblas0-pthread chromium fonts-liberation
