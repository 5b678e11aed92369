#!/usr/bin/python3
"""PyTorch DDP's exposed sync on Inception-v1, the peer of configs/overlap.json.

usage: ddp_overlap.py --workers N [--calibration FILE] [--netns NAME] [--batch 32]
                      [--image-size 224] [--iterations 6] [--rounds 2] [--bucket-mb 25]
                      [--threads T] [--timeout-s 600] [--output FILE]

N processes train with DistributedDataParallel (gloo backend, bucket_cap_mb as given, so
buckets are reduced while backward runs) and SGD with momentum. Compute is either
- real (default): torchvision's GoogLeNet (no auxiliary classifiers; BatchNorm where
  BigDL's Inception-v1 has LRN: 6.6M parameters against 7.0M) on synthetic images; or
- emulated, with --calibration (a `syncbed calibrate` calibration.json of Inception-v1),
  exactly as syncbed's emulated compute: a model with the 58 parameter layers of syncbed's
  Inception-v1 (the same 6,998,552 parameters in the same order) whose forward sleeps
  for the calibrated forward time and whose backward releases each layer's gradient at
  its calibrated share of backward, last layer first. DDP's buckets then see the release
  schedule syncbed's workers see, and N can exceed the cores.
Ranks talk over loopback, or with --netns NAME each rank r runs in namespace NAME-h<r> of
the emulated cluster `scripts/netns_cluster.sh up N --name NAME` made (root), over its
shaped link.

Each process alternates, in rounds, a block of iterations on a copy DDP never wraps (its
compute time) and a block through DDP. Exposed sync = median DDP iteration - median plain
iteration, the definition syncbed's records use (iteration time - compute time). Rank 0
prints one JSON line and appends it to --output.

Needs Debian's python3-torch and python3-torchvision (scripts/setup_baselines.sh).
"""
import argparse
import copy
import datetime
import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist

import torch_ranks

# syncbed's Inception-v1 (models/inception_v1.cc): (module, 1x1, 3x3 reduce, 3x3, 5x5 reduce,
# 5x5, pool projection), registered branch by branch, left to right.
INCEPTION_MODULES = [("inception_3a", 64, 96, 128, 16, 32, 32), ("inception_3b", 128, 128, 192, 32, 96, 64),
                     ("inception_4a", 192, 96, 208, 16, 48, 64), ("inception_4b", 160, 112, 224, 24, 64, 64),
                     ("inception_4c", 128, 128, 256, 24, 64, 64), ("inception_4d", 112, 144, 288, 32, 64, 64),
                     ("inception_4e", 256, 160, 320, 32, 128, 128), ("inception_5a", 256, 160, 320, 32, 128, 128),
                     ("inception_5b", 384, 192, 384, 48, 128, 128)]


def inception_v1_layers(classes=1000):
    """(name, parameter count) of syncbed's Inception-v1 in its parameter layout order."""

    def conv(name, inputs, outputs, kernel):
        return (name, kernel * kernel * inputs * outputs + outputs)

    layers = [conv("conv1/7x7_s2", 3, 64, 7), conv("conv2/3x3_reduce", 64, 64, 1), conv("conv2/3x3", 64, 192, 3)]
    channels = 192
    for name, c1, r3, c3, r5, c5, pool in INCEPTION_MODULES:
        layers += [conv(name + "/1x1", channels, c1, 1), conv(name + "/3x3_reduce", channels, r3, 1),
                   conv(name + "/3x3", r3, c3, 3), conv(name + "/5x5_reduce", channels, r5, 1),
                   conv(name + "/5x5", r5, c5, 5), conv(name + "/pool_proj", channels, pool, 1)]
        channels = c1 + c3 + c5 + pool
    layers.append(("loss3/classifier", channels * classes + classes))
    return layers


def release_schedule(layers, calibration):
    """Seconds into the iteration at which each layer's gradient is final: the rule of
    release_schedule() in experiments/workloads/emulated_workload.cc."""
    total = calibration["compute_ms"]
    forward = min(calibration.get("forward_ms", total / 3), total)
    share = [calibration["layer_backward_ms"].get(name, 0.0) for name, _ in layers]
    if sum(share) <= 0:
        share = [float(size) for _, size in layers]
    at_ms, spent = [0.0] * len(layers), 0.0
    for i in range(len(layers) - 1, 0, -1):
        spent += share[i] / sum(share)
        at_ms[i] = forward + spent * (total - forward)
    at_ms[0] = total  # the first layer, and whatever precedes it
    return forward / 1e3, [ms / 1e3 for ms in at_ms]


class Clock:
    def __init__(self):
        self.start = time.perf_counter()

    def sleep_until(self, seconds):
        time.sleep(max(0.0, self.start + seconds - time.perf_counter()))


class Release(torch.autograd.Function):
    """Passes x on; its backward waits until the layer's release time, then hands back the
    layer's gradient (a fixed pattern, as syncbed's emulated workers restore theirs)."""

    @staticmethod
    def forward(ctx, x, weight, gradient, clock, at_s):
        ctx.gradient, ctx.clock, ctx.at_s = gradient, clock, at_s
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        ctx.clock.sleep_until(ctx.at_s)
        return grad, ctx.gradient, None, None, None


