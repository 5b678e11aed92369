#!/usr/bin/python3
"""PyTorch's training throughput on syncbed's models, the peer of `syncbed bench-model`.

usage: torch_model_bench.py [--model inception_v1|ncf] [--batch N] [--threads T]
                            [--steps K] [--warmup K] [--image-size S] [--classes C]
                            [--users U] [--items I] [--optimizer adam|lazy-adam] [--channels-last]
                            [--profile] [--json FILE]

One process trains the model of torch_models.py (layer for layer syncbed's, same parameter
count) on synthetic data exactly as `syncbed bench-model` does: Inception-v1 with SGD
(lr 0.01, momentum 0.9) on one batch of random images; NCF with Adam (lr 0.0005) on 8
batches of uniform (user, item) pairs with one positive in five, reused round robin.
Each step is forward, backward and the optimizer update; the median of --steps timed steps
after --warmup is reported. NCF's `lazy-adam` is PyTorch's own lazy update: sparse
embedding gradients and SparseAdam for the embeddings, Adam for the rest. Prints the step
lines, a median line and one JSON line (also written to --json) that says which torch,
BLAS and oneDNN were loaded. --profile then runs --steps more steps under torch.profiler and
adds their time per step by the layer kinds of `syncbed bench-model --profile`.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch import nn

import torch_models


def inception_v1_step(args):
    model = torch_models.inception_v1(args.classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    generator = torch.Generator().manual_seed(7)
    images = torch.rand(args.batch, 3, args.image_size, args.image_size, generator=generator)
    if args.channels_last:  # NHWC, which oneDNN's convolutions prefer
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(args.classes, (args.batch,), generator=generator)
    loss_of = nn.CrossEntropyLoss()

    def step(_):
        optimizer.zero_grad(set_to_none=False)
        loss = loss_of(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, step, "images"


def ncf_step(args):
    lazy = args.optimizer == "lazy-adam"
    model = torch_models.Ncf(args.users, args.items)
    embeddings = [model.mf_user, model.mf_item, model.mlp_user, model.mlp_item]
    if lazy:
        for table in embeddings:
            table.sparse = True
        sparse = [table.weight for table in embeddings]
        dense = [p for p in model.parameters() if all(p is not s for s in sparse)]
        optimizers = [torch.optim.SparseAdam(sparse, lr=0.0005), torch.optim.Adam(dense, lr=0.0005)]
    else:
        optimizers = [torch.optim.Adam(model.parameters(), lr=0.0005)]
    generator = torch.Generator().manual_seed(7)
    batches = [(torch.randint(args.users, (args.batch,), generator=generator),
                torch.randint(args.items, (args.batch,), generator=generator),
                (torch.arange(args.batch) % 5 == 0).float()) for _ in range(8)]
    loss_of = nn.BCEWithLogitsLoss()

    def step(index):
        users, items, labels = batches[index % len(batches)]
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=False)
        loss = loss_of(model(users, items), labels)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        return loss.item()

    return model, step, "samples"


# torch.profiler's operators -> the kinds of `syncbed bench-model --profile` (first match
# wins). A convolution's ReLU counts with it, as syncbed fuses it; LRN is PyTorch's
# composition of out-of-place mul/add/pow/div around avg_pool3d; the optimizer's ops (and
# autograd's gradient accumulation) are in place. Self time, so nothing counts twice.
KINDS = [("convolution", ("conv", "relu", "threshold_backward")),
         ("lrn", ("avg_pool3d", "constant_pad_nd", "aten::pow", "aten::div", "aten::mul", "aten::add")),
         ("pooling", ("max_pool", "adaptive_avg_pool", "avg_pool2d", "aten::mean")),
         ("concat", ("aten::cat",)),
         ("inner product", ("addmm", "aten::mm", "aten::linear")),
         ("loss", ("log_softmax", "nll_loss", "cross_entropy")),
         ("dropout", ("dropout", "bernoulli")),
         ("optimizer", ("aten::add_", "aten::mul_", "aten::zero_", "aten::fill_"))]


def kind_of(operator):
    for kind, patterns in KINDS:
        if any(operator.startswith(p) if p.startswith("aten::") else p in operator for p in patterns):
            return kind
    return "(other)"


def profiled_steps(step, first, count):
    """Runs `count` steps under torch.profiler: ms per step of each kind, and the top operators."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for index in range(first, first + count):
            step(index)
    kinds, operators = {}, {}
    for event in prof.key_averages():
        ms = event.self_cpu_time_total / 1e3 / count
        kinds[kind_of(event.key)] = kinds.get(kind_of(event.key), 0) + ms
        operators[event.key] = ms
    top = sorted(operators.items(), key=lambda item: -item[1])[:12]
    return kinds, top


