"""Side-by-side benchmark: the d2l recipe as a d2l reader runs it vs. the vggbook trainer.

Both train the narrow VGG-11 on Fashion-MNIST at 224 px (or `--resize`) with the same seed and
hyperparameters (SGD, lr 0.05, batch 128, Xavier init) in one process on the same device:
- reference: `d2l.load_data_fashion_mnist(128, resize=224)` (PIL resize in DataLoader workers) and
  `d2l.train_ch6` (fp32, a host sync every batch);
- fast: `vggbook.runs.train` (data on the device, bf16, channels_last, one sync per epoch).
Run it with `python -m vggbook bench`; it prints a table and writes a JSON file.

`python -m vggbook bench --ablation` measures instead what each switch of the fast path buys: the
vggbook trainer a few epochs at a time with one `Speed` setting changed (fp32 instead of bf16, NCHW
instead of channels_last, a host sync every batch, torch.compile, CUDA graphs), side by side.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import time
from pathlib import Path

import torch

from .. import data as data_mod
from ..models import VGG11_ARCH, narrow, vgg
from ..runs import PROFILES, TrainConfig, train
from ..runs.trainer import default_device, device_name
from ..speed import Speed


def _steady(epoch_s: list[float]) -> float:
    """Mean time of the epochs after the first (which includes warm-up), or the one epoch run."""
    return sum(epoch_s[1:]) / len(epoch_s[1:]) if len(epoch_s) > 1 else epoch_s[0]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_reference(epochs: int, *, device: torch.device, limit: int | None = None, resize: int = 224,
                  seed: int = 0, data_dir: str | os.PathLike | None = None) -> dict:
    """d2l's own loader and train_ch6; per-epoch times taken where train_ch6 evaluates each epoch."""
    if limit is not None and limit < 5 * 128:
        raise ValueError(f"limit={limit} is too small for the reference: d2l.train_ch6 needs at least 5 "
                         f"batches of 128 (limit >= 640), or no limit")
    import matplotlib
    matplotlib.use("Agg")
    from d2l import torch as d2l

    data_mod.prepare_d2l("../data", data_dir)  # where d2l looks, relative to the working directory
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    train_iter, test_iter = d2l.load_data_fashion_mnist(128, resize=resize)
    if limit is not None:  # a quick check of this code path on a CPU
        from torch.utils.data import DataLoader, Subset
        train_iter = DataLoader(Subset(train_iter.dataset, range(limit)), 128, shuffle=True,
                                num_workers=d2l.get_dataloader_workers())
        test_iter = DataLoader(Subset(test_iter.dataset, range(limit)), 128, shuffle=False,
                               num_workers=d2l.get_dataloader_workers())
    net = vgg(narrow(VGG11_ARCH, 4), input_size=resize)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    stamps, accs = [], []
    original = d2l.evaluate_accuracy_gpu

    def timed_eval(net, data_iter, device=None):  # train_ch6 calls this once at the end of each epoch
        acc = original(net, data_iter, device)   # returns a Python float: the device is synced
        stamps.append(time.perf_counter())
        accs.append(acc)
        return acc

    d2l.evaluate_accuracy_gpu = timed_eval
    out = io.StringIO()
    try:
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):  # train_ch6's Animator prints a figure repr per update
            d2l.train_ch6(net, train_iter, test_iter, epochs, 0.05, device)
        _sync(device)
        end = time.perf_counter()
    finally:
        d2l.evaluate_accuracy_gpu = original
    epoch_s = [b - a for a, b in zip([start] + stamps[:-1], stamps)]
    printed = [line for line in out.getvalue().splitlines() if line.startswith(("loss", "training on"))
               or "examples/sec" in line]
    n = len(train_iter.dataset)
    steady = _steady(epoch_s)
    return {"name": "reference (d2l.load_data_fashion_mnist + d2l.train_ch6, fp32)",
            "epochs_run": epochs, "wall_s": end - t0, "setup_s": start - t0, "epoch_s": epoch_s,
            "steady_epoch_s": steady, "images_per_s": n / steady, "test_acc": accs[-1],
            "test_acc_per_epoch": accs,
            "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
            "d2l_printed": printed}


def run_fast(epochs: int, *, device: torch.device, limit: int | None = None, resize: int = 224,
             speed: Speed = Speed(), data_dir: str | os.PathLike | None = None) -> dict:
    cfg = TrainConfig(epochs=epochs, resize=resize, train_limit=limit, test_limit=limit)
    _sync(device)
    t0 = time.perf_counter()
    h = train(cfg, profile=PROFILES["full"], device=device, speed=speed, progress=False, data_dir=data_dir)
    _sync(device)
    wall = time.perf_counter() - t0
    epoch_s = [e["seconds"] for e in h.epochs]
    steady = _steady(epoch_s)
    name = "fast (vggbook.runs.train: data on device, bf16, channels_last, 1 sync/epoch)"
    if speed.label():
        name = f"fast with {speed.label()}"
    return {"name": name, "speed": speed.label() or "defaults", "epochs_run": epochs,
            "wall_s": wall, "setup_s": wall - sum(epoch_s), "epoch_s": epoch_s,
            "steady_epoch_s": steady, "images_per_s": h.train_images / steady, "test_acc": h.test_acc,
            "test_acc_per_epoch": [e["test_acc"] for e in h.epochs],
            "peak_memory_gib": h.peak_memory_gib, "history": h.to_dict()}


