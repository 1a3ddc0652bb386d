"""Side-by-side benchmark: the d2l recipe as a d2l reader runs it vs. vggbook's fast path.

Both train the narrow VGG-11 on Fashion-MNIST at 224 px (or `--resize`) with the same seed and
hyperparameters (SGD, lr 0.05, batch 128, Xavier init) in one process on the same device:
- reference: `d2l.load_data_fashion_mnist(128, resize=224)` (PIL resize in DataLoader workers) and
  `d2l.train_ch6` (fp32, a host sync every batch);
- fast: vggbook's loader (data on the device), `vggbook.train.fast` (bf16 or fp16 autocast,
  channels_last), cudnn.benchmark, and `vggbook.train.fit` (one host sync per epoch).
This is a tool beside the package: the package and the notebooks never import it. From the
project's root (VGGBOOK_DATA names the data folder if it is not found elsewhere):

    python bench/bench.py [--epochs 10] [--reference-epochs N] [--out bench/benchmark.json]
    python bench/bench.py --ablation [--resize 32] [--variants fast fp32 ...]
    python bench/bench.py --fresh REPEATS
    python bench/bench.py --device cpu --limit 640 --epochs 1 --resize 32    (a quick check)

`--ablation` measures what each switch of the fast path buys: the fast path a few epochs at a time
with one `Switches` setting changed (fp32 or fp16 instead of bf16, NCHW instead of channels_last,
no cudnn.benchmark, a host sync every batch, pool before ReLU, torch.compile, CUDA graphs).
`--fresh REPEATS` is the fair yardstick: the reference once and the fast path REPEATS times, each
in a new process, timed from its start to its exit. Every mode prints a table; `--out` writes JSON.
d2l's loader reads `../data` from the working directory: the reference runs with the working
directory set to this folder, so d2l's unpacked copy (55 MB) goes into the project's `data/`.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from vggbook import loader
from vggbook.data import load_fashion_mnist, prepare_d2l
from vggbook.models import build
from vggbook.runs import CHAPTER, Config, History, default_device, device_name, make_model
from vggbook.train import PRECISIONS, fast, fit, keep_freed_memory, precision_for

HERE = Path(__file__).resolve().parent
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


# ----- the fast path's switches, one variant at a time -----
@dataclass(frozen=True)
class Switches:
    """How the fast path uses the device. The defaults are the fast path; each ablation changes one."""
    precision: str = "auto"          # auto (as vggbook.train.precision_for picks it), bf16, fp16 or fp32
    channels_last: bool = True       # NHWC weights and images on a GPU (what vggbook.train.fast does)
    cudnn_benchmark: bool = True     # cuDNN times its algorithms for each new shape and keeps the best
    sync_every_batch: bool = False   # the host waits for the GPU before every batch, as after d2l's .item()
    pool_first: bool = False         # max-pool before the ReLU in front of it: same numbers, 1/4 of the ReLU's work
    compile: str | None = None       # a torch.compile mode (COMPILE_MODES); None: eager
    plain: bool = False              # no `fast` at all: the book's loop in fp32, as 04 shows it

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")
        if self.compile is not None and self.compile not in COMPILE_MODES:
            raise ValueError(f"unknown compile mode {self.compile!r}: use one of {', '.join(COMPILE_MODES)}")

    def label(self) -> str:
        """What differs from the fast path, e.g. 'fp32, compile=default' ('' for the fast path itself)."""
        names = {"channels_last": "NCHW", "cudnn_benchmark": "no cudnn.benchmark",
                 "sync_every_batch": "host sync every batch", "pool_first": "pool before ReLU"}
        changed = [] if self.precision == "auto" else [self.precision]
        changed += [text for key, text in names.items() if getattr(self, key) != getattr(Switches, key)]
        changed += [f"compile={self.compile}"] if self.compile else []
        return "plain fp32 loop (no vggbook.train.fast)" if self.plain else ", ".join(changed)


def pool_before_relu(net: nn.Module) -> nn.Module:
    """`net` with every `ReLU, MaxPool2d` pair turned into `MaxPool2d, ReLU`, in place.

    ReLU is monotone, so it commutes with max: outputs and gradients are the same, and the ReLU
    touches a quarter of the elements. The parameters stay the same objects.
    """
    for seq in net.modules():
        if isinstance(seq, nn.Sequential):
            for i in range(len(seq) - 1):
                if isinstance(seq[i], nn.ReLU) and isinstance(seq[i + 1], nn.MaxPool2d):
                    seq[i], seq[i + 1] = seq[i + 1], seq[i]
    return net


def wait_for(device: torch.device) -> None:
    """Block the host until the device has done its queued work (nothing to wait for on a CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def switched(net: nn.Module, optimizer, device: torch.device, switches: Switches):
    """(model, optimizer, precision) that train `net` (on `device` already) with `switches`.

    Built on `vggbook.train.fast`; on exit cudnn.benchmark is as it was and the sync hook is gone.
    """
    if switches.plain:
        yield net, optimizer, "fp32"
        return
    if switches.pool_first:
        pool_before_relu(net)
    if device.type == "cpu":
        keep_freed_memory()  # the fast path on a CPU, as the command line trains it
    model, optimizer, precision = fast(net, optimizer, device, switches.precision)
    hooks = []
    if not switches.channels_last:  # undo fast's channels_last, for the weights and for every batch
        net.to(memory_format=torch.contiguous_format)
        hooks.append(net.register_forward_pre_hook(lambda m, args: (args[0].contiguous(), *args[1:])))
    if switches.sync_every_batch:  # training batches only: evaluation does not wait in d2l either
        hooks.append(model.register_forward_pre_hook(lambda m, args: wait_for(device) if m.training else None))
    if switches.compile:
        torch._dynamo.reset()  # each variant compiles its own model afresh
        model = torch.compile(model, mode=switches.compile, dynamic=False)
    saved = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = device.type == "cuda" and switches.cudnn_benchmark
    try:
        yield model, optimizer, precision
    finally:
        torch.backends.cudnn.benchmark = saved
        for hook in hooks:
            hook.remove()


def train_fast(cfg: Config, device: torch.device, switches: Switches = Switches(), data=None) -> History:
    """Train `cfg` (the chapter's recipe: plain SGD, constant lr) on the fast path with `switches`."""
    net = make_model(cfg).to(device)
    train_iter, test_iter = loader.loaders(
        cfg.batch_size, cfg.resize, train_limit=cfg.train_limit, test_limit=cfg.test_limit, device=device,
        channels_last=device.type == "cuda" and switches.channels_last, seed=cfg.seed,
        data=data if data is not None else load_fashion_mnist())
    optimizer = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay, foreach=True)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with switched(net, optimizer, device, switches) as (model, optimizer, precision):
        h = History(cfg, "full", device_name(device), _now(), torch.__version__, precision)
        h.epochs = fit(model, train_iter, test_iter, cfg.epochs, optimizer)
    if device.type == "cuda":
        h.peak_memory_bytes = int(torch.cuda.max_memory_allocated(device))
    return h


