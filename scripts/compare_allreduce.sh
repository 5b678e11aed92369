#!/usr/bin/env bash
# syncbed's strategies next to the Open MPI baseline (when built), interleaved, median of
# rounds, with ratios against MPI: scripts/compare_allreduce.sh [ROUNDS] [SIZES] [WORKER COUNTS]
# defaults: 3 rounds, 4M,28M, workers "2 4". Writes results/allreduce/compare.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
sizes="${2:-4M,28M}"
worker_counts="${3:-2 4}"
scripts/setup.sh
scripts/build.sh build >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

mpi=build/experiments/baselines/mpi_allreduce_bench
mpirun_tcp=(mpirun --oversubscribe --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo)
[ "$(id -u)" -eq 0 ] && mpirun_tcp+=(--allow-run-as-root)
[ -x "$mpi" ] || echo "compare: Open MPI baseline not built (install libopenmpi-dev openmpi-bin); comparing syncbed only"

# One line per measurement: variant workers size busbw
for round in $(seq "$rounds"); do
  for n in $worker_counts; do
    for variant in ring sharded sharded-bf16 mpi; do
      case "$variant" in
        mpi) [ -x "$mpi" ] || continue
             "${mpirun_tcp[@]}" -np "$n" "$mpi" --sizes "$sizes" --iters 10 > "$out/run" ;;
        sharded-bf16) build/experiments/syncbed bench-allreduce --workers "$n" --strategy sharded --compression bf16 \
                        --sizes "$sizes" --iters 10 > "$out/run" ;;
        *) build/experiments/syncbed bench-allreduce --workers "$n" --strategy "$variant" --sizes "$sizes" \
             --iters 10 > "$out/run" ;;
      esac
      awk -v v="$variant" -v n="$n" '!/^#/ && $1 ~ /^[0-9]+$/ {print v, n, $1, $7}' "$out/run" >> "$out/all"
    done
  done
  echo "compare: round $round/$rounds done" >&2
done

mkdir -p results/allreduce
python3 - "$out/all" results/allreduce/compare.csv <<'PY'
import collections, statistics, sys, os
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    variant, n, size, busbw = line.split()
    rows[(variant, int(n), int(size))].append(float(busbw))
median = {k: statistics.median(v) for k, v in rows.items()}
keys = sorted({(n, size) for (_, n, size) in median})
variants = [v for v in ("ring", "sharded", "sharded-bf16", "mpi") if any(k[0] == v for k in median)]
print(f"busbw GB/s, median of {max(len(v) for v in rows.values())} interleaved rounds; ratio = x mpi")
print(f"{'N':>3} {'size':>8} " + " ".join(f"{v:>13}" for v in variants))
tmp = sys.argv[2] + ".tmp"
with open(tmp, "w") as csv:
    csv.write("workers,size_bytes," + ",".join(f"{v}_busbw_gbps" for v in variants) + "\n")
    for n, size in keys:
        mpi = median.get(("mpi", n, size))
        cells = []
        for v in variants:
            value = median.get((v, n, size))
            ratio = f" ({value / mpi:.2f}x)" if mpi and value and v != "mpi" else ""
            cells.append(f"{value:.2f}{ratio}" if value else "-")
        print(f"{n:>3} {size >> 20:>7}M " + " ".join(f"{c:>13}" for c in cells))
        csv.write(f"{n},{size}," + ",".join(f"{median.get((v, n, size), float('nan')):.4f}" for v in variants) + "\n")
os.replace(tmp, sys.argv[2])
PY
