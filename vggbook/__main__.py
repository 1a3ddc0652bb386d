"""Command line: `python -m vggbook train|record|bench ...` (the same code the notebooks call)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from .bench import DEFAULT_VARIANTS, VARIANTS
    from .train import COMPILE_MODES, Speed
    p = argparse.ArgumentParser(prog="python -m vggbook", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one configuration and write its history as JSON")
    t.add_argument("--arch", default="vgg11", help="vgg11, vgg13, vgg16, vgg19, A..E, A-LRN or alexnet")
    t.add_argument("--ratio", type=int, default=4, help="divide every VGG width by this (1: full width)")
    t.add_argument("--resize", type=int, default=224, help="image side in px (>= 32 for 5 VGG blocks)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--lr", type=float, default=0.05)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--profile", choices=["full", "cpu", "smoke"], default=None,
                   help="default: $VGGBOOK_PROFILE, else full with CUDA and cpu without")
    t.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    t.add_argument("--compile", default=None, choices=COMPILE_MODES,
                   help="torch.compile the model with this mode (the first epoch includes compiling)")
    t.add_argument("--out", type=Path, default=None, help="where to write the history JSON")

    r = sub.add_parser("record", help="train every configuration the notebooks show (full profile, GPU) "
                                      "and write them to vggbook/results/")
    r.add_argument("--only", nargs="*", default=None, help="record files to (re)make, by name prefix")
    r.add_argument("--missing", action="store_true", help="skip configurations already recorded")
    r.add_argument("--results-dir", type=Path, default=None,
                   help="write here instead of vggbook/results/ (e.g. to compare a retrained set)")

    c = sub.add_parser("compare", help="check retrained runs against the recorded ones")
    c.add_argument("retrained", type=Path, help="folder of result JSON files, from `record --results-dir` "
                                                "or from notebooks run with VGGBOOK_RUNS_DIR set")
    c.add_argument("--tolerance", type=float, default=0.015,
                   help="largest allowed difference in final test accuracy (default 0.015)")
    c.add_argument("--allow-missing", action="store_true",
                   help="do not require every recorded configuration to have been retrained")

    sub.add_parser("data", help="find (or, with internet access, download) Fashion-MNIST and verify it")

    b = sub.add_parser("bench", help="d2l's recipe vs. the vggbook trainer, side by side")
    b.add_argument("--epochs", type=int, default=None, help="default: 10 (3 per variant with --ablation)")
    b.add_argument("--reference-epochs", type=int, default=None,
                   help="run the reference for fewer epochs and extrapolate from its steady epoch")
    b.add_argument("--limit", type=int, default=None, help="use only this many images (a quick check)")
    b.add_argument("--resize", type=int, default=224, help="image side in px (default 224, the chapter's)")
    b.add_argument("--device", default=None)
    b.add_argument("--compile", default=None, choices=COMPILE_MODES,
                   help="torch.compile the fast path with this mode (default: run it eagerly)")
    b.add_argument("--ablation", action="store_true",
                   help="instead: the fast path once per variant of its speed switches, side by side")
    b.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, choices=VARIANTS, metavar="VARIANT",
                   help=f"with --ablation, any of: {' '.join(VARIANTS)} (default: {' '.join(DEFAULT_VARIANTS)})")
    b.add_argument("--out", type=Path, default=None)

    a = p.parse_args(argv)
    if a.command == "train":
        from .train import TrainConfig, train
        cfg = TrainConfig(arch=a.arch, ratio=a.ratio, resize=a.resize, epochs=a.epochs, lr=a.lr,
                          batch_size=a.batch_size)
        h = train(cfg, profile=a.profile, device=a.device, speed=Speed(compile=a.compile))
        print(h.summary())
        if a.out:
            print(f"wrote {h.save(a.out)}")
        return 0 if not h.interrupted else 130
    if a.command == "record":
        from .experiments import all_configs
        from .records import RESULTS_DIR, find_record, record_name, save_record
        from .train import train
        results = a.results_dir or RESULTS_DIR
        for cfg in all_configs():
            name = record_name(cfg)
            if a.only is not None and not any(name.startswith(o) for o in a.only):
                continue
            if a.missing and find_record(cfg, results) is not None:
                continue
            h = train(cfg, profile="full", progress=False, live=False)
            print(h.summary(), flush=True)
            print(f"wrote {save_record(h, results)}", flush=True)
        return 0
    if a.command == "compare":
        from .records import compare
        problems = compare(a.retrained, tolerance=a.tolerance, require_all=not a.allow_missing)
        print("\n".join(problems) if problems else "all retrained runs agree with the recorded ones")
        return 1 if problems else 0
    if a.command == "data":
        from .data import find_data, load_fashion_mnist
        folder = find_data(download=True)
        d = load_fashion_mnist(folder)
        print(f"Fashion-MNIST verified in {folder}: {len(d.train_labels):,} training and "
              f"{len(d.test_labels):,} test images")
        return 0
    if a.command == "bench":
        from .bench import ablation, benchmark
        if a.ablation:
            ablation(a.epochs or 3, a.variants, device=a.device, limit=a.limit, resize=a.resize, out=a.out)
        else:
            benchmark(a.epochs or 10, a.reference_epochs, device=a.device, limit=a.limit,
                      resize=a.resize, speed=Speed(compile=a.compile), out=a.out)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