def blas_loaded():
    """The BLAS library this process loaded (Debian picks it by update-alternatives)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.split()[-1]}
    openblas = [p for p in paths if "libopenblas" in p]
    return os.path.basename((openblas or sorted(paths) or ["none"])[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["inception_v1", "ncf"], default="inception_v1")
    parser.add_argument("--batch", type=int, default=0, help="default: 32 for inception_v1, 2048 for ncf")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: PyTorch's default)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--users", type=int, default=138493)
    parser.add_argument("--items", type=int, default=26744)
    parser.add_argument("--optimizer", choices=["adam", "lazy-adam"], default="adam", help="ncf only")
    parser.add_argument("--channels-last", action="store_true", help="inception_v1: NHWC tensors and weights")
    parser.add_argument("--profile", action="store_true",
                        help="then profile --steps more steps (torch.profiler): ms per step by syncbed's layer kinds")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    args.batch = args.batch or (32 if args.model == "inception_v1" else 2048)
    if min(args.batch, args.steps, args.classes, args.users, args.items) < 1 or args.warmup < 0 or args.threads < 0:
        sys.exit("torch_model_bench.py: --batch, --steps, --classes, --users and --items must be positive")
    if args.channels_last and args.model != "inception_v1":
        sys.exit("torch_model_bench.py: --channels-last applies to inception_v1 only")
    if args.model == "inception_v1" and args.image_size < 48:
        sys.exit("torch_model_bench.py: --image-size must be at least 48")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model, step, unit = inception_v1_step(args) if args.model == "inception_v1" else ncf_step(args)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"torch_model_bench: {args.model}, batch {args.batch}, {torch.get_num_threads()} threads, "
          f"{parameters} parameters, torch {torch.__version__}, BLAS {blas_loaded()}, "
          f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}", flush=True)
    times = []
    for index in range(args.warmup + args.steps):
        start = time.perf_counter()
        loss = step(index)
        seconds = time.perf_counter() - start
        if index >= args.warmup:
            times.append(seconds)
        print(f"  step {index + 1:3d}{'' if index >= args.warmup else ' (warm-up)'}  loss {loss:.4f}  "
              f"{seconds * 1e3:.1f} ms  {args.batch / seconds:.1f} {unit}/s", flush=True)
    median = statistics.median(times)
    print(f"median step {median * 1e3:.2f} ms: {args.batch / median:.1f} {unit}/s")
    profile = None
    if args.profile:  # after the timed steps, so the profiler's cost is not in them
        profile, top = profiled_steps(step, args.warmup + args.steps, args.steps)
        print("per kind, ms per step (torch.profiler, self CPU time)")
        for kind, ms in sorted(profile.items(), key=lambda item: -item[1]):
            print(f"  {kind:<20} {ms:10.2f}")
        print("top operators, ms per step")
        for operator, ms in top:
            print(f"  {operator:<40} {ms:10.2f}")
    result = {"peer": "pytorch", "model": args.model, "batch": args.batch, "threads": torch.get_num_threads(),
              "parameters": parameters, "optimizer": "sgd" if args.model == "inception_v1" else args.optimizer,
              "median_step_ms": median * 1e3, f"{unit}_per_s": args.batch / median, "torch": torch.__version__,
              "blas": blas_loaded(), "onednn": torch.backends.mkldnn.is_available(),
              "memory_format": "channels_last" if args.channels_last else "contiguous"}
    if profile is not None:
        result["profile_ms_per_step"] = profile
    print(json.dumps(result), flush=True)
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            f.write(json.dumps(result) + "\n")
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
