"""Recorded full-profile GPU runs (JSON files in vggbook/results/): find, save, and compare with.

The recorded files ship inside the package, so a Colab install has them too. `compare` checks runs
retrained on a GPU (the GPU job) against them.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .config import TrainConfig
from .history import History

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


def record_name(cfg: TrainConfig) -> str:
    """A file name that is readable and unique for the configuration, e.g. vgg11-r4-224px-e10-1a2b3c4d.json."""
    digest = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    width = "" if cfg.arch == "alexnet" else f"-r{cfg.ratio}"
    return f"{cfg.arch}{width}-{cfg.resize or 28}px-e{cfg.epochs}-{digest}.json"


def is_full_gpu_run(h: History) -> bool:
    """A finished run with the full profile on a CUDA GPU: the only kind the book records or compares."""
    return h.profile == "full" and not h.interrupted and h.device.startswith(("NVIDIA", "cuda"))


def find_record(cfg: TrainConfig, results_dir: Path = RESULTS_DIR) -> History | None:
    """The recorded run whose requested configuration equals `cfg`, or None."""
    path = results_dir / record_name(cfg)
    if not path.is_file():
        return None
    h = History.load(path)
    if h.config != cfg.to_dict():  # a renamed or hand-edited file: do not trust it
        return None
    h.source = "recorded"
    return h


def all_records(results_dir: Path = RESULTS_DIR) -> list[History]:
    """Every training run recorded in `results_dir` (benchmark*.json files hold benchmarks, not runs)."""
    return [History.load(p) for p in sorted(results_dir.glob("*.json")) if not p.name.startswith("benchmark")]


def save_record(history: History, results_dir: Path = RESULTS_DIR) -> Path:
    if not is_full_gpu_run(history):
        raise ValueError("only finished full-profile GPU runs are recorded for the book, got "
                         f"profile={history.profile}, device={history.device}, interrupted={history.interrupted}")
    return history.save(results_dir / record_name(TrainConfig(**history.config)))


def compare(retrained_dir: Path, results_dir: Path = RESULTS_DIR, *, tolerance: float = 0.015,
            require_all: bool = True) -> list[str]:
    """Problems found comparing retrained runs with the recorded ones (empty: they agree).

    Runs are matched by configuration. Each retrained run must be a finished full-profile run on a
    CUDA GPU, and its final test accuracy must agree with the record's within `tolerance` (cuDNN's
    kernels are not bit-reproducible, so a retrained run differs a little). With `require_all`,
    every recorded configuration must have been retrained.
    """
    problems = []
    retrained = all_records(Path(retrained_dir))
    if not retrained:
        return [f"no result files in {retrained_dir}"]
    seen = set()
    for h in retrained:
        cfg = TrainConfig(**h.config)
        seen.add(record_name(cfg))
        ref = find_record(cfg, results_dir)
        if not is_full_gpu_run(h):
            problems.append(f"{cfg.label()}: retrained with profile {h.profile} on {h.device}"
                            f"{' (interrupted)' if h.interrupted else ''}; only finished full-profile "
                            f"GPU runs can be compared (set VGGBOOK_PROFILE=full on a CUDA machine)")
        elif ref is None:
            problems.append(f"{cfg.label()}: no recorded run to compare with")
        elif abs(h.test_acc - ref.test_acc) > tolerance:
            problems.append(f"{cfg.label()}: test acc {h.test_acc:.4f} retrained vs {ref.test_acc:.4f} "
                            f"recorded, more than {tolerance} apart")
    if require_all:
        for ref in all_records(results_dir):
            cfg = TrainConfig(**ref.config)
            if record_name(cfg) not in seen:
                problems.append(f"{cfg.label()}: recorded, but not retrained in {retrained_dir}")
    return problems
