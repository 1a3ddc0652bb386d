"""Command line: `python -m vggbook train|record|compare|data|bench ...` (the code the notebooks call).

Errors print one line that names the problem and the fix, and exit non-zero; `--traceback` shows
the whole Python traceback instead.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .speed import COMPILE_MODES, PRECISIONS


def _positive(kind: str):
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{kind} must be a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{kind} must be at least 1, got {value}")
        return value
    return check


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vggbook", description=__doc__.splitlines()[0])
    p.add_argument("--traceback", action="store_true", help="on an error, show the whole Python traceback")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one configuration and write its history as JSON")
    t.add_argument("--arch", default="vgg11", help="vgg11, vgg13, vgg16, vgg19, A..E, A-LRN or alexnet")
    t.add_argument("--ratio", type=_positive("--ratio"), default=4, help="divide every VGG width by this (1: full width)")
    t.add_argument("--resize", type=_positive("--resize"), default=224, help="image side in px (>= 32 for 5 VGG blocks)")
    t.add_argument("--epochs", type=_positive("--epochs"), default=10)
    t.add_argument("--lr", type=float, default=0.05)
    t.add_argument("--batch-size", type=_positive("--batch-size"), default=128)
    t.add_argument("--profile", choices=["full", "cpu", "smoke"], default=None,
                   help="default: $VGGBOOK_PROFILE, else full with CUDA and cpu without")
    t.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    t.add_argument("--compile", default=None, choices=COMPILE_MODES,
                   help="torch.compile the model with this mode (the first epoch includes compiling)")
    t.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto: bf16 on GPUs that have it (compute capability >= 8.0), fp16 with a "
                        "gradient scaler on older GPUs, fp32 on a CPU")
    t.add_argument("--out", type=Path, default=None, help="where to write the history JSON (a file name)")
    t.add_argument("--yes", action="store_true", help="train even when it would take hours on a CPU")

    r = sub.add_parser("record", help="train every configuration the notebooks show (full profile, GPU) "
                                      "and write them to vggbook/results/")
    r.add_argument("--only", nargs="*", default=None, help="record files to (re)make, by name prefix")
    r.add_argument("--missing", action="store_true", help="skip configurations already recorded")
    r.add_argument("--results-dir", type=Path, default=None,
                   help="write here instead of vggbook/results/ (e.g. to compare a retrained set)")
    r.add_argument("--pending", action="store_true",
                   help="record the GPU runs wanted but not yet shown (d2l's AlexNet at lr 0.01, VGG-16 with "
                        "batch norm): experiments.GPU_PENDING")
    r.add_argument("--cpu", action="store_true",
                   help="record the book's CPU runs instead (cpu profile on this CPU, into vggbook/results/cpu/; "
                        "about 8 minutes each on 2 cores)")

    c = sub.add_parser("compare", help="check retrained runs against the recorded ones")
    c.add_argument("retrained", type=Path, help="folder of result JSON files, from `record --results-dir` "
                                                "or from notebooks run with VGGBOOK_RUNS_DIR set")
    c.add_argument("--tolerance", type=float, default=0.015,
                   help="largest allowed difference in final test accuracy (default 0.015)")
    c.add_argument("--allow-missing", action="store_true",
                   help="do not require every recorded configuration to have been retrained")

    sub.add_parser("data", help="find (or, with internet access, download) Fashion-MNIST and verify it")

    b = sub.add_parser("bench", help="d2l's recipe vs. the vggbook trainer, side by side")
    b.add_argument("--epochs", type=_positive("--epochs"), default=None,
                   help="default: 10 (3 per variant with --ablation)")
    b.add_argument("--reference-epochs", type=_positive("--reference-epochs"), default=None,
                   help="run the reference for fewer epochs and extrapolate from its steady epoch")
    b.add_argument("--limit", type=_positive("--limit"), default=None, help="use only this many images (a quick check)")
    b.add_argument("--resize", type=_positive("--resize"), default=224, help="image side in px (default 224, the chapter's)")
    b.add_argument("--device", default=None)
    b.add_argument("--compile", default=None, choices=COMPILE_MODES,
                   help="torch.compile the fast path with this mode (default: run it eagerly)")
    b.add_argument("--ablation", action="store_true",
                   help="instead: the fast path once per variant of its speed switches, side by side")
    b.add_argument("--fresh", type=_positive("--fresh"), default=None, metavar="REPEATS",
                   help="instead: the fair yardstick, the reference once and the fast path REPEATS times, "
                        "each in a new process timed from its start (all epochs, nothing extrapolated)")
    b.add_argument("--one", choices=["reference", "fast"], default=None, help=argparse.SUPPRESS)
    b.add_argument("--variants", nargs="+", default=None, metavar="VARIANT",
                   help="with --ablation: fast fp32 fp16 nchw pool-first no-cudnn-benchmark sync compile "
                        "cudagraphs autotune (default: fast fp32 fp16 nchw pool-first sync compile cudagraphs)")
    b.add_argument("--out", type=Path, default=None)
    return p


def _save(h, out: Path | None) -> None:
    """Write a run to --out; a partial run (interrupted, diverged) never replaces a file already there."""
    if out is None:
        return
    if not h.epochs:
        print(f"no epoch finished: nothing written to {out}")
        return
    partial = "interrupted" if h.interrupted else "diverged" if h.diverged else ""
    if partial and out.exists():
        kept, out = out, out.with_name(f"{out.stem}.{partial}{out.suffix}")
        print(f"{kept} already exists and is kept: the {partial} run goes to {out}")
    print(f"wrote {h.save(out)}")


def _check_time(cfg, profile: str, device: str | None, yes: bool) -> None:
    """Refuse, before any work, a run that would take hours on this CPU, unless --yes."""
    import torch
    from .runs import get_profile
    from .runs.trainer import estimate_cpu_seconds
    on_cpu = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cpu")
    if not on_cpu:
        return
    seconds = estimate_cpu_seconds(get_profile(profile).apply(cfg))
    if seconds > 15 * 60 and not yes:
        raise RuntimeError(
            f"{cfg.label()} with the {profile} profile would take about {seconds / 3600:.1f} hours on this CPU "
            f"(estimated from the speed of a 2-core CPU; no GPU is in use). Use --profile cpu (minutes), "
            f"a CUDA GPU, or add --yes to train anyway")

def _train(a, settings) -> int:
    from .runs import TrainConfig, TrainingDiverged, train
    from .speed import Speed
    if a.out is not None and a.out.is_dir():  # say so before training, not after
        raise IsADirectoryError(f"--out {a.out} is a folder: give a file name, e.g. --out {a.out / 'run.json'}")
    cfg = TrainConfig(arch=a.arch, ratio=a.ratio, resize=a.resize, epochs=a.epochs, lr=a.lr,
                      batch_size=a.batch_size)
    profile = a.profile or settings.profile
    _check_time(cfg, profile, a.device, a.yes)
    try:
        h = train(cfg, profile=profile, device=a.device, data_dir=settings.data_dir,
                  speed=Speed(compile=a.compile, precision=a.precision))
    except TrainingDiverged as e:
        _save(e.history, a.out)
        raise
    print(h.summary())
    _save(h, a.out)
    return 0 if not h.interrupted else 130


def _record(a, settings) -> int:
    import torch
    from .runs import CPU_RECORDED, all_configs, find_record, record_name, save_record, weights
    from .runs.experiments import MODEL_RECORDED
    from .runs.trainer import train_model
    from .runs.records import CPU_RESULTS_DIR, RESULTS_DIR
    if a.cpu:
        kind, profile, device, configs = "cpu", "cpu", "cpu", CPU_RECORDED
        results = a.results_dir or CPU_RESULTS_DIR
    else:
        if not torch.cuda.is_available():  # at once, not after hours of training that cannot be saved
            raise RuntimeError("record trains the full profile and saves only runs on a CUDA GPU, and this "
                               "machine has none (torch.cuda.is_available() is False): run it on a GPU "
                               "machine, or record the CPU runs with `record --cpu`")
        kind, profile, device, configs = "gpu", "full", None, all_configs()
        if a.pending:
            from .runs.experiments import GPU_PENDING
            configs = GPU_PENDING
        results = a.results_dir or RESULTS_DIR
    for cfg in configs:
        name = record_name(cfg)
        if a.only is not None and not any(name.startswith(o) for o in a.only):
            continue
        if a.missing and find_record(cfg, results, kind=kind) is not None:
            continue
        with_model = cfg in MODEL_RECORDED
        h, net = train_model(cfg, profile=profile, device=device, data_dir=settings.data_dir, progress=False,
                             predict=with_model)
        print(h.summary(), flush=True)
        print(f"wrote {save_record(h, results, kind=kind)}", flush=True)
        if with_model and a.results_dir is None:
            print(f"wrote {weights.save_features(net, cfg, kind)} and {weights.save_model(net, cfg, kind)}",
                  flush=True)
    return 0


def _bench(a, settings) -> int:
    from .speed import Speed
    from .tools.bench import DEFAULT_VARIANTS, ablation, benchmark, fresh, run_one
    if a.one:  # one path in this process, for `--fresh`
        import json
        r = run_one(a.one, a.epochs or 10, device=a.device, limit=a.limit, resize=a.resize,
                    data_dir=settings.data_dir)
        if a.out:
            a.out.write_text(json.dumps(r, indent=1) + "\n")
        return 0
    if a.fresh:
        fresh(a.epochs or 10, a.fresh, device=a.device, limit=a.limit, resize=a.resize, out=a.out,
              data_dir=settings.data_dir)
    elif a.ablation:
        ablation(a.epochs or 3, a.variants or DEFAULT_VARIANTS, device=a.device, limit=a.limit,
                 resize=a.resize, out=a.out, data_dir=settings.data_dir)
    else:
        benchmark(a.epochs or 10, a.reference_epochs, device=a.device, limit=a.limit, resize=a.resize,
                  speed=Speed(compile=a.compile), out=a.out, data_dir=settings.data_dir)
    return 0


def _dispatch(a) -> int:
    from .runs import Settings
    settings = Settings.from_env()
    if a.command == "train":
        return _train(a, settings)
    if a.command == "record":
        return _record(a, settings)
    if a.command == "compare":
        from .runs import compare
        problems = compare(a.retrained, tolerance=a.tolerance, require_all=not a.allow_missing)
        print("\n".join(problems) if problems else "all retrained runs agree with the recorded ones")
        return 1 if problems else 0
    if a.command == "data":
        from .data import find_data, load_fashion_mnist
        folder = find_data(settings.data_dir, download=True)
        d = load_fashion_mnist(folder)
        print(f"Fashion-MNIST verified in {folder}: {len(d.train_labels):,} training and "
              f"{len(d.test_labels):,} test images")
        return 0
    if a.command == "bench":
        return _bench(a, settings)
    return 2


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    if a.traceback:
        return _dispatch(a)
    try:
        return _dispatch(a)
    except (ValueError, OSError, RuntimeError) as e:  # the package's errors name the problem and the fix
        print(f"error: {e}\n(run with --traceback for the details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
