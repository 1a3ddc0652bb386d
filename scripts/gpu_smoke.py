"""Every CUDA path of the package in one short run: the first thing to run in a GPU session.

  python scripts/gpu_smoke.py [--out runs/gpu/smoke.json] [--chapter] [--device cpu]

Checks, each printed as PASS or FAIL with what it measured, all written to one JSON file:
- one short run (2 epochs, 4,096 images, 32 px) per precision: bf16, fp16 with its gradient scaler,
  fp32; the precision recorded is the one asked for, every loss is finite, the weights are
  channels_last on a GPU, the peak memory is recorded;
- Ctrl-C in the second epoch: the run returns its first epoch, marked interrupted;
- an impossible batch (60,000 images of 224 px at once) runs out of memory with PyTorch's message,
  and the memory is given back afterwards;
- a run written as a record and read back is the same run;
- with --chapter: the chapter's full configuration in bf16 and in fp16 (about a minute each on an
  H100), whose test accuracies should agree within 0.01.
About 2 minutes on an H100 without --chapter. `--device cpu` is a dry run of the script itself
(fp32 only, and no memory checks).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vggbook import runs  # noqa: E402
from vggbook.runs import CHAPTER, Config, History  # noqa: E402

SHORT = Config(resize=32, epochs=2, train_limit=4096, test_limit=2048)
results: list[dict] = []


def check(name: str, passed: bool, **measured) -> None:
    results.append({"check": name, "passed": bool(passed), **measured})
    print(f"{'PASS' if passed else 'FAIL'}  {name}  {json.dumps(measured, default=str)}", flush=True)


def precisions(device: torch.device) -> None:
    for precision in (("bf16", "fp16", "fp32") if device.type == "cuda" else ("fp32",)):
        start = time.perf_counter()
        h, net = runs.train(SHORT, profile="full", device=device, precision=precision, progress=False)
        layout = all(p.is_contiguous(memory_format=torch.channels_last) for p in net.parameters() if p.dim() == 4)
        check(f"train {precision}", h.precision == precision and len(h.epochs) == 2
              and all(math.isfinite(e["loss"]) for e in h.epochs)
              and (device.type != "cuda" or (layout and h.peak_memory_bytes > 0)),
              precision=h.precision, losses=[round(e["loss"], 4) for e in h.epochs], test_acc=h.test_acc,
              seconds=round(h.seconds, 2), channels_last=layout, peak_memory_bytes=h.peak_memory_bytes,
              wall_s=round(time.perf_counter() - start, 1))


def interrupted(device: torch.device) -> None:
    build, calls = runs.build, {"n": 0}
    batches = -(-SHORT.train_limit // SHORT.batch_size) + -(-SHORT.test_limit // (2 * SHORT.batch_size))

    def stopping(*args, **kwargs):
        net = build(*args, **kwargs)
        forward = net.forward

        def counted(x):
            calls["n"] += 1
            if calls["n"] == batches + 3:  # a few batches into epoch 2
                raise KeyboardInterrupt
            return forward(x)
        net.forward = counted
        return net
    runs.build = stopping
    try:
        h, _ = runs.train(SHORT, profile="full", device=device, progress=False)
    finally:
        runs.build = build
    check("Ctrl-C keeps the finished epoch", h.interrupted and len(h.epochs) == 1, epochs=len(h.epochs))


def out_of_memory(device: torch.device) -> None:
    if device.type != "cuda":
        return
    message = ""
    try:
        runs.train(Config(batch_size=60_000, epochs=1), profile="full", device=device, progress=False)
        check("an impossible batch runs out of memory", False, error=None)
    except torch.cuda.OutOfMemoryError as e:
        message = str(e).splitlines()[0]
    torch.cuda.empty_cache()
    left = torch.cuda.memory_allocated(device)
    check("an impossible batch runs out of memory", "out of memory" in message and left < 2**30,
          message=message[:200], allocated_after=left)


def record_round_trip(device: torch.device) -> None:
    h, _ = runs.train(Config(resize=32, epochs=1, train_limit=1024, test_limit=512), profile="full",
                      device=device, progress=False)
    with tempfile.TemporaryDirectory() as folder:
        path = h.save(runs.record_path(h.config, "full", Path(folder)))
        back = History.load(path)
    check("a record reads back as the same run", back == h, file=path.name)


def chapter(device: torch.device) -> None:
    acc = {}
    for precision in ("bf16", "fp16"):
        h, _ = runs.train(CHAPTER, profile="full", device=device, precision=precision, progress=False)
        acc[precision] = h.test_acc
        check(f"chapter {precision}", not h.interrupted, test_acc=h.test_acc, seconds=round(h.seconds, 1),
              peak_memory_bytes=h.peak_memory_bytes)
    check("fp16 within 0.01 of bf16 on the chapter's run", abs(acc["bf16"] - acc["fp16"]) <= 0.01, **acc)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/gpu/smoke.json"))
    p.add_argument("--device", default="cuda")
    p.add_argument("--chapter", action="store_true", help="also the chapter's run in bf16 and fp16")
    a = p.parse_args()
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_smoke: torch sees no CUDA GPU here (use --device cpu for a dry run)", file=sys.stderr)
        return 2
    parts = [precisions, interrupted, out_of_memory, record_round_trip] + ([chapter] if a.chapter else [])
    for part in parts:
        try:
            part(device)
        except Exception as e:  # one failing path must not hide the others
            check(part.__name__, False, error=f"{type(e).__name__}: {e}"[:300])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"device": runs.device_name(device), "torch": torch.__version__,
                                 "date": time.strftime("%Y-%m-%d"), "checks": results}, indent=1) + "\n")
    failed = [r["check"] for r in results if not r["passed"]]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
