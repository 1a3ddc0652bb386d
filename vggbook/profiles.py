"""Run profiles: how much of a training run to actually do, chosen by VGGBOOK_PROFILE.

- full:  the configuration as asked (the chapter: 60,000 images, 224 px, 10 epochs). For a GPU.
- cpu:   a reduced run that finishes in minutes on a laptop CPU: 2,000 training and 1,000 test
         images, 2 epochs, images at most 96 px.
- smoke: tiny, for CI and nbval on 2 CPU cores: 256 training and 256 test images, 1 epoch,
         images at most 96 px. It checks that the code runs, not what it learns.
Without the variable, `full` is used where CUDA is available and `cpu` elsewhere.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch

ENV_VAR = "VGGBOOK_PROFILE"
RETRAIN_VAR = "VGGBOOK_RETRAIN"


@dataclass(frozen=True)
class Profile:
    name: str
    train_limit: int | None   # training images used (None: all 60,000)
    test_limit: int | None    # test images used (None: all 10,000)
    max_epochs: int | None    # cap on the epochs asked for
    max_resize: int | None    # cap on the image size asked for (px)
    note: str                 # one line that says what the profile is

    def apply(self, config):
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
    "cpu": Profile("cpu", 2000, 1000, 2, 96,
                   "reduced for a CPU: 2,000/1,000 images, <= 2 epochs, <= 96 px"),
    "smoke": Profile("smoke", 256, 256, 1, 96,
                     "a smoke test: 256/256 images, 1 epoch, <= 96 px; its numbers mean nothing"),
}


def get_profile(name: str | Profile | None = None) -> Profile:
    """The named profile (or the Profile given), else $VGGBOOK_PROFILE, else `full` with CUDA and `cpu` without."""
    if isinstance(name, Profile):
        return name
    name = name or os.environ.get(ENV_VAR) or ("full" if torch.cuda.is_available() else "cpu")
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (from {ENV_VAR} or the argument): "
                         f"choose one of {', '.join(PROFILES)}") from None


def retrain_requested(retrain: bool | None = None) -> bool:
    """True when asked by the argument, else when $VGGBOOK_RETRAIN is 1/true/yes."""
    if retrain is not None:
        return retrain
    return os.environ.get(RETRAIN_VAR, "").strip().lower() in {"1", "true", "yes"}
