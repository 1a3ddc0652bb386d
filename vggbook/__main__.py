"""Command line: `python -m vggbook train|record|compare|data` (the code the notebooks call).

Errors print one line that names the problem and the fix; `--traceback`, anywhere on the line, shows
the whole traceback instead. Ctrl-C or SIGTERM ends a training run with its finished epochs.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import torch

from . import runs
from .data import find_data, load_fashion_mnist
from .train import PRECISIONS, precision_for


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def _arch(text: str) -> str:
    """An architecture's name in any case ('VGG16', 'a-lrn'); an unknown one is left for Config to refuse."""
    return {name.lower(): name for name in runs.ARCHS}.get(text.lower(), text)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vggbook", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one configuration and write its history as JSON")
    t.add_argument("--arch", type=_arch, help=", ".join(runs.ARCHS) + " (default: vgg11)")
    t.add_argument("--ratio", type=_positive, help="divide every VGG width by this (default 4; 1: full width)")
    t.add_argument("--resize", type=_positive, help="image side in px (default 224; >= 32 for 5 VGG blocks). "
                                                    "What you give is trained as given; the profile shrinks "
                                                    "only what you leave at the chapter's values")
    t.add_argument("--epochs", type=_positive, help="default 10")
    t.add_argument("--lr", type=float, help="default 0.05")
    t.add_argument("--batch-size", type=_positive, help="default 128")
    t.add_argument("--profile", choices=list(runs.PROFILES), default=None,
                   help="how much of the run to do (default: $VGGBOOK_PROFILE, else full with CUDA, cpu without)")
    t.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    t.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto: bf16 on GPUs with compute capability >= 8.0, fp16 on older GPUs; bf16 on CPUs "
                        "with bf16 instructions (AVX512_BF16 or AMX), fp32 on other CPUs")
    t.add_argument("--out", type=Path, default=None, help="where to write the history JSON (a file name)")
    r = sub.add_parser("record", help="train the book's runs that have no record yet and write them to "
                                      "vggbook/results/ (full profile on a GPU, or --cpu)")
    r.add_argument("names", nargs="*", help="record these (e.g. vgg16-bn-96px), even if recorded already")
    r.add_argument("--cpu", action="store_true", help="the book's CPU runs (cpu profile: 2 to 20 minutes each on 2 cores)")
    c = sub.add_parser("compare", help="check runs retrained on a GPU against the recorded ones")
    c.add_argument("retrained", type=Path, help="the VGGBOOK_RUNS_DIR of a GPU job")
    c.add_argument("--tolerance", type=float, default=0.015, help="largest allowed test-accuracy difference")
    c.add_argument("--allow-missing", action="store_true", help="not every record needs retraining")
    sub.add_parser("data", help="find (or, online, download) Fashion-MNIST and verify it")
    return p


def _device(name: str | None) -> torch.device:
    try:
        device = torch.device(name) if name else runs.default_device()
    except RuntimeError:
        raise ValueError(f"--device {name!r} is not a device: use cuda or cpu") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda, but torch sees no CUDA GPU here: use --device cpu")
    return device


def _check_out(out: Path | None) -> None:
    """Refuse, before any training, an --out that cannot be written."""
    if out is None:
        return
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder: give a file name, e.g. --out {out / 'run.json'}")
    folder = next(p for p in out.absolute().parents if p.exists())
    if not folder.is_dir():
        raise ValueError(f"--out {out}: {folder} is a file, not a folder; choose another place")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"--out {out}: {folder} is not writable; choose another place")


def _train(a) -> int:
    given = dict(arch=a.arch, ratio=a.ratio, resize=a.resize, epochs=a.epochs, lr=a.lr, batch_size=a.batch_size,
                 precision=a.precision)
    cfg = runs.Config(**{k: v for k, v in given.items() if v is not None})
    profile = a.profile or runs.current_profile()
    device = _device(a.device)
    precision_for(device, a.precision)          # these need no data: check them first
    _check_out(a.out)
    with torch.device("meta"):  # builds no weights: an impossible image size fails here
        runs.make_model(runs.sized(cfg, profile))
    h, _ = runs.train(cfg, profile=profile, device=device)
    print(h.summary())
    if a.out is not None:
        if not h.epochs:
            print(f"no epoch finished: nothing written to {a.out}")
        else:
            out = a.out
            if h.interrupted and out.exists():  # a finished run is never replaced by an interrupted one
                out = out.with_name(f"{out.stem}.interrupted{out.suffix}")
                print(f"{a.out} already exists and is kept: the interrupted run goes to {out}")
            print(f"wrote {h.save(out)}")
    return 130 if h.interrupted else 0


def _record(a) -> int:
    profile = "cpu" if a.cpu else "full"
    if profile == "full" and not torch.cuda.is_available():
        raise RuntimeError("record keeps only full-profile runs on a CUDA GPU, and torch sees none here: "
                           "run it on a GPU machine, or record the CPU runs with `record --cpu`")
    configs = runs.RECORDED[profile]
    known = {runs.sized(c, profile).name(): c for c in configs}
    unknown = [n for n in a.names if n not in known]
    if unknown:
        raise ValueError(f"no run of the book is named {', '.join(unknown)}: choose from {', '.join(known)}")
    todo = [known[n] for n in a.names] or [c for c in configs if runs.recorded(c, profile) is None]
    if not todo:
        print(f"every {profile}-profile run of the book is recorded; name one to record it again")
    for cfg in todo:
        with_model = cfg == runs.INSIDE and profile == "cpu"   # 06 looks inside this one
        h, net = runs.train(cfg, profile=profile, device="cpu" if a.cpu else "cuda", progress=False,
                            predict=with_model)
        print(h.summary(), flush=True)
        if h.interrupted:
            raise RuntimeError("the run was interrupted: nothing recorded")
        print(f"wrote {h.save(runs.record_path(cfg, profile))}", flush=True)
        if with_model:
            print(f"wrote {runs.save_weights(net, cfg, profile, 'features')} and "
                  f"{runs.save_weights(net, cfg, profile, 'model')}", flush=True)
    return 0


def _dispatch(a) -> int:
    if a.command == "train":
        return _train(a)
    if a.command == "record":
        return _record(a)
    if a.command == "compare":
        problems = runs.compare(a.retrained, tolerance=a.tolerance, require_all=not a.allow_missing)
        print("\n".join(problems) if problems else "all retrained runs agree with the recorded ones")
        return 1 if problems else 0
    folder = find_data(download=True)
    d = load_fashion_mnist(folder)
    print(f"Fashion-MNIST verified in {folder}: {len(d.train_labels):,} training and "
          f"{len(d.test_labels):,} test images")
    return 0


def _stop(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    traceback = "--traceback" in argv
    a = _parser().parse_args([x for x in argv if x != "--traceback"])
    previous = signal.signal(signal.SIGTERM, _stop)  # a kill or a timeout ends training as Ctrl-C does
    try:
        return _dispatch(a)
    except (ValueError, OSError, RuntimeError, FloatingPointError) as e:  # they name the problem and the fix
        if traceback:
            raise
        advice = (": the run was stopped; try a lower learning rate (the chapter's is 0.05) or batch norm"
                  if isinstance(e, FloatingPointError) else "")
        print(f"error: {e}{advice}\n(add --traceback for the details)", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
