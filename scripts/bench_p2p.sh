#!/usr/bin/env bash
# Point-to-point throughput of the syncbed transport next to iperf3 on loopback, in one
# run: scripts/bench_p2p.sh [ROUNDS]  (default 3; rounds alternate, medians reported)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build >/dev/null
rounds="${1:-3}"
port=5299
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  sleep 0.3
  iperf3 -c 127.0.0.1 -p "$port" -t 5 -J | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/8e9)' >> "$out/iperf3"
  wait
  build/experiments/syncbed bench-p2p --sizes 4M,28M,128M --iters 10 --json "$out/syncbed.$r.json" >/dev/null
done
python3 - "$out" <<'PY'
import json, statistics, sys, glob
out = sys.argv[1]
iperf = statistics.median(float(x) for x in open(f"{out}/iperf3"))
rows = {}
for path in glob.glob(f"{out}/syncbed.*.json"):
    for r in json.load(open(path))["results"]:
        rows.setdefault(r["size"], []).append(r["gbytes_per_s"])
print(f"iperf3 single stream, loopback: {iperf:.2f} GB/s (median of {len(glob.glob(out + '/syncbed.*.json'))} runs of 5 s)")
print(f"{'size':>10} {'syncbed GB/s':>13} {'x iperf3':>9}")
for size in sorted(rows):
    v = statistics.median(rows[size])
    print(f"{size >> 20:>9}M {v:>13.2f} {v / iperf:>9.2f}")
PY
