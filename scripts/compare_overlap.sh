#!/usr/bin/env bash
# syncbed's strategies with and without overlap next to PyTorch DDP (gloo backend) on
# Inception-v1 at batch 32, on this machine, interleaved per round, median of rounds:
#   scripts/compare_overlap.sh [ROUNDS] [WORKER COUNTS] [RATE]
# Defaults: 3 rounds, workers "2 4", loopback. With RATE (e.g. 1gbit; root) both sides run
# on an emulated cluster with links of that rate (configs/overlap_netns.json; the peer in
# a cluster of scripts/netns_cluster.sh, removed on exit).
# $COMPUTE: "emulated" (default: both sides sleep through the calibrated Inception-v1 of the
# config's calibration.json and release each layer's gradients on the same schedule, so N
# can exceed the cores; calibrates first if it is missing) or "real" (syncbed's oneDNN
# Inception-v1 against torchvision's GoogLeNet). $DDP_BUCKETS: DDP's bucket_cap_mb values
# (default "25 5"). $STRATEGIES (JSON) picks syncbed's side. Writes rows.jsonl (every
# measurement) and table.txt into $OUTPUT (default results/overlap_vs_ddp, or
# results/overlap_vs_ddp_RATE). Exposed sync is iteration time with sync minus compute time
# on both sides, the peer's definition.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
worker_counts="${2:-2 4}"
rate="${3:-}"
compute="${COMPUTE:-emulated}"
ddp_buckets="${DDP_BUCKETS:-25 5}"
default_strategies='["ring",{"name":"ring","overlap":true},"sharded",{"name":"sharded","overlap":true},{"name":"halving_doubling","overlap":true},{"name":"ps","overlap":true}]'
strategies="${STRATEGIES:-$default_strategies}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare_overlap.sh: ROUNDS must be a positive number" >&2; exit 2; }
[[ "$worker_counts" =~ ^[0-9\ ]+$ ]] || { echo "compare_overlap.sh: WORKER COUNTS must be numbers" >&2; exit 2; }
[[ -z "$rate" || "$rate" =~ ^[0-9]+(\.[0-9]+)?[kmgt]?bit$ ]] || { echo "compare_overlap.sh: RATE must look like 1gbit" >&2; exit 2; }
[[ "$compute" = emulated || "$compute" = real ]] || { echo "compare_overlap.sh: COMPUTE must be emulated or real" >&2; exit 2; }
[[ "$ddp_buckets" =~ ^[0-9.\ ]+$ ]] || { echo "compare_overlap.sh: DDP_BUCKETS must be numbers" >&2; exit 2; }
if [ -n "$rate" ]; then
  config=configs/overlap_netns.json
  name="overlap_netns_$rate"
  output="${OUTPUT:-results/overlap_vs_ddp_$rate}"
else
  config=configs/overlap.json
  name=overlap
  output="${OUTPUT:-results/overlap_vs_ddp}"
fi
settings=(--set "name=$name" --set "strategies=$strategies" --set iterations=6 --set warmup=2)
[ -z "$rate" ] || settings+=(--set "network.rate=$rate")
[ "$compute" = emulated ] || settings+=(--set compute=real)
scripts/setup_baselines.sh
scripts/build.sh build >/dev/null
syncbed=build/experiments/syncbed
calibration="results/$name/calibration.json"
if [ "$compute" = emulated ] && [ ! -f "$calibration" ]; then
  "$syncbed" calibrate "$config" --set "name=$name"
fi
out=$(mktemp -d)
cluster=ddpov
cleanup() {
  [ -z "$rate" ] || scripts/netns_cluster.sh down --name "$cluster" >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT
mkdir -p "$output"

peer() {  # N BUCKET_MB
  local args=(--workers "$1" --bucket-mb "$2" --iterations 6 --rounds 1 --output "$out/ddp.jsonl")
  [ "$compute" = real ] || args+=(--calibration "$calibration")
  if [ -n "$rate" ]; then
    scripts/netns_cluster.sh up "$1" --rate "$rate" --name "$cluster" >/dev/null
    args+=(--netns "$cluster")
  fi
  experiments/bench/baselines/ddp_overlap.py "${args[@]}"
  [ -z "$rate" ] || scripts/netns_cluster.sh down --name "$cluster"
}

for round in $(seq "$rounds"); do
  for n in $worker_counts; do
    for bucket in $ddp_buckets; do
      echo "round $round/$rounds, N=$n: PyTorch DDP, $bucket MB buckets"
      peer "$n" "$bucket"
    done
    echo "round $round/$rounds, N=$n: syncbed"
    run="$out/syncbed-$round-$n"
    mkdir -p "$run"
    [ "$compute" = real ] || cp "$calibration" "$run/"
    "$syncbed" run "$config" --no-plot "${settings[@]}" --set "workers=[$n]" --set "output=$run" >/dev/null
    cat "$run/summary.jsonl" >>"$out/syncbed.jsonl"
  done
done
cat "$out/ddp.jsonl" "$out/syncbed.jsonl" >"$output/rows.jsonl.tmp"
mv "$output/rows.jsonl.tmp" "$output/rows.jsonl"
python3 - "$output" <<'PY' | tee "$output/table.txt.tmp"
# Exposed sync the way the peer measures it: iteration time with sync minus plain compute
# time. DDP times plain iterations itself; syncbed's plain compute is that of its runs
# without overlap at the same N (no communication runs during their compute). With
# overlap, syncbed's own compute_ms includes any slowdown from the communication thread
# sharing the cores, so "own" (iteration - own compute) hides that cost; "vs plain" does not.
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1] + "/rows.jsonl")]
cells = {}
for r in rows:
    if r.get("status", "ok") != "ok":
        continue
    name = "pytorch-ddp-%gmb" % r["bucket_mb"] if r.get("peer") else r["strategy"]
    cells.setdefault((r["workers"], name), []).append(r)
med = lambda runs, key: statistics.median(r[key] for r in runs)
plain = {}
for (n, name), runs in cells.items():
    if not name.endswith("-overlap"):
        plain.setdefault((n, name if name.startswith("pytorch") else "syncbed"), []).extend(runs)
plain_of = lambda n, name: plain.get((n, name if name.startswith("pytorch") else "syncbed"))
print("%-26s %3s %9s %9s %12s %16s %7s" % ("variant", "N", "iter ms", "compute", "exposed own", "exposed vs plain",
                                           "rounds"))
exposed = {}
for (n, name), runs in sorted(cells.items()):
    base = plain_of(n, name)
    vs_plain = med(runs, "iteration_ms") - med(base, "compute_ms") if base else float("nan")
    exposed[(n, name)] = med(runs, "exposed_sync_ms")
    print("%-26s %3d %9.1f %9.1f %12.1f %16.1f %7d" % (name, n, med(runs, "iteration_ms"), med(runs, "compute_ms"),
                                                       exposed[(n, name)], vs_plain, len(runs)))
for n in sorted({n for n, _ in cells}):
    peers = sorted(name for (m, name) in cells if m == n and name.startswith("pytorch"))
    ours = sorted((name for (m, name) in cells if m == n and not name.startswith("pytorch")),
                  key=lambda name: exposed[(n, name)])
    for peer in peers:
        ddp = exposed[(n, peer)]
        for name in ours:
            print("N=%d: %s exposed sync %.1f ms against %s's %.1f ms (%.2fx)" %
                  (n, name, exposed[(n, name)], peer, ddp, exposed[(n, name)] / ddp if ddp > 0 else float("inf")))
PY
mv "$output/table.txt.tmp" "$output/table.txt"
