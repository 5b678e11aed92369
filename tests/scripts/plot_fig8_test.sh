#!/usr/bin/env bash
# scripts/plot_fig8.py on known inputs: measured overheads come from the runs' summaries
# (task-model runs only), simulated ones are driver_ms / compute_ms, and the seed's values
# sit beside them in the table; the plot files are written. A directory without task-model
# runs is refused with its name.
# usage: plot_fig8_test.sh SOURCE_DIR
set -euo pipefail
script=$1/scripts/plot_fig8.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/measured" "$work/simulated"
cat >"$work/measured/summary.jsonl" <<'JSON'
{"strategy": "sharded", "workers": 2, "status": "ok"}
{"strategy": "sharded-tasks", "workers": 2, "status": "ok", "scheduling_overhead": 0.011}
{"strategy": "sharded-tasks", "workers": 16, "status": "ok", "scheduling_overhead": 0.052}
{"strategy": "sharded-tasks", "workers": 8, "status": "failed", "scheduling_overhead": 0.9}
JSON
cat >"$work/simulated/simulated.jsonl" <<'JSON'
{"strategy": "bigdl-spark", "workers": 16, "driver_ms": 64, "compute_ms": 500}
{"strategy": "bigdl-spark", "workers": 450, "driver_ms": 1000, "compute_ms": 500}
{"strategy": "no-scheduler", "workers": 16, "driver_ms": 0, "compute_ms": 500}
JSON
/usr/bin/python3 "$script" --measured "$work/measured" --simulated "$work/simulated" >"$work/out.txt"
table=$work/simulated/fig8.md
check() { grep -qF -- "$1" "$table" || { echo "fig8.md lacks '$1':"; cat "$table"; exit 1; }; }
check "| tasks per job | measured sharded-tasks | simulated bigdl-spark | seed, no grouping | seed, grouped |"
check "| 2 | 1.10% |  |  |  |"
check "| 16 | 5.20% | 12.80% |  |  |"
check "| 450 |  | 200.00% | 11.00% |  |"
check "| 680 |  |  |  | 1.20% |"
if grep -q "no-scheduler\|0.90\|90.00" "$table"; then echo "fig8.md has a run it should leave out"; exit 1; fi
for f in fig8.png fig8.svg; do [ -s "$work/simulated/$f" ] || { echo "no $f"; exit 1; }; done
if /usr/bin/python3 "$script" --measured "$work/simulated" --simulated "$work/simulated" 2>"$work/err"; then
  echo "a directory without task-model runs was accepted"; exit 1
fi
grep -q "summary.jsonl" "$work/err" || { cat "$work/err"; exit 1; }
echo "plot_fig8 test: ok"