def estimate_wall(r: dict, epochs: int) -> float:
    """Wall time for `epochs` epochs: as measured if that many ran, else setup + first + steady epochs."""
    if r["epochs_run"] >= epochs:
        return r["wall_s"]
    return r["setup_s"] + r["epoch_s"][0] + (epochs - 1) * r["steady_epoch_s"]


def benchmark(epochs: int = 10, reference_epochs: int | None = None, *, device: str | None = None,
              limit: int | None = None, resize: int = 224, speed: Speed = Speed(),
              out: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None) -> dict:
    """Run both paths; return (and optionally write) the result with the wall-time ratio."""
    dev = torch.device(device) if device else default_device()
    ref_epochs = reference_epochs or epochs
    ref = run_reference(ref_epochs, device=dev, limit=limit, resize=resize, data_dir=data_dir)
    fast = run_fast(epochs, device=dev, limit=limit, resize=resize, speed=speed, data_dir=data_dir)
    ref_wall = estimate_wall(ref, epochs)
    result = {
        "device": device_name(dev), "torch_version": torch.__version__,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "epochs": epochs, "reference_epochs_run": ref_epochs, "limit": limit, "resize": resize,
        "reference": ref, "fast": fast,
        "reference_wall_s_for_epochs": ref_wall,
        "reference_wall_is_estimate": ref_epochs < epochs,
        "speedup_wall": ref_wall / fast["wall_s"],
        "speedup_steady_epoch": ref["steady_epoch_s"] / fast["steady_epoch_s"],
    }
    print(format_result(result))
    if out:
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
    return result


def format_result(r: dict) -> str:
    est = " (estimated from its measured epochs)" if r["reference_wall_is_estimate"] else ""
    lines = [f"Benchmark on {r['device']}, torch {r['torch_version']}, {r['date'][:10]}; "
             f"narrow VGG-11, Fashion-MNIST at {r.get('resize', 224)} px, {r['epochs']} epochs"
             + (f", {r['limit']} images only" if r["limit"] else ""),
             f"{'':10} {'wall s':>8} {'steady epoch s':>15} {'images/s':>9} {'peak GiB':>9} {'test acc':>9}"]
    for key in ("reference", "fast"):
        x = r[key]
        wall = r["reference_wall_s_for_epochs"] if key == "reference" else x["wall_s"]
        mem = "-" if x["peak_memory_gib"] is None else f"{x['peak_memory_gib']:.2f}"
        lines.append(f"{key:10} {wall:8.1f} {x['steady_epoch_s']:15.2f} {x['images_per_s']:9.0f} "
                     f"{mem:>9} {x['test_acc']:9.4f}")
    lines.append(f"speed-up: {r['speedup_wall']:.1f}x in wall time{est}, "
                 f"{r['speedup_steady_epoch']:.1f}x per steady epoch")
    if r["reference_wall_is_estimate"]:
        lines.append(f"the reference ran {r['reference_epochs_run']} epochs; its test acc is after those")
    return "\n".join(lines)


# The switches `--ablation` tries, each one change from the fast path's defaults.
VARIANTS = {
    "fast": Speed(),
    "fp32": Speed(precision="fp32"),
    "fp16": Speed(precision="fp16"),
    "nchw": Speed(channels_last=False),
    "pool-first": Speed(pool_first=True),
    "no-cudnn-benchmark": Speed(cudnn_benchmark=False),
    "sync": Speed(sync_every_batch=True),
    "compile": Speed(compile="default"),
    "cudagraphs": Speed(compile="reduce-overhead"),
    "autotune": Speed(compile="max-autotune-no-cudagraphs"),
}
DEFAULT_VARIANTS = ("fast", "fp32", "fp16", "nchw", "pool-first", "sync", "compile", "cudagraphs")


