#!/usr/bin/env bash
# Fuzzes the frame and control-message decoders with libFuzzer for a bounded time:
# scripts/fuzz.sh [SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
seconds="${1:-60}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DSYNCBED_FUZZ=ON -DSYNCBED_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz --target frame_decoder_fuzz
mkdir -p build-fuzz/corpus
build-fuzz/tests/frame_decoder_fuzz -max_total_time="$seconds" -print_final_stats=1 build-fuzz/corpus
