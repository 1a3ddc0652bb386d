"""Recorded runs (JSON files in vggbook/results/): find, save, and compare with.

- vggbook/results/*.json: full-profile runs on a CUDA GPU, the chapter's results the book shows;
- vggbook/results/cpu/*.json: cpu-profile runs on a CPU, shown beside them and labelled as CPU runs
  (what a reader without a GPU gets in about 8 minutes).
The recorded files ship inside the package, so a Colab install has them too. `compare` checks runs
retrained on a GPU (the GPU job) against the GPU records.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .config import TrainConfig
from .history import History, RecordError, check_figures

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
CPU_RESULTS_DIR = RESULTS_DIR / "cpu"


def record_name(cfg: TrainConfig) -> str:
    """A file name that is readable and unique for the configuration, e.g. vgg11-r4-224px-e10-1a2b3c4d.json."""
    digest = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    width = "" if cfg.arch == "alexnet" else f"-r{cfg.ratio}"
    return f"{cfg.arch}{width}-{cfg.resize or 28}px-e{cfg.epochs}-{digest}.json"


def is_full_gpu_run(h: History) -> bool:
    """A finished run with the full profile on a CUDA GPU: the only kind the book records or compares."""
    return h.profile == "full" and not h.interrupted and h.device.startswith(("NVIDIA", "cuda"))


def is_cpu_run(h: History) -> bool:
    """A finished run with the cpu profile on a CPU: the book's CPU records."""
    return h.profile == "cpu" and not h.interrupted and h.device.startswith("cpu")


def record_problems(h: History, kind: str = "gpu") -> list[str]:
    """Why a run cannot be shown as a recorded run of the book (empty: it can).

    kind 'gpu': a finished full-profile run on a CUDA GPU; kind 'cpu': a finished cpu-profile run on a CPU.
    """
    from .config import PROFILES
    problems = []
    if kind == "gpu" and not is_full_gpu_run(h):
        problems.append(f"it is a{'n interrupted' if h.interrupted else ''} {h.profile}-profile run on "
                        f"{h.device}, and the book records only finished full-profile runs on a CUDA GPU")
    if kind == "cpu" and not is_cpu_run(h):
        problems.append(f"it is a{'n interrupted' if h.interrupted else ''} {h.profile}-profile run on "
                        f"{h.device}, and the book's CPU records are finished cpu-profile runs on a CPU")
    if h.diverged:
        problems.append("its loss diverged")
    problems += check_figures(h)
    cfg = TrainConfig(**h.config)
    ran = PROFILES["full" if kind == "gpu" else "cpu"].apply(cfg)
    if h.run_config != ran.to_dict():
        differ = [k for k, v in ran.to_dict().items() if h.run_config.get(k) != v]
        problems.append(f"the configuration run differs from what the {'full' if kind == 'gpu' else 'cpu'} "
                        f"profile runs for it in {', '.join(differ)}")
    expected = (ran.train_limit or 60_000, ran.test_limit or 10_000)
    if (h.train_images, h.test_images) != expected:
        problems.append(f"it saw {h.train_images:,}/{h.test_images:,} train/test images, not {expected[0]:,}/{expected[1]:,}")
    if kind == "gpu" and (not h.peak_memory_bytes or h.peak_memory_bytes <= 0):
        problems.append("it has no peak GPU memory")
    if h.digest != h.content_digest():
        problems.append("its content does not match its digest (it was changed after it was recorded)"
                        if h.digest else "it has no digest")
    return problems


def find_record(cfg: TrainConfig, results_dir: Path = RESULTS_DIR, *, kind: str = "gpu") -> History | None:
    """The recorded run whose requested configuration equals `cfg`, or None if there is none.

    A record that exists but cannot be trusted (not JSON, a wrong schema, an edited, interrupted or
    smoke-profile run, figures that do not add up) raises RecordError naming the file and the fix.
    kind='cpu' looks for the CPU record instead (in results/cpu/ unless `results_dir` is given).
    """
    if kind == "cpu" and results_dir == RESULTS_DIR:
        results_dir = CPU_RESULTS_DIR
    path = results_dir / record_name(cfg)
    if not path.is_file():
        return None
    h = History.load(path)
    problems = record_problems(h, kind)
    if h.config != cfg.to_dict():
        problems.insert(0, f"it records {TrainConfig(**h.config).label()}, not {cfg.label()}")
    if problems:
        again = (f"on a GPU (python -m vggbook record --only {path.stem})" if kind == "gpu" else
                 f"on a CPU (python -m vggbook record --cpu --only {path.stem})")
        raise RecordError(f"{path} cannot be shown as the recorded run: {'; '.join(problems)}. Restore it "
                          f"(git checkout -- {path}) or record it again {again}")
    h.source = "recorded"
    return h


def all_records(results_dir: Path = RESULTS_DIR) -> list[History]:
    """Every training run in `results_dir` itself (benchmark*.json files hold benchmarks, not runs)."""
    return [History.load(p) for p in sorted(results_dir.glob("*.json")) if not p.name.startswith("benchmark")]


def save_record(history: History, results_dir: Path = RESULTS_DIR, *, kind: str = "gpu") -> Path:
    """Write a run as the book's record (kind 'gpu', or 'cpu' into results/cpu/), with its digest."""
    if kind == "cpu" and results_dir == RESULTS_DIR:
        results_dir = CPU_RESULTS_DIR
    history.digest = history.content_digest()
    problems = record_problems(history, kind)
    if problems:
        what = "full-profile GPU runs" if kind == "gpu" else "cpu-profile runs on a CPU"
        raise ValueError(f"only finished {what} are recorded for the book: {'; '.join(problems)}")
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