def ablation(epochs: int = 3, variants=DEFAULT_VARIANTS, *, device: str | None = None,
             limit: int | None = None, resize: int = 224, out: str | os.PathLike | None = None,
             data_dir: str | os.PathLike | None = None) -> dict:
    """Train the fast path once per variant (one Speed switch changed), side by side in this process."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")
    if epochs < 2:
        raise ValueError("an ablation needs at least 2 epochs per variant: the first one includes "
                         "compilation and cuDNN's algorithm search, the steady epochs are what it compares")
    dev = torch.device(device) if device else default_device()
    torch.zeros(1, device=dev)  # create the CUDA context before the first variant's clock starts
    rows = {}
    for name in variants:
        rows[name] = run_fast(epochs, device=dev, limit=limit, resize=resize, speed=VARIANTS[name],
                              data_dir=data_dir)
        rows[name].pop("history")
        print(f"{name}: {rows[name]['steady_epoch_s']:.2f} s per steady epoch", flush=True)
    result = {"device": device_name(dev), "torch_version": torch.__version__,
              "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "epochs": epochs, "limit": limit, "resize": resize, "variants": rows}
    print(format_ablation(result))
    if out:
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
    return result


def format_ablation(r: dict) -> str:
    rows = r["variants"]
    base = rows.get("fast", next(iter(rows.values())))["steady_epoch_s"]
    scope = f", {r['limit']} images only" if r["limit"] else ""
    lines = [f"Ablation on {r['device']}, torch {r['torch_version']}, {r['date'][:10]}; narrow VGG-11 at "
             f"{r['resize']} px, {r['epochs']} epochs per variant{scope}",
             f"{'variant':20} {'first epoch s':>13} {'steady epoch s':>15} {'vs fast':>8} {'peak GiB':>9} "
             f"{'test acc':>9}"]
    for name, x in rows.items():
        mem = "-" if x["peak_memory_gib"] is None else f"{x['peak_memory_gib']:.2f}"
        lines.append(f"{name:20} {x['epoch_s'][0]:13.2f} {x['steady_epoch_s']:15.2f} "
                     f"{base / x['steady_epoch_s']:7.2f}x {mem:>9} {x['test_acc']:9.4f}")
    return "\n".join(lines)


# ----- the fair yardstick: each path in a fresh process, timed from process start to its result -----
def run_one(path: str, epochs: int, *, device: str | None = None, limit: int | None = None,
            resize: int = 224, data_dir: str | os.PathLike | None = None) -> dict:
    """One path ('reference' or 'fast') for all `epochs`, in this process; the CLI's `bench --one`."""
    dev = torch.device(device) if device else default_device()
    if path == "reference":
        r = run_reference(epochs, device=dev, limit=limit, resize=resize, data_dir=data_dir)
    elif path == "fast":
        r = run_fast(epochs, device=dev, limit=limit, resize=resize, data_dir=data_dir)
        r.pop("history")
    else:
        raise ValueError(f"unknown path {path!r}: use 'reference' or 'fast'")
    return {**r, "path": path, "device": device_name(dev), "torch_version": torch.__version__}


def fresh(epochs: int = 10, repeats: int = 2, *, device: str | None = None, limit: int | None = None,
          resize: int = 224, out: str | os.PathLike | None = None,
          data_dir: str | os.PathLike | None = None) -> dict:
    """The reference once and the fast path `repeats` times, each in a new Python process.

    Wall time runs from just before the process is started to its exit: interpreter and torch
    import, CUDA context, data to the device, cuDNN autotuning, compilation or capture, every epoch
    and the final evaluation are all in it, for both paths alike. The ratio is the reference's wall
    time over the median of the fast path's.
    """
    import statistics
    import subprocess
    import sys
    import tempfile

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(["reference"] + ["fast"] * repeats):
            result = Path(tmp) / f"{i}-{path}.json"
            cmd = [sys.executable, "-m", "vggbook", "bench", "--one", path, "--epochs", str(epochs),
                   "--resize", str(resize), "--out", str(result)]
            cmd += ["--device", device] if device else []
            cmd += ["--limit", str(limit)] if limit else []
            env = {**os.environ, **({"VGGBOOK_DATA": str(data_dir)} if data_dir else {})}
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            r = json.loads(result.read_text())
            r["process_wall_s"] = wall
            runs.append(r)
            print(f"{path}: {wall:.1f} s from process start to exit, test acc {r['test_acc']:.4f}", flush=True)
    ref, fast_runs = runs[0], runs[1:]
    fast_median = statistics.median(r["process_wall_s"] for r in fast_runs)
    summary = {"device": ref["device"], "torch_version": ref["torch_version"],
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "method": "fresh processes", "epochs": epochs, "limit": limit, "resize": resize,
               "reference": ref, "fast_runs": fast_runs,
               "reference_wall_s": ref["process_wall_s"], "fast_wall_s_median": fast_median,
               "speedup_wall": ref["process_wall_s"] / fast_median}
    print(f"speed-up: {summary['speedup_wall']:.2f}x ({ref['process_wall_s']:.1f} s / median "
          f"{fast_median:.1f} s of {repeats} fast runs)")
    if out:
        Path(out).write_text(json.dumps(summary, indent=1) + "\n")
    return summary