# ----- the two paths, each measured the same way -----
def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _steady(epoch_s: list[float]) -> float:
    """Mean time of the epochs after the first (which includes warm-up), or the one epoch run."""
    return statistics.mean(epoch_s[1:]) if len(epoch_s) > 1 else epoch_s[0]


def _d2l_loaders(d2l, resize: int, limit: int | None):
    """d2l's loaders (reading ../data, prepared offline), or the first `limit` images of each set."""
    if limit is not None and limit < 5 * 128:
        raise ValueError(f"limit={limit} is too small for the reference: d2l.train_ch6 needs at least 5 "
                         f"batches of 128 (limit >= 640), or no limit")
    prepare_d2l("../data")  # from VGGBOOK_DATA or wherever vggbook finds the archives
    train_iter, test_iter = d2l.load_data_fashion_mnist(128, resize=resize)
    if limit is None:
        return train_iter, test_iter
    from torch.utils.data import DataLoader, Subset
    return tuple(DataLoader(Subset(it.dataset, range(limit)), 128, shuffle=shuffle,
                            num_workers=d2l.get_dataloader_workers())
                 for it, shuffle in ((train_iter, True), (test_iter, False)))


def run_reference(epochs: int, *, device: torch.device, limit: int | None = None, resize: int = 224,
                  seed: int = 0) -> dict:
    """d2l's own loader and train_ch6; each epoch timed where train_ch6 evaluates it."""
    import matplotlib
    matplotlib.use("Agg")
    from d2l import torch as d2l

    t0 = time.perf_counter()
    with contextlib.chdir(HERE):  # d2l reads ../data: the project's data/ folder
        train_iter, test_iter = _d2l_loaders(d2l, resize, limit)
    torch.manual_seed(seed)
    net = build("vgg11", ratio=4, input_size=resize)  # train_ch6 applies Xavier: make_model's weights
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    stamps, accs, original = [], [], d2l.evaluate_accuracy_gpu

    def timed_eval(net, data_iter, device=None):  # train_ch6 calls it at the end of each epoch
        accs.append(original(net, data_iter, device))  # a Python float: the device has synced
        stamps.append(time.perf_counter())
        return accs[-1]

    d2l.evaluate_accuracy_gpu, out = timed_eval, io.StringIO()
    try:
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):  # train_ch6's Animator prints a figure per update
            d2l.train_ch6(net, train_iter, test_iter, epochs, 0.05, device)
        wait_for(device)
        end = time.perf_counter()
    finally:
        d2l.evaluate_accuracy_gpu = original
    epoch_s = [b - a for a, b in zip([start] + stamps[:-1], stamps)]
    printed = [line for line in out.getvalue().splitlines()
               if line.startswith(("loss", "training on")) or "examples/sec" in line]
    steady = _steady(epoch_s)
    return {"name": "reference (d2l.load_data_fashion_mnist + d2l.train_ch6, fp32)",
            "epochs_run": epochs, "wall_s": end - t0, "setup_s": start - t0, "epoch_s": epoch_s,
            "steady_epoch_s": steady, "images_per_s": len(train_iter.dataset) / steady,
            "test_acc": accs[-1], "test_acc_per_epoch": accs, "peak_memory_gib": _peak_gib(device),
            "d2l_printed": printed}


