#!/usr/bin/env bash
# The headless rendering of a trace (scripts/render_trace.py, scripts/trace_viewer.html in
# Debian's Chromium): a 3-rank traced run is drawn, and the picture has the viewer's size
# and the colours of compute and of the sharded phases in it (a page whose script failed
# would be blank). Exit 77 (skipped) without chromium; scripts/test.sh installs it as root.
# usage: render_trace_test.sh SYNCBED_BINARY SOURCE_DIR
set -euo pipefail
syncbed=$1
source_dir=$2
if ! command -v chromium >/dev/null; then
  echo "render trace test: skipped (no chromium; apt-get install chromium)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/config.json" <<JSON
{"name": "render", "model": {"name": "ncf", "batch": 128},
 "data": {"kind": "synthetic", "users": 500, "items": 300},
 "strategies": ["sharded"], "workers": [3], "iterations": 4, "warmup": 1, "threads": 1,
 "trace": "messages", "output": "$work/out"}
JSON
"$syncbed" run --no-plot "$work/config.json" >"$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
/usr/bin/python3 "$source_dir/scripts/render_trace.py" "$work/out" --sync --out "$work/view.png"
/usr/bin/python3 - "$work/view.png" <<'PY'
import sys
import matplotlib.image
pixels = matplotlib.image.imread(sys.argv[1])[:, :, :3]
height, width = pixels.shape[:2]
assert width == 1600, "width %d" % width
# One run: a title, 3 rows (one thread per rank), an axis, the legend.
assert height == 26 + 3 * 22 + 28 + 30, "height %d" % height
colours = {tuple(int(round(c * 255)) for c in p) for p in pixels.reshape(-1, 3)[::3]}
# scripts/trace_viewer.html's colours for compute and the sharded phases.
for name, rgb in {"compute": (0xf2, 0x8e, 0x2b), "shuffle": (0x59, 0xa1, 0x4f), "broadcast": (0xb0, 0x7a, 0xa1)}.items():
    assert rgb in colours, "no %s colour %s in the picture" % (name, rgb)
print("render trace test: ok (%dx%d, %d colours)" % (width, height, len(colours)))
PY
