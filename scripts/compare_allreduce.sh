#!/usr/bin/env bash
# Every registered syncbed strategy (plus sharded with bf16) next to Open MPI, Gloo and
# PyTorch's gloo backend (torch.distributed.all_reduce), interleaved per round, median of rounds
# (busbw, and the CPU time and context switches one allreduce costs all ranks together):
#   scripts/compare_allreduce.sh [ROUNDS] [SIZES] [WORKER COUNTS]
# Defaults: 3 rounds, sizes 4M,28M,128M, workers "2 4". Installs the peers
# (scripts/setup_baselines.sh), prints busbw, the target ratios and the CPU cost; writes
# compare.csv, targets.csv, cost.csv and compare.png into $OUTPUT (default results/allreduce). $VARIANTS picks
# what runs (default: every registered strategy, sharded-bf16 and every peer), e.g.
#   VARIANTS="halving_doubling ring mpi gloo-halving-doubling" OUTPUT=results/halving_doubling \
#     scripts/compare_allreduce.sh 5 64K,1M,4M,28M "2 3 4 5 6 7 8"
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
sizes="${2:-4M,28M,128M}"
worker_counts="${3:-2 4}"
scripts/setup_baselines.sh
scripts/build.sh build >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

syncbed=build/experiments/syncbed
mpi=build/experiments/bench/baselines/mpi_allreduce_bench
gloo=build/experiments/bench/baselines/gloo_allreduce_bench
mpirun_tcp=(mpirun --oversubscribe --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo)
[ "$(id -u)" -eq 0 ] && mpirun_tcp+=(--allow-run-as-root)
output="${OUTPUT:-results/allreduce}"
torch_bench=experiments/bench/baselines/torch_allreduce_bench.py
variants="${VARIANTS:-$("$syncbed" strategies --names | tr '\n' ' ')sharded-bf16 mpi gloo-ring-chunked gloo-halving-doubling pytorch-gloo}"
# A peer that did not build is left out, with the reason.
available=""
for variant in $variants; do
  case "$variant" in
    mpi) [ -x "$mpi" ] || { echo "compare: no Open MPI baseline (libopenmpi-dev openmpi-bin)"; continue; } ;;
    gloo-*) [ -x "$gloo" ] || { echo "compare: no Gloo baseline (libgloo-dev)"; continue; } ;;
    pytorch-gloo) /usr/bin/python3 -c 'import torch' 2>/dev/null ||
                    { echo "compare: no PyTorch baseline (python3-torch)"; continue; } ;;
  esac
  available+=" $variant"
done
variants=$available

# Gloo has no launcher: N processes with RANK/WORLD_SIZE and a shared file store.
run_gloo() {
  local algorithm=$1 n=$2 store pids=()
  store=$(mktemp -d -p "$out")
  for rank in $(seq 0 $((n - 1))); do
    RANK=$rank WORLD_SIZE=$n "$gloo" --algorithm "$algorithm" --store "$store" --sizes "$sizes" --iters 10 \
      > "$out/gloo.$rank" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  cat "$out/gloo.0"
}

run_variant() {
  local variant=$1 n=$2
  case "$variant" in
    mpi) "${mpirun_tcp[@]}" -np "$n" "$mpi" --sizes "$sizes" --iters 10 ;;
    gloo-ring-chunked) run_gloo ring_chunked "$n" ;;
    gloo-halving-doubling) run_gloo halving_doubling "$n" ;;
    pytorch-gloo) /usr/bin/python3 "$torch_bench" --workers "$n" --sizes "$sizes" --iters 10 ;;
    sharded-bf16) "$syncbed" bench-allreduce --workers "$n" --strategy sharded --compression bf16 --sizes "$sizes" \
                    --iters 10 ;;
    *) "$syncbed" bench-allreduce --workers "$n" --strategy "$variant" --sizes "$sizes" --iters 10 ;;
  esac
}

# One line per measurement: variant workers size busbw cpu-ms context-switches (the last
# two per allreduce, all ranks together)
for round in $(seq "$rounds"); do
  for n in $worker_counts; do
    for variant in $variants; do
      run_variant "$variant" "$n" > "$out/run"
      awk -v v="$variant" -v n="$n" '!/^#/ && $1 ~ /^[0-9]+$/ {print v, n, $1, $7, $9, $10}' "$out/run" >> "$out/all"
    done
  done
  echo "compare: round $round/$rounds done" >&2
done

mkdir -p "$output"
# Debian's python3 has python3-matplotlib; a python3 earlier on PATH (pyenv, venv) may not.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" scripts/allreduce_table.py "$out/all" "$output"
