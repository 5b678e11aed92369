#!/usr/bin/env bash
# Training throughput of syncbed's models against the identical PyTorch models
# (experiments/bench/baselines/torch_models.py: same layers and parameter counts) in one
# process on the same number of threads, interleaved per round, median of rounds:
#   scripts/compare_models.sh [ROUNDS] [THREADS]
# Defaults: 3 rounds, threads = this machine's cores. Cases: Inception-v1 (224x224, batch
# 32, SGD with momentum) with syncbed on Winograd 3x3 convolutions against PyTorch's
# default NCHW tensors (inception_v1), syncbed on direct convolutions only, as PyTorch has
# no Winograd (inception_v1-direct), and against PyTorch with channels_last tensors
# (inception_v1-channels-last); NCF at ml-20m's shape (batch 2048) with dense Adam
# (MLPerf's reference) and with lazy Adam (syncbed: touched rows only; PyTorch: sparse
# embeddings and SparseAdam). $CASES picks cases, $STEPS the timed steps per run (default
# 5 for Inception-v1, 20 for NCF). After the rounds, each Inception-v1 case runs once more
# on both sides with a per-layer-kind profile (bench-model --profile, torch.profiler) for
# the table profile.txt ($PROFILE=0 skips it). Installs the peers
# (scripts/setup_baselines.sh); writes compare.csv, the printed table (table.txt), the
# profile table and each run's JSON (runs/, profiles/) into $OUTPUT (default results/models).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
threads="${2:-$(nproc)}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare_models: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "compare_models: THREADS must be a positive integer, got '$threads'" >&2; exit 2; }
all_cases="inception_v1 inception_v1-direct inception_v1-channels-last ncf-adam ncf-lazy-adam"
cases="${CASES:-$all_cases}"
for case in $cases; do
  case " $all_cases " in
    *" $case "*) ;;
    *) echo "compare_models: unknown case '$case' ($all_cases)" >&2; exit 2 ;;
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
    inception_v1*) echo "--model inception_v1 --batch 32 --image-size 224 --steps ${STEPS:-5}" ;;
    ncf-adam) echo "--model ncf --batch 2048 --optimizer adam --steps ${STEPS:-20}" ;;
    ncf-lazy-adam) echo "--model ncf --batch 2048 --optimizer lazy-adam --steps ${STEPS:-20}" ;;
  esac
}

# What only one side takes, per case.
syncbed_options() { [ "$1" = inception_v1-direct ] && echo "--conv direct" || true; }
pytorch_options() { [ "$1" = inception_v1-channels-last ] && echo "--channels-last" || true; }

# One run of a case on both sides: $1 case, $2 JSON path prefix, then extra options.
run_case() {
  local case=$1 prefix=$2
  shift 2
  read -ra options <<< "$(case_options "$case")"
  read -ra own <<< "$(syncbed_options "$case")"
  "$syncbed" bench-model "${options[@]}" "${own[@]}" "$@" --threads "$threads" --warmup 2 \
    --json "${prefix}_syncbed.json" > "$out/log"
  read -ra own <<< "$(pytorch_options "$case")"
  /usr/bin/python3 "$torch_bench" "${options[@]}" "${own[@]}" "$@" --threads "$threads" --warmup 2 \
    --json "${prefix}_pytorch.json" > "$out/log"
}

# One JSON result per run: $out/runs/ROUND_CASE_SIDE.json.
mkdir "$out/runs" "$out/profiles"
for round in $(seq "$rounds"); do
  for case in $cases; do
    run_case "$case" "$out/runs/${round}_${case}"
  done
  echo "compare_models: round $round/$rounds done" >&2
done
if [ "${PROFILE:-1}" != 0 ]; then
  for case in $cases; do
    if [[ "$case" == inception_v1* ]]; then run_case "$case" "$out/profiles/$case" --profile; fi
  done
  echo "compare_models: profiles done" >&2
fi

mkdir -p "$output"
/usr/bin/python3 scripts/models_table.py "$out/runs" "$output" "$out/profiles"
# The raw results beside the tables, replacing an earlier run's as a whole.
for dir in runs profiles; do
  rm -rf "$output/$dir.old"
  [ -d "$output/$dir" ] && mv "$output/$dir" "$output/$dir.old"
  mv "$out/$dir" "$output/$dir"
  rm -rf "$output/$dir.old"
done