def _peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def run_fast(epochs: int, *, device: torch.device, limit: int | None = None, resize: int = 224,
             switches: Switches = Switches(), data=None) -> dict:
    """The fast path with `switches`, timed from before its data goes to the device to its last epoch."""
    cfg = replace(CHAPTER, epochs=epochs, resize=resize, train_limit=limit, test_limit=limit)
    wait_for(device)
    t0 = time.perf_counter()
    h = train_fast(cfg, device, switches, data)
    wait_for(device)
    wall = time.perf_counter() - t0
    epoch_s = [e["seconds"] for e in h.epochs]
    steady = _steady(epoch_s)
    label = switches.label()
    name = (f"fast with {label}" if label else
            "fast (vggbook: data on device, autocast, channels_last, cudnn.benchmark, 1 sync/epoch)")
    return {"name": name, "speed": label or "defaults", "precision": h.precision, "epochs_run": epochs,
            "wall_s": wall, "setup_s": wall - sum(epoch_s), "epoch_s": epoch_s, "steady_epoch_s": steady,
            "images_per_s": min(limit or 60_000, 60_000) / steady, "test_acc": h.test_acc,
            "test_acc_per_epoch": [e["test_acc"] for e in h.epochs],
            "peak_memory_gib": h.peak_memory_gib, "history": h.to_dict()}


def _device(name: str | None) -> torch.device:
    return torch.device(name) if name else default_device()


def _write(result: dict, out: str | os.PathLike | None) -> None:
    if out:
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}")


# ----- side by side in one process -----
def estimate_wall(r: dict, epochs: int) -> float:
    """Wall time for `epochs` epochs: as measured if that many ran, else setup + first + steady epochs."""
    if r["epochs_run"] >= epochs:
        return r["wall_s"]
    return r["setup_s"] + r["epoch_s"][0] + (epochs - 1) * r["steady_epoch_s"]


def benchmark(epochs: int = 10, reference_epochs: int | None = None, *, device: str | None = None,
              limit: int | None = None, resize: int = 224, switches: Switches = Switches(),
              out: str | os.PathLike | None = None) -> dict:
    """Both paths, the reference first; print the table, write the JSON, return the result."""
    dev = _device(device)
    ref_epochs = reference_epochs or epochs
    ref = run_reference(ref_epochs, device=dev, limit=limit, resize=resize)
    fast_row = run_fast(epochs, device=dev, limit=limit, resize=resize, switches=switches)
    ref_wall = estimate_wall(ref, epochs)
    result = {"device": device_name(dev), "torch_version": torch.__version__, "date": _now(),
              "epochs": epochs, "reference_epochs_run": ref_epochs, "limit": limit, "resize": resize,
              "reference": ref, "fast": fast_row, "reference_wall_s_for_epochs": ref_wall,
              "reference_wall_is_estimate": ref_epochs < epochs,
              "speedup_wall": ref_wall / fast_row["wall_s"],
              "speedup_steady_epoch": ref["steady_epoch_s"] / fast_row["steady_epoch_s"]}
    print(format_result(result))
    _write(result, out)
    return result


