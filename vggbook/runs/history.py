"""`History`: what one training run did, per epoch, and where and how it ran; saved as JSON."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..speed import Speed
from .config import TrainConfig


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write a file through a temporary file in the same folder and a rename.

    An interruption leaves either the old file or the new one, never half of one, and no stray
    temporary file. Refuses a path that is an existing folder before anything is written.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: give a file name, e.g. {path / 'run.json'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class RecordError(ValueError):
    """A run file that cannot be used: not JSON, the wrong fields, or figures that do not add up."""


# The fields a run file must have, and their JSON types.
_SCHEMA = {"config": dict, "run_config": dict, "profile": str, "device": str, "torch_version": str,
           "date": str, "epochs": list}
_EPOCH = {"epoch": int, "loss": (int, float), "train_acc": (int, float), "test_acc": (int, float),
          "seconds": (int, float)}


@dataclass
class History:
    """What a training run did, per epoch, and where and how it ran. Saves to and loads from JSON."""
    config: dict                      # the configuration asked for
    run_config: dict                  # the configuration run (after the profile's caps)
    profile: str
    device: str                       # e.g. 'NVIDIA H100 80GB HBM3' or 'cpu (x86_64, 2 threads)'
    torch_version: str
    date: str                         # ISO date and time (UTC) when the run started
    epochs: list[dict] = field(default_factory=list)   # epoch, loss, train_acc, test_acc, seconds
    peak_memory_bytes: int | None = None               # torch.cuda.max_memory_allocated; None on CPU
    train_images: int = 0
    test_images: int = 0
    interrupted: bool = False
    source: str = "trained"            # 'trained' now, or 'recorded' (loaded from a JSON file)
    speed: dict = field(default_factory=dict)          # the Speed settings the run used
    diverged: bool = False             # stopped because the loss became NaN or infinite
    digest: str = ""                   # recorded runs: SHA-256 of the content, so an edit shows
    predictions: list[int] | None = None  # the final model's class for each test image (runs/weights.py)

    @property
    def final(self) -> dict:
        return self.epochs[-1] if self.epochs else {}

    @property
    def test_acc(self) -> float:
        return self.final.get("test_acc", float("nan"))

    @property
    def seconds(self) -> float:
        return sum(e["seconds"] for e in self.epochs)

    @property
    def images_per_second(self) -> float:
        return self.train_images * len(self.epochs) / self.seconds if self.epochs else float("nan")

    @property
    def peak_memory_gib(self) -> float | None:
        return None if self.peak_memory_bytes is None else self.peak_memory_bytes / 2**30

    @property
    def label(self) -> str:
        """The configuration that actually ran (after the profile's caps), and the profile unless full."""
        label = TrainConfig(**(self.run_config or self.config)).label()
        return label if self.profile == "full" else f"{label} [{self.profile}]"

    def summary(self) -> str:
        mem = "n/a (CPU)" if self.peak_memory_bytes is None else f"{self.peak_memory_gib:.2f} GiB"
        f = self.final
        asked, ran = TrainConfig(**self.config).label(), TrainConfig(**self.run_config).label()
        scope = "" if asked == ran else f" (profile {self.profile} ran it as: {ran})"
        if self.run_config.get("train_limit") or self.run_config.get("test_limit"):
            scope += f" on {self.train_images:,}/{self.test_images:,} train/test images"
        tweaks = Speed.from_dict(self.speed).label() if self.speed else ""
        head = (f"{asked}{scope} | {self.source} run, profile {self.profile}, "
                f"{self.device}, torch {self.torch_version}, {self.date[:10]}"
                + (f" | {tweaks}" if tweaks else ""))
        if not f:
            return head + "\nno epoch finished" + (" | INTERRUPTED" if self.interrupted else "")
        stuck = at_chance(self)
        warning = ""
        if stuck == len(self.epochs):
            warning = (f"\nWARNING: the run never left chance level (10 classes: loss ~ ln 10 = 2.30, accuracy "
                       f"~ 0.1) in {stuck} epoch(s). The learning rate may be too high for this network "
                       f"(the chapter's is 0.05), or the network too deep for plain SGD without batch norm.")
        elif stuck:
            warning = f"\nnote: the first {stuck} epoch(s) stayed at chance level before the network began to learn."
        return (head + f"\nloss {f['loss']:.3f}, train acc {f['train_acc']:.3f}, test acc {f['test_acc']:.3f}"
                f" | {self.seconds:.1f} s for {len(self.epochs)} epochs, "
                f"{self.images_per_second:,.0f} images/s | peak GPU memory {mem}"
                + (" | INTERRUPTED" if self.interrupted else "") + warning)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | os.PathLike) -> Path:
        return write_atomic(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def content_digest(self) -> str:
        """SHA-256 of what the run measured: every field but `digest` and `source` that is not at its
        default, so that a field added later (with a default) leaves the digests of older files alone."""
        defaults = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
                    for f in dataclasses.fields(self)}
        d = {k: v for k, v in self.to_dict().items()
             if k not in ("digest", "source") and not (k in defaults and v == defaults[k])}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    @classmethod
    def load(cls, path: str | os.PathLike) -> "History":
        """Read a run file; RecordError naming the file if it is not a run history."""
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise RecordError(f"{path} is not a JSON run history ({e}): restore it from git "
                              f"(git checkout -- {path}) or delete it") from None
        problems = check_schema(d)
        if problems:
            raise RecordError(f"{path} is not a run history of this version: {'; '.join(problems)}. "
                              f"Restore it from git or delete it")
        try:
            TrainConfig(**d["config"]), TrainConfig(**d["run_config"])
        except (TypeError, ValueError) as e:
            raise RecordError(f"{path} holds a configuration this version cannot run: {e}. Restore it "
                              f"from git (git checkout -- {path}) or delete it") from None
        return cls.from_dict(d)


