#!/usr/bin/env python3
"""Median busbw per (variant, workers, size) from compare_allreduce.sh's measurements;
prints the busbw table, the issue's target ratios and what one allreduce costs in CPU
time and context switches (all ranks together), writes compare.csv, targets.csv, cost.csv
and compare.png into the output directory (each written to a temp file, then renamed)."""
import collections
import os
import statistics
import sys

PEERS = ["mpi", "gloo-ring-chunked", "gloo-halving-doubling", "pytorch-gloo"]


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def size_text(size):
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


def print_costs(costs, variants, cases, out_dir):
    """CPU milliseconds and context switches of one allreduce, all ranks together (medians
    of the rounds)."""
    print("\nCPU ms / context switches per allreduce, all ranks together (median of rounds)")
    print(f"{'N':>3} {'size':>6} " + " ".join(f"{v:>21}" for v in variants))
    csv = "variant,workers,size_bytes,cpu_ms,context_switches\n"
    for n, size in cases:
        cells = []
        for v in variants:
            values = costs.get((v, n, size))
            if not values:
                cells.append(f"{'-':>21}")
                continue
            cpu_ms = statistics.median(c for c, _ in values)
            switches = statistics.median(s for _, s in values)
            cells.append(f"{cpu_ms:>12.1f}/{switches:<8.0f}")
            csv += f"{v},{n},{size},{cpu_ms:.3f},{switches:.1f}\n"
        print(f"{n:>3} {size_text(size):>6} " + " ".join(cells))
    write_atomically(os.path.join(out_dir, "cost.csv"), csv)


def main(measurements, out_dir):
    runs = collections.defaultdict(list)
    costs = collections.defaultdict(list)  # (cpu ms, context switches) per allreduce, all ranks
    seen = []  # syncbed's variants in the order they ran, then the peers
    for line in open(measurements):
        variant, n, size, busbw, cpu_ms, switches = line.split()
        runs[(variant, int(n), int(size))].append(float(busbw))
        costs[(variant, int(n), int(size))].append((float(cpu_ms), float(switches)))
        if variant not in seen:
            seen.append(variant)
    median = {key: statistics.median(values) for key, values in runs.items()}
    variants = [v for v in seen if v not in PEERS] + [v for v in PEERS if v in seen]
    cases = sorted({(n, size) for (_, n, size) in median})
    rounds = max(len(v) for v in runs.values())

    print(f"busbw GB/s, median of {rounds} interleaved rounds")
    print(f"{'N':>3} {'size':>6} " + " ".join(f"{v:>21}" for v in variants))
    csv = "workers,size_bytes," + ",".join(f"{v}_busbw_gbps" for v in variants) + "\n"
    for n, size in cases:
        cells = [median.get((v, n, size)) for v in variants]
        print(f"{n:>3} {size_text(size):>6} " + " ".join(f"{c:>21.3f}" if c else f"{'-':>21}" for c in cells))
        csv += f"{n},{size}," + ",".join(f"{c:.4f}" if c else "" for c in cells) + "\n"
    write_atomically(os.path.join(out_dir, "compare.csv"), csv)

    # The targets, each a ratio of two medians measured in the same rounds.
    def ratio(a, b, n, size):
        x = median.get((a, n, size))
        y = b(n, size) if callable(b) else median.get((b, n, size))
        return x / y if x and y else None

    def gloo_best(n, size):
        values = [median.get((v, n, size)) for v in ("gloo-ring-chunked", "gloo-halving-doubling")]
        values = [v for v in values if v]
        return max(values) if values else None

    # (name, ratio, goal or None for a ratio only reported, sizes it applies to)
    targets = [
        ("halving_doubling / ring", lambda n, s: ratio("halving_doubling", "ring", n, s), 1.0, lambda s: s <= 4 << 20),
        ("halving_doubling / MPI", lambda n, s: ratio("halving_doubling", "mpi", n, s), None, lambda s: True),
        ("halving_doubling / Gloo hd", lambda n, s: ratio("halving_doubling", "gloo-halving-doubling", n, s), None,
         lambda s: True),
        ("ring / Open MPI", lambda n, s: ratio("ring", "mpi", n, s), 1.0, lambda s: True),
        ("ring / Gloo best", lambda n, s: ratio("ring", gloo_best, n, s), 1.25, lambda s: True),
        ("ring / PyTorch gloo", lambda n, s: ratio("ring", "pytorch-gloo", n, s), 1.0, lambda s: True),
        ("sharded / ring", lambda n, s: ratio("sharded", "ring", n, s), 0.9, lambda s: True),
        ("sharded bf16 / ring", lambda n, s: ratio("sharded-bf16", "ring", n, s), 1.6, lambda s: s == 28 << 20),
    ]
    print("\ntarget ratios (busbw): measured / target")
    csv = "target,workers,size_bytes,ratio,goal,met\n"
    for name, measure, goal, applies in targets:
        for n, size in cases:
            value = measure(n, size)
            if value is None or not applies(size):
                continue
            if goal is None:
                print(f"  {name:<26} N={n} {size_text(size):>5}  {value:5.2f}x")
                csv += f"{name},{n},{size},{value:.4f},,\n"
                continue
            met = value >= goal
            print(f"  {name:<26} N={n} {size_text(size):>5}  {value:5.2f}x / {goal:.2f}x  {'met' if met else 'MISSED'}")
            csv += f"{name},{n},{size},{value:.4f},{goal},{int(met)}\n"
    write_atomically(os.path.join(out_dir, "targets.csv"), csv)
    print_costs(costs, variants, cases, out_dir)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    worker_counts = sorted({n for n, _ in cases})
    columns = min(4, len(worker_counts))
    rows = (len(worker_counts) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 4.5 * rows), squeeze=False)
    for ax in axes.flat[len(worker_counts):]:
        ax.set_visible(False)
    for ax, n in zip(axes.flat, worker_counts):
        sizes = sorted({s for m, s in cases if m == n})
        for v in variants:
            points = [(s / (1 << 20), median[(v, n, s)]) for s in sizes if (v, n, s) in median]
            if points:
                ax.plot(*zip(*points), marker="o", label=v, linestyle="--" if v in PEERS else "-")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("vector size (MiB)")
        ax.set_ylabel("busbw (GB/s)")
        ax.set_title(f"allreduce, {n} processes, TCP loopback (median of {rounds})")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    png = os.path.join(out_dir, "compare.png")
    fig.savefig(png + ".tmp", format="png", dpi=110)
    os.replace(png + ".tmp", png)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
