"""The environment variables of this project, read here and nowhere else in the package.

  VGGBOOK_PROFILE   full | cpu | smoke: how much of each training run to do (default: full where
                    CUDA is available, cpu elsewhere)
  VGGBOOK_RETRAIN   1/true/yes/on: train even where a recorded run exists (0/false/no/off or unset: don't)
  VGGBOOK_DATA      a folder holding Fashion-MNIST, looked in before the usual places (data.py)
  VGGBOOK_RUNS_DIR  a folder where every run that is trained is also written (the GPU job compares them)

A notebook reads them once, in its top cell (`settings = Settings.from_env(retrain=RETRAIN)`), and
passes `settings` on; library functions take explicit arguments.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .config import PROFILES

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def _flag(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE | _FALSE:
        return v in _TRUE
    raise ValueError(f"{name}={value!r} is neither yes nor no: use 1/true/yes/on or 0/false/no/off")


@dataclass(frozen=True)
class Settings:
    profile: str              # the run profile's name: 'full', 'cpu' or 'smoke'
    retrain: bool = False     # train even where a recorded run exists
    data_dir: Path | None = None   # where to look for Fashion-MNIST first
    runs_dir: Path | None = None   # also write every trained run here

    @classmethod
    def from_env(cls, *, retrain: bool = False, environ: Mapping[str, str] | None = None) -> "Settings":
        """The settings the environment asks for; `retrain=True` (a notebook's RETRAIN) also retrains."""
        env = os.environ if environ is None else environ
        default = "full" if torch.cuda.is_available() else "cpu"
        profile = env.get("VGGBOOK_PROFILE", "").strip().lower() or default
        if profile not in PROFILES:
            raise ValueError(f"VGGBOOK_PROFILE={env['VGGBOOK_PROFILE']!r} is not a run profile: "
                             f"use one of {', '.join(PROFILES)}, or unset it (default: {default} here)")
        data = env.get("VGGBOOK_DATA", "").strip()
        runs = env.get("VGGBOOK_RUNS_DIR", "").strip()
        return cls(profile=profile, retrain=retrain or _flag("VGGBOOK_RETRAIN", env.get("VGGBOOK_RETRAIN", "")),
                   data_dir=Path(data).expanduser() if data else None,
                   runs_dir=Path(runs).expanduser() if runs else None)

    def replace(self, **changes) -> "Settings":
        return replace(self, **changes)
