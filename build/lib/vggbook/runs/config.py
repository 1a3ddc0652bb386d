"""What a run is asked to do (`TrainConfig`) and how much of it a profile lets it do (`Profile`).

- full:  the configuration as asked (the chapter: 60,000 images, 224 px, 10 epochs). For a GPU.
- cpu:   the chapter's recipe, sized to learn on a laptop CPU in under 10 minutes (2 cores): all
         60,000 training and 10,000 test images, at most 6 epochs, images at most 32 px (the smallest
         size five 2x2 pools allow; 56 px also ends in a 1x1 map and costs 3x as much). The recorded
         CPU runs in vggbook/results/cpu/ say what it reaches.
- smoke: tiny, for CI and nbval on 2 CPU cores: 256 training and 256 test images, 1 epoch,
         images at most 96 px. It checks that the code runs, not what it learns.
Which profile a notebook or the CLI uses is decided in settings.py (VGGBOOK_PROFILE).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, replace

ARCHS = ("vgg11", "vgg13", "vgg16", "vgg19", "vgg11-lrn", "vgg16-1x1", "A", "A-LRN", "B", "C", "D", "E",
         "alexnet")
SCHEDULES = ("constant", "onecycle")


@dataclass(frozen=True)
class TrainConfig:
    arch: str = "vgg11"              # 'vgg11', 'vgg13', 'vgg16', 'vgg19', a Table-1 letter, or 'alexnet'
    ratio: int = 4                   # every VGG width divided by this (the chapter's narrow VGG); 1 = full
    resize: int | None = 224         # images are resized to resize x resize px (None: keep 28 x 28)
    epochs: int = 10
    lr: float = 0.05                 # the learning rate (the peak of the 'onecycle' schedule)
    batch_size: int = 128
    momentum: float = 0.0            # d2l.train_ch6 uses plain SGD
    weight_decay: float = 0.0
    schedule: str = "constant"       # 'constant' (the chapter) or 'onecycle' (warm-up, then anneal)
    batch_norm: bool = False         # BatchNorm2d after every conv (an improvement, not the chapter)
    augment: bool = False            # random flips and +-2 px shifts of the 28 x 28 images
    label_smoothing: float = 0.0
    seed: int = 0
    train_limit: int | None = None   # use only this many training images (None: all 60,000)
    test_limit: int | None = None    # use only this many test images (None: all 10,000)

    def __post_init__(self):
        """One check for every way a configuration is made (notebooks, CLI, records): fail early, say the fix."""
        def whole(name, value, low=1, none_ok=False):
            if value is None and none_ok:
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}{' or None' if none_ok else ''}, "
                                 f"got {value!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}: choose one of {', '.join(ARCHS)}")
        whole("ratio", self.ratio)
        whole("resize", self.resize, none_ok=True)
        whole("epochs", self.epochs)
        whole("batch_size", self.batch_size)
        whole("train_limit", self.train_limit, none_ok=True)
        whole("test_limit", self.test_limit, none_ok=True)
        for name in ("lr", "momentum", "weight_decay", "label_smoothing"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.lr == 0:
            raise ValueError("lr must be positive (the chapter's is 0.05), got 0")
        if self.label_smoothing >= 1:
            raise ValueError(f"label_smoothing must be below 1, got {self.label_smoothing}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}: use one of {', '.join(SCHEDULES)}")

    def label(self) -> str:
        """A short readable name, e.g. 'vgg11/4 @224px, 10 ep'."""
        width = "" if self.arch == "alexnet" or self.ratio == 1 else f"/{self.ratio}"
        size = self.resize or 28
        extra = " +recipe" if (self.momentum or self.weight_decay or self.augment or self.label_smoothing
                               or self.schedule != "constant") else ""
        return f"{self.arch}{width}{'-bn' if self.batch_norm else ''} @{size}px, {self.epochs} ep{extra}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Profile:
    name: str
    train_limit: int | None   # training images used (None: all 60,000)
    test_limit: int | None    # test images used (None: all 10,000)
    max_epochs: int | None    # cap on the epochs asked for
    max_resize: int | None    # cap on the image size asked for (px)
    note: str                 # one line that says what the profile is

    def apply(self, config: TrainConfig) -> TrainConfig:
        """The configuration this profile actually runs (a copy; the request is kept as is)."""
        def cap(value, limit):  # None as a value means "all" (limits) or "native 28 px" (resize)
            if limit is None:
                return value
            return limit if value is None else min(value, limit)
        return replace(config, epochs=cap(config.epochs, self.max_epochs),
                       resize=None if config.resize is None else cap(config.resize, self.max_resize),
                       train_limit=cap(config.train_limit, self.train_limit),
                       test_limit=cap(config.test_limit, self.test_limit))


PROFILES = {
    "full": Profile("full", None, None, None, None, "the chapter's settings, for a GPU"),
    "cpu": Profile("cpu", None, None, 6, 32,
                   "for a CPU: all 60,000/10,000 images, <= 6 epochs, images <= 32 px"),
    "smoke": Profile("smoke", 256, 256, 1, 96,
                     "a smoke test: 256/256 images, 1 epoch, <= 96 px; its numbers mean nothing"),
}


def get_profile(name: str | Profile) -> Profile:
    """The profile of that name (a Profile is returned as it is)."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)}") from None
