"""Where one training step of the narrow VGG-11 spends its time on a CUDA GPU.

For each image size: the batch loader alone, the wall time of a training step (forward, backward,
SGD; bf16 autocast and channels_last as vggbook.train.fast sets them up, cudnn.benchmark as in
bench/bench.py's fast path), its GPU time from CUDA events, and torch.profiler tables sorted by
CPU and by GPU time. A step whose wall time is well above its GPU time is bound by launching
kernels from Python, not by the GPU.

Usage (on a GPU machine; VGGBOOK_DATA names the data folder if it is not found elsewhere):
    python bench/profile_step.py [SIZE ...]       (default sizes: 32 224)
A tool beside the package, like bench.py: nothing in vggbook imports it.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from vggbook import data, loader
from vggbook.runs import CHAPTER, make_model


def profile_size(size: int, fmnist, steps: int = 200) -> None:
    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    train_iter, _ = loader.loaders(128, size, device=dev, channels_last=True, data=fmnist)
    net = make_model(replace(CHAPTER, resize=size)).to(dev, memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, foreach=True)

    batches = iter(train_iter)
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        X, y = next(batches)
    torch.cuda.synchronize()
    loader_ms = (time.perf_counter() - t) / steps * 1e3

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(net(X), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(10):  # warm-up: cuDNN picks its algorithms here
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    wall_ms = (time.perf_counter() - t) / steps * 1e3
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(20):
        step()
    end.record()
    torch.cuda.synchronize()
    print(f"{size} px: loader {loader_ms:.2f} ms/batch, step wall {wall_ms:.2f} ms, "
          f"step between CUDA events {start.elapsed_time(end) / 20:.2f} ms")
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(20):
            step()
        torch.cuda.synchronize()
    table = prof.key_averages()
    print(table.table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=40))
    print(table.table(sort_by="self_device_time_total", row_limit=10, max_name_column_width=40))


def main(argv: list[str]) -> int:
    if not torch.cuda.is_available():
        print("profile_step.py needs a CUDA GPU")
        return 1
    fmnist = data.load_fashion_mnist()  # VGGBOOK_DATA, or where vggbook finds it
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}")
    for size in [int(a) for a in argv] or [32, 224]:
        profile_size(size, fmnist)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
