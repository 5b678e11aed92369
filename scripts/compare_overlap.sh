#!/usr/bin/env bash
# syncbed's strategies with and without overlap next to PyTorch DDP (gloo backend, 25 MB
# buckets) on Inception-v1 with real compute, on this machine, interleaved per round,
# median of rounds:
#   scripts/compare_overlap.sh [ROUNDS] [WORKER COUNTS]
# Defaults: 3 rounds, workers "2". Installs the peer (scripts/setup_baselines.sh); writes
# rows.jsonl (every measurement) and table.txt into $OUTPUT (default results/overlap_vs_ddp).
# $STRATEGIES (JSON) picks syncbed's side (keep a variant without overlap: its compute is
# syncbed's plain compute). Exposed sync is iteration time with sync minus plain compute
# time on both sides, the peer's definition.
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
# Exposed sync the way the peer measures it: iteration time with sync minus the plain
# compute time. DDP times plain iterations itself; syncbed's plain compute is that of its
# runs without overlap at the same N (no communication runs during their compute). With
# overlap, syncbed's own compute_ms includes the slowdown from the communication thread
# sharing the cores, so "own" (iteration - own compute) hides that cost; "vs plain" does not.
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1] + "/rows.jsonl")]
cells = {}
for r in rows:
    if r.get("status", "ok") != "ok":
        continue
    cells.setdefault((r["workers"], r.get("peer") or r["strategy"]), []).append(r)
med = lambda runs, key: statistics.median(r[key] for r in runs)
plain = {}
for (n, name), runs in cells.items():
    if name == "pytorch-ddp" or not name.endswith("-overlap"):
        plain.setdefault((n, name == "pytorch-ddp"), []).extend(runs)
print("%-22s %3s %9s %9s %12s %14s %7s" % ("variant", "N", "iter ms", "compute", "exposed own", "exposed vs plain",
                                           "rounds"))
exposed = {}
for (n, name), runs in sorted(cells.items()):
    base = med(plain[(n, name == "pytorch-ddp")], "compute_ms")
    exposed[(n, name)] = med(runs, "iteration_ms") - base
    print("%-22s %3d %9.1f %9.1f %12.1f %14.1f %7d" % (name, n, med(runs, "iteration_ms"), med(runs, "compute_ms"),
                                                     med(runs, "exposed_sync_ms"), exposed[(n, name)], len(runs)))
for n in sorted({n for n, _ in cells}):
    ours = [name for (m, name) in cells if m == n and name != "pytorch-ddp"]
    if (n, "pytorch-ddp") not in cells or not ours:
        continue
    ddp = exposed[(n, "pytorch-ddp")]
    for name in sorted(ours, key=lambda name: exposed[(n, name)]):
        print("N=%d: %s exposed sync %.1f ms against PyTorch DDP's %.1f ms (%.2fx)" %
              (n, name, exposed[(n, name)], ddp, exposed[(n, name)] / ddp if ddp > 0 else float("inf")))
PY
mv "$output/table.txt.tmp" "$output/table.txt"
