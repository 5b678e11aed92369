#!/usr/bin/python3
"""PyTorch DDP's exposed sync on Inception-v1 (GoogLeNet), the peer of configs/overlap.json.

usage: ddp_overlap.py --workers N [--batch 32] [--image-size 224] [--iterations 6]
                      [--rounds 2] [--bucket-mb 25] [--threads T] [--output FILE]

N processes on this machine train torchvision's GoogLeNet (no auxiliary classifiers;
BatchNorm where BigDL's Inception-v1 has LRN: 6.6M parameters against 7.0M) on synthetic
224x224 images with SGD. Each process alternates, in rounds, a block of iterations
without synchronization (its compute time) and a block through DistributedDataParallel
(gloo backend over loopback, bucket_cap_mb as given, so buckets are reduced while backward
runs). Exposed sync = median DDP iteration - median plain iteration, the definition
syncbed's records use (iteration time - compute time). Rank 0 prints one JSON line and
appends it to --output.

Needs Debian's python3-torch and python3-torchvision (scripts/setup_baselines.sh).
"""
import argparse
import copy
import json
import os
import socket
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torchvision


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_iterations(model, optimizer, images, labels, count):
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=False)
        loss_fn(model(images), labels).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def worker(rank, args, port):
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    dist.init_process_group("gloo", rank=rank, world_size=args.workers)
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)
    local = copy.deepcopy(model)  # never seen by DDP, so no reducer hook can fire on it
    plain = torch.optim.SGD(local.parameters(), lr=0.01, momentum=0.9)
    ddp = torch.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb)
    synced = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(args.batch, 3, args.image_size, args.image_size)
    labels = torch.randint(0, 1000, (args.batch,))
    timed_iterations(ddp, synced, images, labels, 1)  # warm-up: allocations, gloo connections
    compute, iteration = [], []
    for _ in range(args.rounds):  # interleaved, so load changes hit both alike
        compute += timed_iterations(local, plain, images, labels, args.iterations)
        dist.barrier()
        iteration += timed_iterations(ddp, synced, images, labels, args.iterations)
    mine = torch.tensor([statistics.median(compute), statistics.median(iteration)])
    gathered = [torch.zeros(2) for _ in range(args.workers)] if rank == 0 else None
    dist.gather(mine, gathered, dst=0)
    if rank == 0:
        compute_ms = 1e3 * max(t[0].item() for t in gathered)
        iteration_ms = 1e3 * max(t[1].item() for t in gathered)
        row = {"peer": "pytorch-ddp", "torch": torch.__version__, "workers": args.workers, "batch": args.batch,
               "image_size": args.image_size, "bucket_mb": args.bucket_mb, "threads": args.threads,
               "parameters": sum(p.numel() for p in model.parameters()), "compute_ms": compute_ms,
               "iteration_ms": iteration_ms, "exposed_sync_ms": iteration_ms - compute_ms,
               "iterations": args.iterations * args.rounds}
        print(json.dumps(row), flush=True)
        if args.output:
            with open(args.output, "a") as f:
                f.write(json.dumps(row) + "\n")
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--iterations", type=int, default=6, help="per block")
    parser.add_argument("--rounds", type=int, default=2, help="plain/DDP blocks, interleaved")
    parser.add_argument("--bucket-mb", type=float, default=25)
    parser.add_argument("--threads", type=int, default=0, help="per process (0: cores / workers, at least 1)")
    parser.add_argument("--output", default="")
    args = parser.parse_args()
    if args.workers < 1 or args.batch < 1 or args.iterations < 1 or args.rounds < 1:
        sys.exit("ddp_overlap.py: --workers, --batch, --iterations and --rounds must be >= 1")
    if args.threads == 0:
        args.threads = max(1, len(os.sched_getaffinity(0)) // args.workers)
    mp.spawn(worker, args=(args, free_port()), nprocs=args.workers, join=True)


if __name__ == "__main__":
    main()
