"""Recorded full-profile GPU runs (JSON files in vggbook/results/) and `run`, which the notebooks call.

`run(cfg)` returns the recorded run for exactly this configuration when one exists, and trains
otherwise, or when asked to (`retrain=True` or VGGBOOK_RETRAIN=1). The recorded files ship inside the
package, so a Colab install has them too.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .profiles import retrain_requested
from .train import History, TrainConfig, train

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def record_name(cfg: TrainConfig) -> str:
    """A file name that is readable and unique for the configuration, e.g. vgg11-r4-224px-e10-1a2b3c4d.json."""
    digest = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    width = "" if cfg.arch == "alexnet" else f"-r{cfg.ratio}"
    return f"{cfg.arch}{width}-{cfg.resize or 28}px-e{cfg.epochs}-{digest}.json"


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
    return [History.load(p) for p in sorted(results_dir.glob("*.json")) if p.name != "benchmark.json"]


def save_record(history: History, results_dir: Path = RESULTS_DIR) -> Path:
    if history.profile != "full" or history.interrupted or not history.device.startswith(("NVIDIA", "cuda")):
        raise ValueError("only finished full-profile GPU runs are recorded for the book, got "
                         f"profile={history.profile}, device={history.device}, interrupted={history.interrupted}")
    return history.save(results_dir / record_name(TrainConfig(**history.config)))


def compare(retrained_dir: Path, results_dir: Path = RESULTS_DIR, *, tolerance: float = 0.015) -> list[str]:
    """Problems found comparing retrained runs with the recorded ones (empty: they agree).

    Runs are matched by configuration. Final test accuracy must agree within `tolerance`
    (cuDNN's kernels are not bit-reproducible, so a retrained run differs a little).
    """
    problems = []
    retrained = all_records(Path(retrained_dir))
    if not retrained:
        return [f"no result files in {retrained_dir}"]
    for h in retrained:
        cfg = TrainConfig(**h.config)
        ref = find_record(cfg, results_dir)
        if ref is None:
            problems.append(f"{cfg.label()}: no recorded run to compare with")
        elif abs(h.test_acc - ref.test_acc) > tolerance:
            problems.append(f"{cfg.label()}: test acc {h.test_acc:.4f} retrained vs {ref.test_acc:.4f} "
                            f"recorded, more than {tolerance} apart")
    return problems


def run(cfg: TrainConfig = TrainConfig(), *, retrain: bool | None = None, verbose: bool = True,
        **train_kwargs) -> History:
    """The recorded full run of `cfg` if there is one (and no retraining is asked), else a new run."""
    if not retrain_requested(retrain):
        h = find_record(cfg)
        if h is not None:
            if verbose:
                print(f"Loaded the recorded run ({h.profile} profile on {h.device}, {h.date[:10]}); "
                      f"set RETRAIN = True or VGGBOOK_RETRAIN=1 to train.\n{h.summary()}")
            return h
    h = train(cfg, **train_kwargs)
    if verbose:
        print(h.summary())
    return h
