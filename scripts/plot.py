#!/usr/bin/python3
"""Plots of a syncbed results directory (results/<name>/summary.jsonl).

usage: scripts/plot.py RESULTS_DIR

The fields it reads are those of experiments/harness/records.h (RunSummary, IterationRecord).

Writes, as PNG and SVG next to the results:
  scaling    throughput vs workers, one line per strategy, with ideal linear scaling
  efficiency throughput / (N/N0 x the same strategy's throughput at its smallest N0, normally 1)
  overhead   median time of each sync phase as a fraction of compute time, stacked
  exposed    per N, one bar per strategy: median compute with the exposed sync (the part not
             hidden behind compute, e.g. by overlap) stacked on it
  hit_rate   NCF HR@10 per epoch (only when the runs evaluated)
  convergence training loss (moving mean of 10 iterations) vs wall-clock time, one line per
             run (only for real compute: emulated runs have no loss)
  scheduling the task model's scheduling overhead (time not spent in tasks) as a fraction of
             compute vs workers, one line per group size (only for execution "tasks" runs)
  simulated  `syncbed simulate`'s throughput vs workers (lines) with the measured runs and
             the config's reference values (markers), when simulated.jsonl exists
  simulated_overhead  the same runs' sync phases (and the task model's scheduling) as a
             fraction of compute time vs workers, stacked, one panel per strategy
  timeline   per traced run (trace.json[.gz], "trace": true), a Gantt chart of its median
             iteration: one row per rank and thread, one bar per phase, on rank 0's clock
Needs matplotlib (Debian: python3-matplotlib).
"""
import gzip
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def read_summaries(directory):
    path = os.path.join(directory, "summary.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def title(summaries, what):
    ok = [s for s in summaries if s["status"] == "ok"]
    s = ok[0] if ok else summaries[0]
    host = s.get("host", {})
    machine = "%s, %s cores" % (host.get("cpu", "unknown CPU"), host.get("cores", "?"))
    if s.get("emulated"):
        compute = "emulated compute %.0f ms/iteration" % s["emulated_ms"]
    else:
        compute = "real compute (all workers share this machine's cores)"
    return "%s: %s\n%s, batch %s/worker, %s\n%s" % (s["experiment"], what, s.get("model", "?"),
                                                    s.get("batch_per_worker", "?"), compute, machine)


def by_strategy(summaries):
    lines = {}
    for s in summaries:
        if s["status"] == "ok":
            lines.setdefault(s["strategy"], []).append(s)
    for runs in lines.values():
        runs.sort(key=lambda s: s["workers"])
    return lines


def save(fig, directory, name, rect=(0, 0, 1, 1)):
    fig.tight_layout(rect=rect)
    for ext in ("png", "svg"):
        path = os.path.join(directory, "%s.%s" % (name, ext))
        fig.savefig(path + ".tmp", format=ext, dpi=120)
        os.replace(path + ".tmp", path)  # never leave a half-written plot
    plt.close(fig)
    print("wrote %s/%s.png and .svg" % (directory, name))


def plot_scaling(summaries, directory):
    lines = by_strategy(summaries)
    unit = next(iter(lines.values()))[0].get("item_unit", "items")
    fig, ax = plt.subplots(figsize=(7, 4.8))
    ideal_drawn = False
    for strategy, runs in lines.items():
        ns = [r["workers"] for r in runs]
        ax.plot(ns, [r["throughput"] for r in runs], marker="o", label=strategy)
        if not ideal_drawn:
            n0, t0 = runs[0]["workers"], runs[0]["throughput"]
            ax.plot(ns, [t0 * n / n0 for n in ns], "k--", linewidth=1,
                    label="ideal (linear from %s N=%d)" % (strategy, n0))
            ideal_drawn = True
    # log-log: linear scaling is a straight line at 45 degrees
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xticks(sorted({r["workers"] for runs in lines.values() for r in runs}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.get_yaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    finish_axes(ax, summaries, "workers (N)", "throughput (%s/s, log scale)" % unit, "throughput vs workers")
    save(fig, directory, "scaling")


def finish_axes(ax, summaries, xlabel, ylabel, what):
    """Axis labels, the title, grid and legend every plot has."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title(summaries, what), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def finish_workers_axes(ax, summaries, xlabel, ylabel, what):
    """Log-2 worker axis and y from 0, then finish_axes, for a per-N line plot."""
    ax.set_xscale("log", base=2)
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_ylim(bottom=0)
    finish_axes(ax, summaries, xlabel, ylabel, what)


def plot_efficiency(summaries, directory):
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for strategy, runs in by_strategy(summaries).items():
        # against the smallest N that ran (normally 1): throughput / (N / N0 x throughput at N0)
        n0, t0 = runs[0]["workers"], runs[0]["throughput"]
        ax.plot([r["workers"] for r in runs], [100 * r["throughput"] * n0 / (r["workers"] * t0) for r in runs],
                marker="o", label=strategy)
    ax.axhline(100, color="k", linestyle="--", linewidth=1, label="ideal")
    finish_workers_axes(ax, summaries, "workers (N)", "scaling efficiency (% of linear from the smallest N)",
                        "scaling efficiency")
    save(fig, directory, "efficiency")


def plot_overhead(summaries, directory):
    runs = [s for s in summaries if s["status"] == "ok" and s["compute_ms"] > 0]
    phases = sorted({p for s in runs for p in s["phases_ms"]})
    fig, ax = plt.subplots(figsize=(max(7, 0.6 * len(runs) + 2), 4.8))
    labels = ["%s\nN=%d" % (s["strategy"], s["workers"]) for s in runs]
    bottom = [0.0] * len(runs)
    for phase in phases:
        heights = [100 * s["phases_ms"].get(phase, 0) / s["compute_ms"] for s in runs]
        ax.bar(range(len(runs)), heights, bottom=bottom, label=phase)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_ylim(0, 1.15 * max(bottom + [1e-9]))
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("sync phase time (% of compute time, medians)")
    ax.set_title(title(summaries, "sync overhead per phase"), fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, directory, "overhead")


def plot_exposed(summaries, directory):
    lines = by_strategy(summaries)
    ns = sorted({r["workers"] for runs in lines.values() for r in runs})
    width = 0.8 / len(lines)
    fig, ax = plt.subplots(figsize=(max(7, 0.35 * len(ns) * len(lines) + 2), 4.8))
    for k, (strategy, runs) in enumerate(lines.items()):
        at = {r["workers"]: r for r in runs}
        xs = [i + (k - (len(lines) - 1) / 2) * width for i, n in enumerate(ns) if n in at]
        compute = [at[n]["compute_ms"] for n in ns if n in at]
        exposed = [at[n].get("exposed_sync_ms", at[n]["sync_ms"]) for n in ns if n in at]
        bars = ax.bar(xs, exposed, width, bottom=compute, label=strategy)
        ax.bar(xs, compute, width, color=bars.patches[0].get_facecolor(), alpha=0.25)
    # The exposed part is a sliver of the iteration: start the axis at half the shortest compute.
    lowest = min(r["compute_ms"] for runs in lines.values() for r in runs)
    ax.set_ylim(bottom=0.5 * lowest)
    ax.set_xticks(range(len(ns)))
    ax.set_xticklabels(["N=%d" % n for n in ns])
    ax.set_ylabel("ms per iteration, medians (axis from %.0f):\ncompute (pale), exposed sync on top" % (0.5 * lowest))
    ax.set_title(title(summaries, "exposed sync over compute"), fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, directory, "exposed")


def plot_hit_rate(summaries, directory):
    runs = [s for s in summaries if s["status"] == "ok" and s.get("evaluations")]
    if not runs:
        return
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for s in runs:
        points = s["evaluations"]
        ax.plot([p["epoch"] for p in points], [p["hit_rate"] for p in points], marker="o",
                label="%s, N=%d" % (s["strategy"], s["workers"]))
    finish_axes(ax, summaries, "epoch", "HR@10 (leave-one-out)", "NCF HR@10 per epoch")
    save(fig, directory, "hit_rate")


def read_records(directory):
    for name, opener in (("records.jsonl", open), ("records.jsonl.gz", gzip.open)):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with opener(path, "rt") as f:
                return [json.loads(line) for line in f if line.strip()]
    return []


def plot_convergence(summaries, directory):
    runs = {}
    for r in read_records(directory):
        if r.get("kind") == "iteration" and not r.get("emulated"):
            runs.setdefault((r["strategy"], r["workers"]), []).append(r)
    if not runs:
        return
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for (strategy, workers), records in runs.items():
        records.sort(key=lambda r: r["iteration"])
        elapsed, times, losses = 0.0, [], []
        for r in records:
            elapsed += r["seconds"]
            if r.get("loss") is not None:  # None: every task of the iteration was dropped
                times.append(elapsed)
                losses.append(r["loss"])
        window = 10
        smooth = [sum(losses[max(0, i - window + 1):i + 1]) / len(losses[max(0, i - window + 1):i + 1])
                  for i in range(len(losses))]
        ax.plot(times, smooth, label="%s, N=%d" % (strategy, workers))
    finish_axes(ax, summaries, "wall-clock time (s, warm-up included)",
                "training loss (moving mean of %d iterations)" % window, "training loss vs time")
    save(fig, directory, "convergence")


def plot_simulated(directory):
    with open(os.path.join(directory, "simulated.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    fig, ax = plt.subplots(figsize=(7, 4.8))
    strategies = []
    for r in rows:
        if r["strategy"] not in strategies:
            strategies.append(r["strategy"])
    for i, name in enumerate(strategies):
        runs = [r for r in rows if r["strategy"] == name]
        color = "C%d" % i
        ax.plot([r["workers"] for r in runs], [r["throughput"] for r in runs], "-", color=color,
                label="%s, simulated" % name)
        measured = [r for r in runs if "measured" in r]
        if measured:
            ax.plot([r["workers"] for r in measured], [r["measured"] for r in measured], "o", color=color,
                    label="%s, measured" % name)
        reference = [r for r in runs if "reference" in r]
        if reference:
            label = reference[0].get("reference_label", "reference")
            ax.plot([r["workers"] for r in reference], [r["reference"] for r in reference], "s--", color="black",
                    label=label)
    network = rows[0].get("network", {})
    ax.set_xlabel("workers (hosts)")
    ax.set_ylabel("throughput (items/s)")
    ax.set_title("%s: simulated vs measured\nlinks %s, delay %s" % (
        rows[0].get("experiment", os.path.basename(directory.rstrip("/"))), network.get("rate", "?"),
        network.get("delay", "0")), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, directory, "simulated")


def plot_simulated_overhead(directory):
    with open(os.path.join(directory, "simulated.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    fig, axes = plt.subplots(1, len(strategies), figsize=(4.2 * len(strategies), 4), sharey=True, squeeze=False)
    phases = list(dict.fromkeys(p for r in rows for p in r.get("phases_ms", {})))
    for ax, name in zip(axes[0], strategies):
        runs = [r for r in rows if r["strategy"] == name]
        workers = [str(r["workers"]) for r in runs]
        bottom = [0.0] * len(runs)
        parts = [(p, [r.get("phases_ms", {}).get(p, 0) for r in runs]) for p in phases]
        parts.append(("scheduling", [r.get("driver_ms", 0) for r in runs]))
        for i, (part, ms) in enumerate(parts):
            share = [100 * m / r["compute_ms"] for m, r in zip(ms, runs)]
            if not any(share):
                continue
            ax.bar(workers, share, bottom=bottom, color="C%d" % i, label=part)
            bottom = [b + v for b, v in zip(bottom, share)]
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("workers (hosts)")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("% of compute time (simulated)")
    fig.suptitle("%s: synchronization as a fraction of compute, links %s" % (
        rows[0].get("experiment", os.path.basename(directory.rstrip("/"))), rows[0].get("network", {}).get("rate", "?")),
        fontsize=9)
    save(fig, directory, "simulated_overhead")


def plot_scheduling(summaries, directory):
    runs = {k: v for k, v in by_strategy(summaries).items() if "scheduling_overhead" in v[0]}
    if not runs:
        return
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for strategy, points in runs.items():
        ax.plot([r["workers"] for r in points], [100 * r["scheduling_overhead"] for r in points], marker="o",
                label=strategy)
    finish_workers_axes(ax, summaries, "executors (N); 2N tasks per iteration", "scheduling overhead (% of compute time)",
                        "driver scheduling overhead")
    save(fig, directory, "scheduling")


def trace_runs(trace):
    """Per run of a merged trace: its title, {pid: (rank, [X events of timed iterations])} and
    {(pid, tid): thread name}."""
    events, threads = {}, {}
    for e in trace["traceEvents"]:
        # The passes and layers inside compute ("trace": "layers") are for Perfetto's zoom.
        if e.get("ph") == "X" and e.get("cat") not in ("model", "layer"):
            events.setdefault(e["pid"], []).append(e)
        elif e.get("ph") == "M" and e.get("name") == "thread_name":
            threads[(e["pid"], e["tid"])] = e["args"]["name"]
    # Warm-up iterations are left out, as everywhere else.
    return [(run["title"], {r["pid"]: (r["rank"], [e for e in events.get(r["pid"], [])
                                                   if e["args"]["iteration"] >= run.get("warmup", 0)])
                            for r in run["ranks"]}, threads)
            for run in trace["syncbed"]["runs"]]


def median_iteration(ranks):
    """The iteration every rank traced whose span (first start to last end) is the median."""
    common = set.intersection(*({e["args"]["iteration"] for e in evs} for _, evs in ranks.values()))
    spans = []
    for i in common:
        times = [(e["ts"], e["ts"] + e["dur"]) for _, evs in ranks.values() for e in evs if e["args"]["iteration"] == i]
        spans.append((max(t[1] for t in times) - min(t[0] for t in times), i))
    return sorted(spans)[len(spans) // 2][1] if spans else None


def is_wrapper(name):
    """Events that span the phases inside them: drawn thin, under the phases."""
    return name == "sync" or name.startswith("bucket ")


def trace_path(directory):
    """The merged trace of a results directory (large ones are gzipped), or None."""
    for name in ("trace.json", "trace.json.gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    return None


def plot_timeline(directory):
    path = trace_path(directory)
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        runs = [(title_text, ranks, threads, median_iteration(ranks))
                for title_text, ranks, threads in trace_runs(json.load(f))]
    runs = [r for r in runs if r[3] is not None]
    if not runs:
        return
    colors = {}
    heights = [0.6 + 0.3 * sum(len({e["tid"] for e in evs}) for _, evs in r[1].values()) for r in runs]
    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 1.0 + sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (title_text, ranks, threads, iteration) in zip(axes[:, 0], runs):
        chosen = [e for _, evs in ranks.values() for e in evs if e["args"]["iteration"] == iteration]
        origin = min(e["ts"] for e in chosen)
        rows = sorted({(rank, pid, e["tid"]) for pid, (rank, evs) in ranks.items() for e in evs})
        for row, (rank, pid, tid) in enumerate(rows):
            for e in sorted((e for e in chosen if e["pid"] == pid and e["tid"] == tid),
                            key=lambda e: not is_wrapper(e["name"])):
                name = "bucket" if e["name"].startswith("bucket ") else e["name"]
                colors.setdefault(name, "C%d" % (len(colors) % 10))
                ax.barh(row, e["dur"] / 1e3, left=(e["ts"] - origin) / 1e3, height=0.25 if is_wrapper(name) else 0.7,
                        color=colors[name], edgecolor="black", linewidth=0.3)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(["rank %d %s" % (rank, threads.get((pid, tid), "")) for rank, pid, tid in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_title("%s: median iteration (%d)" % (title_text, iteration), fontsize=9)
        ax.grid(True, axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("ms since the iteration's first event, on rank 0's clock (thin bars: the sync call, "
                           "overlap buckets)", fontsize=8)
    handles = [matplotlib.patches.Patch(color=c, label=n) for n, c in colors.items()]
    fig.legend(handles=handles, loc="lower center", ncol=min(8, len(handles)), fontsize=7)
    save(fig, directory, "timeline", rect=(0, 0.05, 1, 1))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    directory = sys.argv[1]
    if os.path.exists(os.path.join(directory, "simulated.jsonl")):
        plot_simulated(directory)
        plot_simulated_overhead(directory)
    if not os.path.exists(os.path.join(directory, "summary.jsonl")):
        return
    summaries = read_summaries(directory)
    if not any(s["status"] == "ok" for s in summaries):
        sys.exit("plot.py: no successful runs in %s" % directory)
    plot_scaling(summaries, directory)
    plot_efficiency(summaries, directory)
    plot_overhead(summaries, directory)
    plot_exposed(summaries, directory)
    plot_hit_rate(summaries, directory)
    plot_scheduling(summaries, directory)
    plot_convergence(summaries, directory)
    if trace_path(directory):
        plot_timeline(directory)


if __name__ == "__main__":
    main()
