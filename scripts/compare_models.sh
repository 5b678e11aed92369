#!/usr/bin/env bash
# Training throughput of syncbed's models against the identical PyTorch models
# (experiments/bench/baselines/torch_models.py: same layers and parameter counts) in one
# process on the same number of threads, interleaved per round, median of rounds:
#   scripts/compare_models.sh [ROUNDS] [THREADS]
# Defaults: 3 rounds, threads = this machine's cores. Cases: Inception-v1 (224x224, batch
# 32, SGD with momentum), NCF at ml-20m's shape (batch 2048) with dense Adam (MLPerf's
# reference) and with lazy Adam (syncbed: touched rows only; PyTorch: sparse embeddings
# and SparseAdam). $CASES picks cases (inception_v1 ncf-adam ncf-lazy-adam), $STEPS the
# timed steps per run (default 5 for Inception-v1, 20 for NCF). Installs the peers
# (scripts/setup_baselines.sh); writes compare.csv, the printed table (table.txt) and each
# run's JSON (runs/) into $OUTPUT (default results/models).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
threads="${2:-$(nproc)}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare_models: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "compare_models: THREADS must be a positive integer, got '$threads'" >&2; exit 2; }
cases="${CASES:-inception_v1 ncf-adam ncf-lazy-adam}"
for case in $cases; do
  case "$case" in
    inception_v1 | ncf-adam | ncf-lazy-adam) ;;
    *) echo "compare_models: unknown case '$case' (inception_v1 ncf-adam ncf-lazy-adam)" >&2; exit 2 ;;
  esac
done
scripts/setup_baselines.sh
scripts/build.sh build >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

syncbed=build/experiments/syncbed
torch_bench=experiments/bench/baselines/torch_model_bench.py
output="${OUTPUT:-results/models}"

# The model options both benchmarks take, per case.
case_options() {
  case "$1" in
    inception_v1) echo "--model inception_v1 --batch 32 --image-size 224 --steps ${STEPS:-5}" ;;
    ncf-adam) echo "--model ncf --batch 2048 --optimizer adam --steps ${STEPS:-20}" ;;
    ncf-lazy-adam) echo "--model ncf --batch 2048 --optimizer lazy-adam --steps ${STEPS:-20}" ;;
  esac
}

# One JSON result per run: $out/runs/ROUND_CASE_SIDE.json.
mkdir "$out/runs"
for round in $(seq "$rounds"); do
  for case in $cases; do
    read -ra options <<< "$(case_options "$case")"
    "$syncbed" bench-model "${options[@]}" --threads "$threads" --warmup 2 \
      --json "$out/runs/${round}_${case}_syncbed.json" > "$out/log"
    /usr/bin/python3 "$torch_bench" "${options[@]}" --threads "$threads" --warmup 2 \
      --json "$out/runs/${round}_${case}_pytorch.json" > "$out/log"
  done
  echo "compare_models: round $round/$rounds done" >&2
done

mkdir -p "$output"
/usr/bin/python3 scripts/models_table.py "$out/runs" "$output"
# The raw results beside the table, replacing an earlier run's as a whole.
rm -rf "$output/runs.old"
[ -d "$output/runs" ] && mv "$output/runs" "$output/runs.old"
mv "$out/runs" "$output/runs"
rm -rf "$output/runs.old"