def format_result(r: dict) -> str:
    lines = [f"Benchmark on {r['device']}, torch {r['torch_version']}, {r['date'][:10]}; narrow VGG-11, "
             f"Fashion-MNIST at {r['resize']} px, {r['epochs']} epochs"
             + (f", {r['limit']} images only" if r["limit"] else ""),
             f"{'':10} {'wall s':>8} {'steady epoch s':>15} {'images/s':>9} {'peak GiB':>9} {'test acc':>9}"]
    for key in ("reference", "fast"):
        x = r[key]
        wall = r["reference_wall_s_for_epochs"] if key == "reference" else x["wall_s"]
        mem = "-" if x["peak_memory_gib"] is None else f"{x['peak_memory_gib']:.2f}"
        lines.append(f"{key:10} {wall:8.1f} {x['steady_epoch_s']:15.2f} {x['images_per_s']:9.0f} "
                     f"{mem:>9} {x['test_acc']:9.4f}")
    est = " (estimated from its measured epochs)" if r["reference_wall_is_estimate"] else ""
    lines.append(f"speed-up: {r['speedup_wall']:.1f}x in wall time{est}, "
                 f"{r['speedup_steady_epoch']:.1f}x per steady epoch")
    if r["reference_wall_is_estimate"]:
        lines.append(f"the reference ran {r['reference_epochs_run']} epochs; its test acc is after those")
    return "\n".join(lines)


# ----- the ablation: one switch changed at a time -----
VARIANTS = {
    "fast": Switches(),
    "fp32": Switches(precision="fp32"),
    "fp16": Switches(precision="fp16"),
    "nchw": Switches(channels_last=False),
    "pool-first": Switches(pool_first=True),
    "no-cudnn-benchmark": Switches(cudnn_benchmark=False),
    "sync": Switches(sync_every_batch=True),
    "compile": Switches(compile="default"),
    "cudagraphs": Switches(compile="reduce-overhead"),
    "autotune": Switches(compile="max-autotune-no-cudagraphs"),
}
DEFAULT_VARIANTS = ("fast", "fp32", "fp16", "nchw", "pool-first", "sync", "compile", "cudagraphs")


def _check_variants(variants, epochs: int, device: torch.device) -> None:
    """Refuse, before anything trains, a variant that is unknown or cannot run on `device`."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")
    if epochs < 2:
        raise ValueError("an ablation needs at least 2 epochs per variant: the first one includes "
                         "compilation and cuDNN's algorithm search, the steady epochs are what it compares")
    for v in variants:
        try:
            precision_for(device, VARIANTS[v].precision)
        except ValueError as e:
            raise ValueError(f"variant {v}: {e}") from None


def ablation(epochs: int = 3, variants=DEFAULT_VARIANTS, *, device: str | None = None,
             limit: int | None = None, resize: int = 224, out: str | os.PathLike | None = None) -> dict:
    """The fast path once per variant, side by side in this process, on data loaded once."""
    dev = _device(device)
    _check_variants(variants, epochs, dev)
    data = load_fashion_mnist()
    torch.zeros(1, device=dev)  # the CUDA context exists before the first variant's clock starts
    rows = {}
    for name in variants:
        rows[name] = run_fast(epochs, device=dev, limit=limit, resize=resize, switches=VARIANTS[name],
                              data=data)
        rows[name].pop("history")
        print(f"{name}: {rows[name]['steady_epoch_s']:.2f} s per steady epoch", flush=True)
    result = {"device": device_name(dev), "torch_version": torch.__version__, "date": _now(),
              "epochs": epochs, "limit": limit, "resize": resize, "variants": rows}
    print(format_ablation(result))
    _write(result, out)
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


PATHS = {"fast": Switches(), "plain": Switches(plain=True)}  # the paths run_one runs besides d2l's


# ----- the fair yardstick: each path in a fresh process, timed from process start to its exit -----
def run_one(path: str, epochs: int, *, device: str | None = None, limit: int | None = None,
            resize: int = 224) -> dict:
    """One path ('reference' or 'fast') for all `epochs` in this process: `--one PATH`, for `--fresh`."""
    dev = _device(device)
    if path == "reference":
        r = run_reference(epochs, device=dev, limit=limit, resize=resize)
    elif path in PATHS:
        r = run_fast(epochs, device=dev, limit=limit, resize=resize, switches=PATHS[path])
        r.pop("history")
    else:
        raise ValueError(f"unknown path {path!r}: use 'reference', {' or '.join(map(repr, PATHS))}")
    return {**r, "path": path, "device": device_name(dev), "torch_version": torch.__version__}


def _in_fresh_process(path: str, epochs: int, result: Path, *, device, limit, resize) -> dict:
    """Run this script with `--one path` in a new Python; its result, with the process's wall time."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", path, "--epochs", str(epochs),
           "--resize", str(resize), "--out", str(result)]
    cmd += ["--device", device] if device else []
    cmd += ["--limit", str(limit)] if limit else []
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    return {**json.loads(result.read_text()), "process_wall_s": wall}


