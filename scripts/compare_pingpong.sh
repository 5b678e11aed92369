#!/usr/bin/env bash
# Message latency of syncbed's transport next to Open MPI's over TCP loopback, by
# osu_latency's ping-pong (one-way latency = half a round trip), interleaved per round,
# median of rounds:
#   scripts/compare_pingpong.sh [ROUNDS] [SIZES]
# Defaults: 3 rounds, sizes 8,64,512,4K,16K,64K. Each run reports the median of 10,000
# round trips per size. Installs the peers (scripts/setup_baselines.sh); prints the table
# and the ratio syncbed / Open MPI (target <= 1.2 at 8 B and 4 KiB); writes compare.csv
# into $OUTPUT (default results/pingpong).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
sizes="${2:-8,64,512,4K,16K,64K}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare_pingpong: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
syncbed=build/experiments/syncbed
mpi=build/experiments/bench/baselines/mpi_pingpong_bench
output="${OUTPUT:-results/pingpong}"
scripts/setup_baselines.sh
scripts/build.sh build >/dev/null
[ -x "$mpi" ] || { echo "compare_pingpong: no Open MPI baseline (libopenmpi-dev openmpi-bin)" >&2; exit 1; }
mpirun_tcp=(mpirun -np 2 --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo)
[ "$(id -u)" -eq 0 ] && mpirun_tcp+=(--allow-run-as-root)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One line per measurement: side size one-way-latency-us (both print size first, median third).
for round in $(seq "$rounds"); do
  "$syncbed" bench-p2p --pingpong --sizes "$sizes" | awk '$1 ~ /^[0-9]+$/ {print "syncbed", $1, $3}' >> "$out/all"
  "${mpirun_tcp[@]}" "$mpi" --sizes "$sizes" | awk '$1 ~ /^[0-9]+$/ {print "mpi", $1, $3}' >> "$out/all"
  echo "compare_pingpong: round $round/$rounds done" >&2
done

mkdir -p "$output"
/usr/bin/python3 - "$out/all" "$output" "$rounds" <<'PYTHON'
import collections, os, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, size, latency = line.split()
    runs[(side, int(size))].append(float(latency))
sizes = sorted({size for _, size in runs})
print(f"one-way latency (us), median of {sys.argv[3]} interleaved rounds, TCP loopback")
print(f"{'size(B)':>10} {'syncbed':>10} {'Open MPI':>10} {'ratio':>8}")
csv = "size_bytes,syncbed_us,mpi_us,ratio\n"
for size in sizes:
    ours, theirs = statistics.median(runs[("syncbed", size)]), statistics.median(runs[("mpi", size)])
    goal = "  (target <= 1.20)" if size in (8, 4096) else ""
    print(f"{size:>10} {ours:>10.2f} {theirs:>10.2f} {ours / theirs:>7.2f}x{goal}")
    csv += f"{size},{ours:.3f},{theirs:.3f},{ours / theirs:.4f}\n"
path = os.path.join(sys.argv[2], "compare.csv")
with open(path + ".tmp", "w") as f:
    f.write(csv)
os.replace(path + ".tmp", path)
PYTHON