class EmulatedInceptionV1(torch.nn.Module):
    def __init__(self, calibration, rank):
        super().__init__()
        layers = inception_v1_layers(calibration["model"].get("classes", 1000))
        self.forward_s, self.release_s = release_schedule(layers, calibration)
        self.weights = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(size)) for _, size in layers])
        generator = torch.Generator().manual_seed(rank)
        self.gradients = [1e-4 * (torch.rand(size, generator=generator) - 0.5) for _, size in layers]
        self.clock = Clock()

    def forward(self, x):
        self.clock = Clock()
        for weight, gradient, at_s in zip(self.weights, self.gradients, self.release_s):
            x = Release.apply(x, weight, gradient, self.clock, at_s)
        self.clock.sleep_until(self.forward_s)
        return x


def real_model_and_loss(args):
    import torchvision
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)
    images = torch.randn(args.batch, 3, args.image_size, args.image_size)
    labels = torch.randint(0, 1000, (args.batch,))
    loss_fn = torch.nn.CrossEntropyLoss()
    return model, lambda m: loss_fn(m(images), labels)


def emulated_model_and_loss(args, rank):
    with open(args.calibration) as f:
        calibration = json.load(f)
    if calibration.get("model", {}).get("name") != "inception_v1" or "layer_backward_ms" not in calibration:
        raise SystemExit(f"ddp_overlap.py: {args.calibration}: not a calibration of inception_v1 with "
                         "layer_backward_ms (run syncbed calibrate on configs/overlap.json)")
    start = torch.zeros(1, requires_grad=True)
    return EmulatedInceptionV1(calibration, rank), lambda m: m(start).sum()


def timed_iterations(model, optimizer, loss_of, count):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=False)
        loss_of(model).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def rank_main(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    dist.init_process_group("gloo", init_method=f"tcp://{args.master_addr}:{args.master_port}", rank=args.rank,
                            world_size=args.workers, timeout=datetime.timedelta(seconds=args.timeout_s))
    model, loss_of = emulated_model_and_loss(args, args.rank) if args.calibration else real_model_and_loss(args)
    local = copy.deepcopy(model)  # never seen by DDP, so no reducer hook can fire on it
    plain = torch.optim.SGD(local.parameters(), lr=0.01, momentum=0.9)
    ddp = torch.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb)
    synced = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    timed_iterations(ddp, synced, loss_of, 1)  # warm-up: allocations, gloo connections
    compute, iteration = [], []
    for _ in range(args.rounds):  # interleaved, so load changes hit both alike
        compute += timed_iterations(local, plain, loss_of, args.iterations)
        dist.barrier()
        iteration += timed_iterations(ddp, synced, loss_of, args.iterations)
    mine = torch.tensor([statistics.median(compute), statistics.median(iteration)])
    gathered = [torch.zeros(2) for _ in range(args.workers)] if args.rank == 0 else None
    dist.gather(mine, gathered, dst=0)
    if args.rank == 0:
        compute_ms = 1e3 * max(t[0].item() for t in gathered)
        iteration_ms = 1e3 * max(t[1].item() for t in gathered)
        row = {"peer": "pytorch-ddp", "torch": torch.__version__, "workers": args.workers, "batch": args.batch,
               "image_size": args.image_size, "bucket_mb": args.bucket_mb, "threads": args.threads,
               "compute": "emulated" if args.calibration else "real",
               "network": f"netns {args.netns}" if args.netns else "loopback",
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
    parser.add_argument("--calibration", default="", help="emulated compute from this calibration.json")
    parser.add_argument("--netns", default="", help="run rank r in namespace NAME-h<r>")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--iterations", type=int, default=6, help="per block")
    parser.add_argument("--rounds", type=int, default=2, help="plain/DDP blocks, interleaved")
    parser.add_argument("--bucket-mb", type=float, default=25)
    parser.add_argument("--threads", type=int, default=0, help="per process (0: cores / workers, at least 1)")
    parser.add_argument("--timeout-s", type=float, default=600)
    parser.add_argument("--output", default="")
    parser.add_argument("--rank", type=int, default=-1, help=argparse.SUPPRESS)  # set by launch()
    parser.add_argument("--master-addr", default="", help=argparse.SUPPRESS)
    parser.add_argument("--master-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers < 1 or args.batch < 1 or args.iterations < 1 or args.rounds < 1 or args.timeout_s <= 0:
        sys.exit("ddp_overlap.py: --workers, --batch, --iterations, --rounds and --timeout-s must be positive")
    if args.threads == 0:
        args.threads = max(1, len(os.sched_getaffinity(0)) // args.workers)
    if args.rank >= 0:
        rank_main(args)
    else:
        torch_ranks.launch(__file__, args.workers, args.timeout_s, args.netns)


if __name__ == "__main__":
    main()