def fresh(epochs: int = 10, repeats: int = 2, *, device: str | None = None, limit: int | None = None,
          resize: int = 224, out: str | os.PathLike | None = None) -> dict:
    """The reference once and the fast path `repeats` times, each in a new Python process.

    Wall time runs from just before the process starts to its exit: interpreter and torch import,
    CUDA context, data to the device, cuDNN autotuning, every epoch and the final evaluation are in
    it, for both paths alike. The ratio is the reference's wall time over the fast path's median.
    """
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(["reference"] + ["fast"] * repeats):
            r = _in_fresh_process(path, epochs, Path(tmp) / f"{i}-{path}.json", device=device, limit=limit,
                                  resize=resize)
            print(f"{path}: {r['process_wall_s']:.1f} s from process start to exit, "
                  f"test acc {r['test_acc']:.4f}", flush=True)
            runs.append(r)
    ref, fast_runs = runs[0], runs[1:]
    fast_median = statistics.median(r["process_wall_s"] for r in fast_runs)
    result = {"device": ref["device"], "torch_version": ref["torch_version"], "date": _now(),
              "method": "fresh processes", "epochs": epochs, "limit": limit, "resize": resize,
              "reference": ref, "fast_runs": fast_runs, "reference_wall_s": ref["process_wall_s"],
              "fast_wall_s_median": fast_median, "speedup_wall": ref["process_wall_s"] / fast_median}
    print(f"speed-up: {result['speedup_wall']:.2f}x ({ref['process_wall_s']:.1f} s / median "
          f"{fast_median:.1f} s of {repeats} fast runs)")
    _write(result, out)
    return result


CPU_BENCHMARK = HERE.parent / "vggbook" / "results" / "cpu" / "benchmark.json"
YARDSTICK_PATHS = {"reference": "d2l's recipe (d2l.load_data_fashion_mnist + d2l.train_ch6, fp32)",
                   "plain": "the book's loop (vggbook.train.fit + vggbook.loader, fp32, no fast)",
                   "fast": "the CPU fast path (fit + vggbook.train.fast: bf16 where the CPU has it)"}


