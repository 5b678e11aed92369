#!/usr/bin/env python3
"""The tables of compare_models.sh: per case, the median step and throughput of syncbed
and PyTorch over the interleaved rounds and their ratio; prints it and writes compare.csv
and table.txt into the output directory (each to a temp file, then renamed). With a
profiles directory (CASE_SIDE.json with "profile_ms_per_step"), also profile.txt: per case,
each side's time per step by layer kind, largest PyTorch share first.

usage: models_table.py RUNS_DIR OUTPUT_DIR [PROFILES_DIR]   (RUNS_DIR holds ROUND_CASE_SIDE.json)"""
import collections
import json
import os
import statistics
import sys

SIDES = ("syncbed", "pytorch")


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main(runs_dir, out_dir):
    results = collections.defaultdict(list)  # (case, side) -> results
    order = []
    # In the order they ran: by round, then by when each file was written.
    def run_order(name):
        return int(name.split("_", 1)[0]), os.path.getmtime(os.path.join(runs_dir, name))

    for name in sorted(os.listdir(runs_dir), key=run_order):
        _, rest = name.removesuffix(".json").split("_", 1)
        case, side = rest.rsplit("_", 1)
        with open(os.path.join(runs_dir, name)) as f:
            results[(case, side)].append(json.load(f))
        if case not in order:
            order.append(case)
    rounds = max(len(r) for r in results.values())
    first = results[(order[0], "pytorch")][0]
    lines = [f"training throughput, one process, {first['threads']} threads, median of {rounds} interleaved rounds",
             f"PyTorch {first['torch']} (BLAS {first['blas']}, oneDNN {'on' if first['onednn'] else 'off'})",
             f"{'case':<27} {'parameters':>11} {'syncbed ms':>11} {'PyTorch ms':>11} {'syncbed/s':>11} "
             f"{'PyTorch/s':>11} {'syncbed/PyTorch':>16}"]
    csv = "case,parameters,syncbed_step_ms,pytorch_step_ms,syncbed_items_per_s,pytorch_items_per_s,ratio\n"
    for case in order:
        sides = {side: results[(case, side)] for side in SIDES}
        parameters = {side: sides[side][0]["parameters"] for side in SIDES}
        if parameters["syncbed"] != parameters["pytorch"]:
            sys.exit(f"models_table: {case}: the models differ: {parameters['syncbed']} parameters in syncbed, "
                     f"{parameters['pytorch']} in PyTorch")
        step = {side: statistics.median(r["median_step_ms"] for r in sides[side]) for side in SIDES}
        batch = sides["syncbed"][0]["batch"]
        rate = {side: batch / step[side] * 1e3 for side in SIDES}
        ratio = rate["syncbed"] / rate["pytorch"]
        lines.append(f"{case:<27} {parameters['syncbed']:>11} {step['syncbed']:>11.1f} {step['pytorch']:>11.1f} "
                     f"{rate['syncbed']:>11.1f} {rate['pytorch']:>11.1f} {ratio:>15.2f}x")
        csv += (f"{case},{parameters['syncbed']},{step['syncbed']:.3f},{step['pytorch']:.3f},{rate['syncbed']:.2f},"
                f"{rate['pytorch']:.2f},{ratio:.4f}\n")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    write_atomically(os.path.join(out_dir, "compare.csv"), csv)
    write_atomically(os.path.join(out_dir, "table.txt"), text)


def profile_table(profiles_dir, out_dir):
    """Per case: ms per step of each layer kind on both sides, and their ratio."""
    lines = []
    for name in sorted(os.listdir(profiles_dir)):
        case, side = name.removesuffix(".json").rsplit("_", 1)
        if side != "syncbed":
            continue
        with open(os.path.join(profiles_dir, name)) as f:
            syncbed = json.load(f)
        with open(os.path.join(profiles_dir, f"{case}_pytorch.json")) as f:
            pytorch = json.load(f)
        kinds = {side: run["profile_ms_per_step"] for side, run in (("syncbed", syncbed), ("pytorch", pytorch))}
        lines += [f"{case}: ms per step by layer kind (syncbed: bench-model --profile; PyTorch: torch.profiler, "
                  f"self CPU time, {pytorch.get('memory_format', 'contiguous')} tensors)",
                  f"  {'kind':<20} {'syncbed':>9} {'PyTorch':>9} {'PyTorch/syncbed':>16}"]
        for kind in sorted(set(kinds["syncbed"]) | set(kinds["pytorch"]), key=lambda k: -kinds["pytorch"].get(k, 0)):
            ours, theirs = kinds["syncbed"].get(kind, 0), kinds["pytorch"].get(kind, 0)
            ratio = f"{theirs / ours:15.2f}x" if ours >= 0.05 and theirs >= 0.05 else ""
            lines.append(f"  {kind:<20} {ours:9.1f} {theirs:9.1f} {ratio:>16}")
        totals = {side: sum(max(ms, 0) for ms in kinds[side].values()) for side in kinds}
        lines += [f"  {'step (profiled)':<20} {totals['syncbed']:9.1f} {totals['pytorch']:9.1f} "
                  f"{totals['pytorch'] / totals['syncbed']:15.2f}x", ""]
    text = "\n".join(lines)
    print(text, end="")
    write_atomically(os.path.join(out_dir, "profile.txt"), text)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.splitlines()[-1].strip())
    main(sys.argv[1], sys.argv[2])
    if len(sys.argv) == 4 and os.listdir(sys.argv[3]):
        profile_table(sys.argv[3], sys.argv[2])