def at_chance(h: History, classes: int = 10) -> int:
    """How many epochs, from the first, stayed at chance level.

    A plain VGG that has not started to learn (too high a learning rate, or too deep for SGD without
    batch norm) sits at test accuracy ~ 1/classes and training loss ~ ln(classes): an epoch counts as
    at chance while its test accuracy is below 2/classes or its loss above 0.9 ln(classes).
    """
    n = 0
    for e in h.epochs:
        if e["test_acc"] >= 2 / classes and e["loss"] <= 0.9 * math.log(classes):
            break
        n += 1
    return n


def check_schema(d) -> list[str]:
    """What is wrong with the fields of a run file's JSON (empty: nothing)."""
    if not isinstance(d, dict):
        return [f"expected a JSON object, found {type(d).__name__}"]
    problems = [f"'{k}' is missing" if k not in d else f"'{k}' should be {t.__name__}"
                for k, t in _SCHEMA.items() if not isinstance(d.get(k), t)]
    for i, e in enumerate(d.get("epochs") or [], start=1):
        if not isinstance(e, dict) or any(not isinstance(e.get(k), t) or isinstance(e.get(k), bool)
                                          for k, t in _EPOCH.items()):
            problems.append(f"epoch row {i} should have {', '.join(_EPOCH)} as numbers")
            break
    for k in ("peak_memory_bytes",):
        if d.get(k) is not None and not isinstance(d.get(k), int):
            problems.append(f"'{k}' should be a whole number or null")
    return problems


def check_figures(h: History) -> list[str]:
    """Figures of a finished run that do not add up (empty: they do)."""
    problems = []
    epochs = [e["epoch"] for e in h.epochs]
    if epochs != list(range(1, len(epochs) + 1)):
        problems.append(f"epochs are numbered {epochs}, not 1..{len(epochs)}")
    if not h.interrupted and not h.diverged and len(epochs) != h.run_config.get("epochs"):
        problems.append(f"{len(epochs)} epochs recorded for a finished run of {h.run_config.get('epochs')}")
    for e in h.epochs:
        if not all(0 <= e[k] <= 1 for k in ("train_acc", "test_acc")):
            problems.append(f"epoch {e['epoch']}: accuracies outside [0, 1]")
        if not (math.isfinite(e["loss"]) and e["loss"] >= 0) or not e["seconds"] > 0:
            problems.append(f"epoch {e['epoch']}: loss {e['loss']} or seconds {e['seconds']} impossible")
    return problems