def cpu_yardstick(epochs: int = 2, sizes=(32, 96), *, limit: int | None = None,
                  out: str | os.PathLike | None = CPU_BENCHMARK) -> dict:
    """The three CPU paths at each size, each in a new Python process timed from its start to its exit.

    Same seed and recipe (narrow VGG-11, SGD lr 0.05, batch 128, Xavier) and the same images for all
    three. `ratios[f"{size}px"]` holds the fast path's speed-up over d2l's recipe (`vs_d2l`) and over
    the plain fp32 loop (`vs_fp32`), in process wall time.
    """
    runs, ratios = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            wall = {}
            for path in YARDSTICK_PATHS:
                r = _in_fresh_process(path, epochs, Path(tmp) / f"{size}-{path}.json", device="cpu",
                                      limit=limit, resize=size)
                r.pop("d2l_printed", None)
                runs.append({**r, "resize": size, "what": YARDSTICK_PATHS[path]})
                wall[path] = r["process_wall_s"]
                print(f"{size} px, {path}: {wall[path]:.1f} s from process start to exit, "
                      f"test acc {r['test_acc']:.4f}", flush=True)
            ratios[f"{size}px"] = {"vs_d2l": wall["reference"] / wall["fast"],
                                   "vs_fp32": wall["plain"] / wall["fast"]}
    fast_run = next(r for r in runs if r["path"] == "fast")
    result = {"device": runs[0]["device"], "cpu": _cpu_name(), "torch_version": runs[0]["torch_version"],
              "date": _now(), "method": "fresh processes, timed from process start to exit",
              "epochs": epochs, "limit": limit, "precision": fast_run["precision"], "runs": runs,
              "ratios": ratios}
    for size, r in ratios.items():
        print(f"{size}: the fast path is {r['vs_d2l']:.2f}x d2l's recipe and {r['vs_fp32']:.2f}x the plain fp32 loop")
    _write(result, out)
    return result


def _cpu_name() -> str:
    """The CPU's model name and its bf16 support, e.g. 'AMD EPYC (2 cores, bf16 instructions)'."""
    from vggbook.train import cpu_has_bf16
    name = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"{name} ({os.cpu_count()} cores, {'bf16 instructions' if cpu_has_bf16() else 'no bf16 instructions'})"


# ----- command line -----
def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/bench.py", description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=_positive, default=None, help="default: 10 (3 per variant with --ablation)")
    p.add_argument("--reference-epochs", type=_positive, default=None,
                   help="run the reference for fewer epochs and extrapolate from its steady epoch")
    p.add_argument("--limit", type=_positive, default=None, help="use only this many images (a quick check)")
    p.add_argument("--resize", type=_positive, default=224, help="image side in px (default 224, the chapter's)")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    p.add_argument("--compile", default=None, choices=COMPILE_MODES,
                   help="torch.compile the fast path with this mode (default: run it eagerly)")
    p.add_argument("--ablation", action="store_true",
                   help="instead: the fast path once per variant of its switches, side by side")
    p.add_argument("--fresh", type=_positive, default=None, metavar="REPEATS",
                   help="instead: the reference once and the fast path REPEATS times, each in a new process "
                        "timed from its start (all epochs, nothing extrapolated)")
    p.add_argument("--one", choices=["reference", *PATHS], default=None, help=argparse.SUPPRESS)
    p.add_argument("--cpu-yardstick", action="store_true",
                   help="instead: d2l's recipe, the plain fp32 loop and the fast path on the CPU, each in a "
                        "new process, at 32 and 96 px (--sizes), 2 epochs (--epochs) -> results/cpu/benchmark.json")
    p.add_argument("--sizes", type=_positive, nargs="+", default=None, help="with --cpu-yardstick (default: 32 96)")
    p.add_argument("--variants", nargs="+", default=None, metavar="VARIANT",
                   help=f"with --ablation: {' '.join(VARIANTS)} (default: {' '.join(DEFAULT_VARIANTS)})")
    p.add_argument("--out", type=Path, default=None, help="write the result as JSON to this file")
    p.add_argument("--traceback", action="store_true", help="on an error, show the whole traceback")
    return p


def _dispatch(a) -> None:
    where = {"device": a.device, "limit": a.limit, "resize": a.resize}
    if a.one:
        _write(run_one(a.one, a.epochs or 10, **where), a.out)
    elif a.cpu_yardstick:
        cpu_yardstick(a.epochs or 2, tuple(a.sizes or (32, 96)), limit=a.limit, out=a.out or CPU_BENCHMARK)
    elif a.fresh:
        fresh(a.epochs or 10, a.fresh, out=a.out, **where)
    elif a.ablation:
        ablation(a.epochs or 3, a.variants or DEFAULT_VARIANTS, out=a.out, **where)
    else:
        benchmark(a.epochs or 10, a.reference_epochs, switches=Switches(compile=a.compile), out=a.out, **where)


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    try:
        _dispatch(a)
    except (ValueError, OSError, RuntimeError) as e:  # vggbook's errors name the problem and the fix
        if a.traceback:
            raise
        print(f"error: {e}\n(add --traceback for the details)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
