#!/usr/bin/env bash
# syncbed's strategies with and without overlap next to PyTorch DDP (gloo backend, 25 MB
# buckets) on Inception-v1 with real compute, on this machine, interleaved per round,
# median of rounds:
#   scripts/compare_overlap.sh [ROUNDS] [WORKER COUNTS]
# Defaults: 3 rounds, workers "2". Installs the peer (scripts/setup_baselines.sh); writes
# rows.jsonl (every measurement) and table.txt into $OUTPUT (default results/overlap_vs_ddp).
# $STRATEGIES (JSON) picks syncbed's side. Exposed sync is iteration time minus compute
# time on both sides.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
worker_counts="${2:-2}"
strategies="${STRATEGIES:-[\"ring\",{\"name\":\"ring\",\"overlap\":true},\"sharded\",{\"name\":\"sharded\",\"overlap\":true}]}"
output="${OUTPUT:-results/overlap_vs_ddp}"
scripts/setup.sh
scripts/setup_baselines.sh
scripts/build.sh build >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$output"

for round in $(seq "$rounds"); do
  for n in $worker_counts; do
    echo "round $round/$rounds, N=$n: PyTorch DDP"
    experiments/bench/baselines/ddp_overlap.py --workers "$n" --iterations 4 --rounds 1 --output "$out/ddp.jsonl"
    echo "round $round/$rounds, N=$n: syncbed"
    build/experiments/syncbed run configs/overlap.json --no-plot --set compute=real --set "workers=[$n]" \
      --set "strategies=$strategies" --set iterations=4 --set warmup=1 --set "output=$out/syncbed" >/dev/null
    cat "$out/syncbed/summary.jsonl" >> "$out/syncbed.jsonl"
  done
done
cat "$out/ddp.jsonl" "$out/syncbed.jsonl" > "$output/rows.jsonl.tmp"
mv "$output/rows.jsonl.tmp" "$output/rows.jsonl"
python3 - "$output" <<'PY' | tee "$output/table.txt.tmp"
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1] + "/rows.jsonl")]
cells = {}
for r in rows:
    if r.get("status", "ok") != "ok":
        continue
    name = r.get("peer") or r["strategy"]
    cells.setdefault((r["workers"], name), []).append(r)
print("%-20s %3s %10s %10s %10s %7s" % ("variant", "N", "iter ms", "compute", "exposed", "rounds"))
for (n, name), runs in sorted(cells.items()):
    med = lambda key: statistics.median(r[key] for r in runs)
    print("%-20s %3d %10.1f %10.1f %10.1f %7d" % (name, n, med("iteration_ms"), med("compute_ms"),
                                                 med("exposed_sync_ms"), len(runs)))
for n in sorted({n for n, _ in cells}):
    ddp = cells.get((n, "pytorch-ddp"))
    ours = {name: runs for (m, name), runs in cells.items() if m == n and name != "pytorch-ddp"}
    if not ddp or not ours:
        continue
    best = min(ours, key=lambda name: statistics.median(r["exposed_sync_ms"] for r in ours[name]))
    ratio = statistics.median(r["exposed_sync_ms"] for r in ours[best]) / statistics.median(
        r["exposed_sync_ms"] for r in ddp)
    print("N=%d: best syncbed variant %s, exposed sync %.2fx PyTorch DDP's" % (n, best, ratio))
PY
mv "$output/table.txt.tmp" "$output/table.txt"
