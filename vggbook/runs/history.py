"""`History`: what one training run did, per epoch, and where and how it ran; saved as JSON."""
from __future__ import annotations

import dataclasses
import json
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
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
        tweaks = Speed(**self.speed).label() if self.speed else ""
        head = (f"{asked}{scope} | {self.source} run, profile {self.profile}, "
                f"{self.device}, torch {self.torch_version}, {self.date[:10]}"
                + (f" | {tweaks}" if tweaks else ""))
        if not f:
            return head + "\nno epoch finished" + (" | INTERRUPTED" if self.interrupted else "")
        return (head + f"\nloss {f['loss']:.3f}, train acc {f['train_acc']:.3f}, test acc {f['test_acc']:.3f}"
                f" | {self.seconds:.1f} s for {len(self.epochs)} epochs, "
                f"{self.images_per_second:,.0f} images/s | peak GPU memory {mem}"
                + (" | INTERRUPTED" if self.interrupted else ""))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | os.PathLike) -> Path:
        return write_atomic(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "History":
        return cls.from_dict(json.loads(Path(path).read_text()))
