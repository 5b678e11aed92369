#!/usr/bin/env python3
"""Renders the merged trace of a syncbed results directory headless: each run's median timed
iteration (as plot.py's timeline.png picks it), drawn by scripts/trace_viewer.html in Debian's
Chromium, screenshotted to a PNG.

usage: scripts/render_trace.py RESULTS_DIR [--sync] [--out PNG]   (default RESULTS_DIR/trace_view.png)

Chromium comes from `apt-get install chromium` (scripts/setup_baselines.sh installs it)."""
import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot import median_iteration, trace_path, trace_runs  # noqa: E402

VIEWER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trace_viewer.html")
WIDTH = 1600  # the viewer's canvas width


def one_iteration_per_run(trace, sync_only=False):
    """The trace cut to each run's median timed iteration: its complete events, and the
    messages of the run's ranks that start within their span; with sync_only, the span
    starts where the first event other than compute does (the end of compute, or with
    overlap the first bucket)."""
    kept_runs, kept = [], [e for e in trace["traceEvents"] if e.get("ph") == "M"]
    events_by_pid = {}
    for e in trace["traceEvents"]:
        if e.get("ph") != "M":
            events_by_pid.setdefault(e["pid"], []).append(e)
    for run, (_, ranks, _) in zip(trace["syncbed"]["runs"], trace_runs(trace)):
        iteration = median_iteration(ranks)
        if iteration is None:
            continue
        chosen = [e for _, evs in ranks.values() for e in evs if e["args"]["iteration"] == iteration]
        begin, end = min(e["ts"] for e in chosen), max(e["ts"] + e["dur"] for e in chosen)
        if sync_only:
            begin = min(e["ts"] for e in chosen if e["name"] != "compute")
        kept += [e for e in chosen if e["ts"] + e["dur"] >= begin]
        for pid in ranks:
            kept += [e for e in events_by_pid.get(pid, []) if e["ph"] != "X" and begin <= e["ts"] <= end]
        kept_runs.append(dict(run, iteration=iteration, window=[begin, end]))
    return {"traceEvents": kept, "syncbed": {"runs": kept_runs}}


def rows_in(trace):
    return len({(e["pid"], e["tid"]) for e in trace["traceEvents"] if e.get("ph") in ("X", "b")})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="a results directory holding trace.json or trace.json.gz")
    parser.add_argument("--out", help="the PNG to write (default RESULTS/trace_view.png)")
    parser.add_argument("--sync", action="store_true",
                        help="show each iteration from the end of compute (or the first overlap bucket) on")
    args = parser.parse_args()
    path = trace_path(args.results)
    if path is None:
        sys.exit("render_trace: %s holds no trace.json[.gz] (run a config with \"trace\": true)" % args.results)
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("render_trace: no chromium on PATH (apt-get install chromium, or scripts/setup_baselines.sh)")
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        trace = one_iteration_per_run(json.load(f), args.sync)
    if not trace["syncbed"]["runs"]:
        sys.exit("render_trace: %s has no timed iteration every rank traced" % path)
    out = os.path.abspath(args.out or os.path.join(args.results, "trace_view.png"))
    if os.path.exists(out) and not os.path.isfile(out):  # a device, say: a rename would replace it
        sys.exit("render_trace: --out %s exists and is not a regular file" % out)
    # The viewer's layout: a title and an axis per run, a row per thread, a legend.
    height = sum(26 + 28 for _ in trace["syncbed"]["runs"]) + 22 * rows_in(trace) + 30
    with tempfile.TemporaryDirectory(prefix="syncbed-render-") as page:
        shutil.copy(VIEWER, os.path.join(page, "index.html"))
        with open(os.path.join(page, "trace_data.js"), "w") as f:
            f.write("window.SYNCBED_TRACE = %s;\n" % json.dumps(trace))
        partial = os.path.join(page, "shot.png")
        subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--user-data-dir=" + os.path.join(page, "profile"), "--window-size=%d,%d" % (WIDTH, height),
                        "--screenshot=" + partial, "file://" + os.path.join(page, "index.html")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        shutil.move(partial, out + ".tmp")
    os.replace(out + ".tmp", out)  # never leave a half-written picture
    print("render_trace: wrote %s (%d runs)" % (out, len(trace["syncbed"]["runs"])))


if __name__ == "__main__":
    main()
