#!/usr/bin/python3
"""PyTorch's gloo allreduce baseline, in the columns of `syncbed bench-allreduce`.

usage: torch_allreduce_bench.py --workers N [--sizes 4K,64K,1M,4M,28M,128M] [--iters 10]
                                [--threads T] [--timeout-s 600]

N processes on 127.0.0.1 sum a float32 vector with torch.distributed.all_reduce (the gloo
backend of Debian's python3-torch) for each size: one verified warm-up, then --iters timed
iterations. Every rank contributes what syncbed's benchmark and the Open MPI and Gloo
baselines contribute (element i = 1 + (rank+1) * (i mod 13), exact in float32); the sums
are checked after the warm-up and the last iteration. Each iteration's time is the slowest
rank's; rank 0 prints the median per size in nccl-tests columns (size, count, type, redop,
time(us), algbw, busbw, #wrong), then what one allreduce cost all ranks together: CPU
milliseconds and context switches (every rank's process, all its threads; the median
iteration of their sum over the ranks). Exits 1 when a sum was wrong.
"""
import argparse
import datetime
import os
import resource
import statistics
import sys
import time

import torch
import torch.distributed as dist

import torch_ranks


def parse_sizes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    sizes = []
    for item in text.split(","):
        scale = units.get(item[-1:].upper(), 1)
        number = item[:-1] if scale > 1 else item
        if not number.isdigit() or int(number) * scale < 4 or int(number) * scale % 4:
            raise SystemExit(f"torch_allreduce_bench.py: --sizes: '{item}' is not a multiple of 4 bytes")
        sizes.append(int(number) * scale)
    return sizes


def pattern(count, offset, scale):
    """offset + scale * (i mod 13) for i < count, in float32 (exact for these small integers)."""
    return (offset + scale * (torch.arange(count, dtype=torch.int64) % 13)).to(torch.float32)


def process_cost():
    """CPU seconds (user + system, every thread) and context switches of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.process_time(), usage.ru_nvcsw + usage.ru_nivcsw


def rank_main(args):
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", init_method=f"tcp://{args.master_addr}:{args.master_port}", rank=args.rank,
                            world_size=args.workers, timeout=datetime.timedelta(seconds=args.timeout_s))
    if args.rank == 0:
        print(f"# PyTorch {torch.__version__} gloo all_reduce baseline: {args.workers} ranks, "
              f"{args.iters} iterations per size")
        print(f"{'size':>12} {'count':>12} {'type':>6} {'redop':>6} {'time(us)':>12} {'algbw(GB/s)':>12} "
              f"{'busbw(GB/s)':>12} {'#wrong':>8} {'cpu(ms)':>10} {'csw':>10}", flush=True)
    any_wrong = False
    for size in args.sizes:
        # Built once: a slow fill before every iteration would time the ranks' skew.
        mine = pattern(size // 4, 1, args.rank + 1)  # as syncbed's fill_allreduce_input
        expected = pattern(size // 4, args.workers, args.workers * (args.workers + 1) // 2)
        data = torch.empty_like(mine)
        seconds, wrong = [], 0
        cpu, switches = [], []
        for it in range(-1, args.iters):
            data.copy_(mine)
            cpu_before, switches_before = process_cost()
            start = time.perf_counter()
            dist.all_reduce(data)
            elapsed = time.perf_counter() - start
            cpu_after, switches_after = process_cost()
            if it >= 0:
                seconds.append(elapsed)
                cpu.append(cpu_after - cpu_before)
                switches.append(switches_after - switches_before)
            if it in (-1, args.iters - 1):
                wrong += int((data != expected).sum())
        slowest = torch.tensor(seconds, dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        wrong_total = torch.tensor([wrong])
        dist.all_reduce(wrong_total)
        cost = torch.tensor([cpu, switches], dtype=torch.float64)  # per iteration, summed over the ranks
        dist.all_reduce(cost)
        any_wrong = any_wrong or wrong_total.item() > 0
        if args.rank == 0:
            median = statistics.median(slowest.tolist())
            algbw = size / median / 1e9
            busbw = algbw * 2 * (args.workers - 1) / args.workers
            cpu_ms, switches = (statistics.median(row.tolist()) for row in (cost[0] * 1e3, cost[1]))
            print(f"{size:>12} {size // 4:>12} {'float':>6} {'sum':>6} {median * 1e6:>12.1f} {algbw:>12.3f} "
                  f"{busbw:>12.3f} {wrong_total.item():>8} {cpu_ms:>10.2f} {switches:>10.1f}", flush=True)
    dist.destroy_process_group()
    sys.exit(1 if any_wrong else 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--sizes", default="4K,64K,1M,4M,28M,128M", help="bytes, comma-separated (K, M, G suffixes)")
    parser.add_argument("--iters", type=int, default=10, help="timed iterations per size, after one verified warm-up")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads per process")
    parser.add_argument("--timeout-s", type=float, default=600)
    parser.add_argument("--rank", type=int, default=-1, help=argparse.SUPPRESS)  # set by torch_ranks.launch
    parser.add_argument("--master-addr", default="", help=argparse.SUPPRESS)
    parser.add_argument("--master-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers < 1 or args.iters < 1 or args.threads < 1 or args.timeout_s <= 0:
        sys.exit("torch_allreduce_bench.py: --workers, --iters, --threads and --timeout-s must be positive")
    args.sizes = parse_sizes(args.sizes)
    if args.rank >= 0:
        rank_main(args)
    else:
        torch_ranks.launch(__file__, args.workers, args.timeout_s)


if __name__ == "__main__":
    main()
