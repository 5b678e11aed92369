#!/usr/bin/env bash
# What tracing costs: configs/timeline.json (N = 4, ring, sharded, ring with overlap) with
# "trace" off, "phases" and "messages", interleaved per round; prints each mode's median
# iteration time per strategy (median of rounds) and its ratio to the untraced run.
#   scripts/compare_trace_overhead.sh [ROUNDS]     (default 3; calibrates the config first)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare_trace_overhead: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
scripts/setup.sh
scripts/build.sh build >/dev/null
syncbed=build/experiments/syncbed
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$syncbed" calibrate configs/timeline.json --set output="$out/calibrated" >/dev/null

for round in $(seq "$rounds"); do
  for mode in false '"phases"' '"messages"'; do
    dir="$out/$round-${mode//\"/}"
    mkdir -p "$dir"
    cp "$out/calibrated/calibration.json" "$dir/"
    "$syncbed" run configs/timeline.json --no-plot --set output="$dir" --set "trace=$mode" >"$dir.log" 2>&1 ||
      { cat "$dir.log" >&2; exit 1; }
  done
  echo "compare_trace_overhead: round $round/$rounds done" >&2
done

/usr/bin/python3 - "$out" <<'PYTHON'
import collections, glob, json, os, statistics, sys
iteration = collections.defaultdict(list)  # (mode, strategy) -> median iteration ms per round
for path in glob.glob(os.path.join(sys.argv[1], "*-*", "summary.jsonl")):
    mode = os.path.basename(os.path.dirname(path)).split("-", 1)[1]
    for line in open(path):
        s = json.loads(line)
        iteration[(mode, s["strategy"])].append(s["iteration_ms"])
strategies = sorted({strategy for _, strategy in iteration})
print("median iteration ms (median of rounds), N = 4; ratio to trace off")
print(f"{'strategy':<16} {'off':>9} {'phases':>9} {'ratio':>7} {'messages':>9} {'ratio':>7}")
for strategy in strategies:
    off, phases, messages = (statistics.median(iteration[(m, strategy)]) for m in ("false", "phases", "messages"))
    print(f"{strategy:<16} {off:>9.1f} {phases:>9.1f} {phases / off:>7.3f} {messages:>9.1f} {messages / off:>7.3f}")
PYTHON
