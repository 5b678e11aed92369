#!/usr/bin/python3
"""The BigDL paper's Fig. 8 rebuilt: task scheduling overhead as a fraction of compute vs tasks.

usage: scripts/plot_fig8.py [--simulated DIR] [--measured DIR] [--out DIR]

Three sources side by side, per number of tasks per job (BigDL runs one task per node per
job, two jobs per iteration, so this is also the number of nodes or executors):
  measured   `syncbed run configs/tasks_scheduling.json` (--measured, default
             results/tasks_scheduling): the task model's driver and executors on this
             machine, scheduling_overhead per run, without grouping and with groups 2 and 8
  simulated  `syncbed simulate configs/paper_fig8.json` (--simulated, default
             results/paper_fig8): driver_ms / compute_ms per strategy and N
  seed       the paper's Fig. 8 as the seed slides give it (from the Drizzle blog), read off
             the chart: ~3.6% at ~5 tasks, ~8% at ~200, ~11% at ~450 without group
             scheduling; ~1.2% flat to ~680 tasks with it
Writes fig8.png, fig8.svg and fig8.md (the table, also printed) into --out (default: the
simulated directory). Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json
import os
import sys

# The seed's values (digitized, approximate), tasks -> percent of compute.
SEED_SPARK = {5: 3.6, 200: 8.0, 450: 11.0}
SEED_GROUPED = {5: 1.2, 680: 1.2}


def read_jsonl(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        sys.exit(f"plot_fig8.py: {e.filename}: {e.strerror}")


def measured_overheads(directory):
    """strategy label -> {N: percent}, for the runs that ran tasks."""
    curves = {}
    for summary in read_jsonl(os.path.join(directory, "summary.jsonl")):
        if summary.get("status") == "ok" and summary.get("scheduling_overhead") is not None:
            curves.setdefault(summary["strategy"], {})[summary["workers"]] = 100 * summary["scheduling_overhead"]
    if not curves:
        sys.exit(f"plot_fig8.py: {directory}/summary.jsonl has no task-model runs")
    return curves


def simulated_overheads(directory):
    """strategy label -> {N: percent}, scheduling over compute per iteration."""
    curves = {}
    for row in read_jsonl(os.path.join(directory, "simulated.jsonl")):
        if row["driver_ms"] > 0:
            curves.setdefault(row["strategy"], {})[row["workers"]] = 100 * row["driver_ms"] / row["compute_ms"]
    if not curves:
        sys.exit(f"plot_fig8.py: {directory}/simulated.jsonl has no task-model strategies")
    return curves


def table(measured, simulated):
    """Markdown: one row per N, a column per curve, blank where a curve has no point."""
    columns = [(f"measured {label}", curve) for label, curve in measured.items()]
    columns += [(f"simulated {label}", curve) for label, curve in simulated.items()]
    columns += [("seed, no grouping", SEED_SPARK), ("seed, grouped", SEED_GROUPED)]
    tasks = sorted({n for _, curve in columns for n in curve})
    lines = ["| tasks per job | " + " | ".join(name for name, _ in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for n in tasks:
        cells = [f"{curve[n]:.2f}%" if n in curve else "" for _, curve in columns]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(measured, simulated, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for label, curve in measured.items():
        ns = sorted(curve)
        # A log axis has no 0: a run with no scheduling overhead at all is drawn at 0.01%.
        ax.plot(ns, [max(curve[n], 0.01) for n in ns], "o-", label=f"measured here: {label}")
    for label, curve in simulated.items():
        ns = sorted(curve)
        ax.plot(ns, [curve[n] for n in ns], "--", label=f"simulated: {label}")
    for label, seed, marker in (("no grouping", SEED_SPARK, "s"), ("grouped", SEED_GROUPED, "D")):
        ns = sorted(seed)
        ax.plot(ns, [seed[n] for n in ns], marker, color="black", linestyle=":", label=f"paper's Fig. 8: {label}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tasks per job (one per node; two jobs per iteration)")
    ax.set_ylabel("scheduling overhead, % of compute")
    ax.set_title("Fig. 8: task scheduling overhead vs tasks")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    for extension in ("png", "svg"):
        fig.savefig(os.path.join(out, f"fig8.{extension}"), dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulated", default="results/paper_fig8")
    parser.add_argument("--measured", default="results/tasks_scheduling")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    out = args.out or args.simulated
    measured = measured_overheads(args.measured)
    simulated = simulated_overheads(args.simulated)
    text = table(measured, simulated)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "fig8.md.tmp"), "w") as f:
        f.write(text)
    os.replace(os.path.join(out, "fig8.md.tmp"), os.path.join(out, "fig8.md"))
    print(text, end="")
    plot(measured, simulated, out)
    print(f"plot_fig8.py: wrote {out}/fig8.png, fig8.svg and fig8.md")


if __name__ == "__main__":
    main()
