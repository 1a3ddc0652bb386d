"""What each piece of the CPU fast path buys: one training step of the narrow VGG-11, variant by variant.

Every variant runs in a new Python process (the allocator setting and the thread count are
process-wide), on the same random batch of 128 images at each size, with the chapter's model and
SGD: 3 steps to warm up, then the median of `--steps` timed steps. The fast path is
`vggbook.train.fast` on a CPU with bf16 instructions: bf16 autocast, channels_last, and glibc's
malloc keeping freed blocks. Each other variant changes one thing. A tool beside the package:

    python bench/cpu_steps.py [--sizes 32 96] [--steps 10] [--variants fp32 fast ...] [--out bench/cpu_steps.json]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
VARIANTS = {  # name: what it changes, against the line before it or against the fast path
    "fp32": "the plain fp32 loop (no vggbook.train.fast)",
    "fp32+keep-freed": "fp32, with malloc keeping freed blocks",
    "bf16-nchw": "bf16 autocast only",
    "bf16": "bf16 autocast and channels_last (malloc as default)",
    "fast": "vggbook.train.fast: bf16, channels_last, malloc keeps freed blocks",
    "fast+fused-sgd": "the fast path with SGD(fused=True) instead of foreach",
    "fast+fp32-head": "the fast path with the fully connected head left in fp32",
    "fast+compile": "the fast path with torch.compile (its compile time is reported apart)",
    "fast+1-thread": "the fast path on one thread (torch.set_num_threads(1))",
}


def one(variant: str, size: int, steps: int) -> dict:
    """Time `steps` training steps of `variant` at `size` px in this process."""
    from vggbook.models import build
    from vggbook.train import Autocast, fast, init_weights, keep_freed_memory
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: choose from {', '.join(VARIANTS)}")
    if variant == "fast+1-thread":
        torch.set_num_threads(1)
    torch.manual_seed(0)
    net = build("vgg11", ratio=4, input_size=size)
    net.apply(init_weights)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, **({"fused": True} if variant == "fast+fused-sgd"
                                                                else {"foreach": True}))
    X, y = torch.rand(128, 1, size, size), torch.randint(0, 10, (128,))
    if variant == "fp32":
        model = net
    elif variant == "fp32+keep-freed":
        keep_freed_memory()
        model = net
    elif variant == "bf16-nchw":
        model = _Bf16(net)
    elif variant == "bf16":
        model = Autocast(net.to(memory_format=torch.channels_last), torch.bfloat16, device_type="cpu")
    else:
        keep_freed_memory()
        model, optimizer, _ = fast(net, optimizer, torch.device("cpu"), "bf16")
    if variant == "fast+fp32-head":
        model = _Bf16Features(net)
    compile_s = None
    if variant == "fast+compile":
        model = torch.compile(model)
    loss = nn.CrossEntropyLoss()

    def step() -> None:
        l = loss(model(X), y)
        optimizer.zero_grad()
        l.backward()
        optimizer.step()

    t0 = time.perf_counter()
    for _ in range(3):
        step()
    if variant == "fast+compile":
        compile_s = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return {"variant": variant, "what": VARIANTS[variant], "resize": size, "steps": steps,
            "step_ms": 1000 * statistics.median(times), "step_ms_all": [1000 * t for t in times],
            "compile_s": compile_s, "threads": torch.get_num_threads()}


class _Bf16(nn.Module):
    """bf16 autocast without channels_last."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, X):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.net(X).float()


class _Bf16Features(nn.Module):
    """The conv blocks under bf16 autocast (channels_last), the fully connected head in fp32."""

    def __init__(self, net):
        super().__init__()
        self.features, self.head = net[:5], net[5:]

    def forward(self, X):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            f = self.features(X.contiguous(memory_format=torch.channels_last))
        return self.head(f.float())


def drift(size: int = 96, steps: int = 50, batch_size: int = 128) -> dict:
    """The chapter's first `steps` SGD steps twice, in fp32 and on the fast path (bf16), from the same
    weights on the same batches of real training images: the two losses step by step, and how far
    apart the weights are at the end (largest difference, relative to the largest weight)."""
    from vggbook import loader
    from vggbook.data import load_fashion_mnist
    from vggbook.models import build
    from vggbook.train import fast, init_weights
    d = load_fashion_mnist()
    torch.manual_seed(0)
    order = torch.randperm(len(d.train_labels))[:steps * batch_size].view(steps, batch_size)
    losses, nets = {}, {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        net = build("vgg11", ratio=4, input_size=size)
        net.apply(init_weights)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05, foreach=True)
        model, optimizer, _ = fast(net, optimizer, torch.device("cpu"), precision)
        model.train()
        losses[precision] = []
        for idx in order:
            X, y = loader.resize_batch(d.train_images[idx], size), d.train_labels[idx]
            l = nn.functional.cross_entropy(model(X), y)
            optimizer.zero_grad()
            l.backward()
            optimizer.step()
            losses[precision].append(l.item())
        nets[precision] = net
    pairs = list(zip(nets["fp32"].parameters(), nets["bf16"].parameters()))
    largest = max(a.abs().max().item() for a, _ in pairs)
    gap = max((a - b).abs().max().item() for a, b in pairs)
    return {"resize": size, "steps": steps, "loss_fp32": losses["fp32"], "loss_bf16": losses["bf16"],
            "weight_gap_relative": gap / largest}


def run_all(sizes=(32, 96), steps: int = 10, out: Path | None = HERE / "cpu_steps.json",
            variants=tuple(VARIANTS), drift_steps: int = 50) -> dict:
    """Each variant at every size, each in a new process; print a table, write the JSON."""
    from vggbook.train import cpu_has_bf16
    rows = []
    for size in sizes:
        for variant in variants:
            proc = subprocess.run([sys.executable, __file__, "--one", variant, "--sizes", str(size),
                                   "--steps", str(steps)], capture_output=True, text=True, check=True)
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"{size:4} px  {variant:16} {rows[-1]['step_ms']:7.1f} ms/step", flush=True)
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "torch_version": torch.__version__, "cpu_has_bf16": cpu_has_bf16(),
              "threads": torch.get_num_threads(), "batch_size": 128, "rows": rows}
    if drift_steps:
        result["drift"] = drift(96, drift_steps)
        a, b = result["drift"]["loss_fp32"], result["drift"]["loss_bf16"]
        print("loss, fp32 vs bf16, steps 1, 10, 50: " + ", ".join(
            f"{a[i]:.4f}/{b[i]:.4f}" for i in (0, 9, len(a) - 1) if i < len(a)))
    for size in sizes:
        at = {r["variant"]: r["step_ms"] for r in rows if r["resize"] == size}
        if "fp32" in at and "fast" in at:
            print(f"{size} px: the fast path is {at['fp32'] / at['fast']:.2f}x the plain fp32 step")
    if out:
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}")
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python bench/cpu_steps.py", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 96])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=HERE / "cpu_steps.json")
    a = p.parse_args(argv)
    if a.one:
        print(json.dumps(one(a.one, a.sizes[0], a.steps)))
    else:
        run_all(tuple(a.sizes), a.steps, a.out, tuple(a.variants))
    return 0


if __name__ == "__main__":
    sys.exit(main())
