"""The run layer: configurations, profiles, run histories, recorded runs and the retrain decision.

Machinery, not the lesson: the notebooks call `run(cfg, settings)` and read the History it returns.
  config.py       TrainConfig (what a run is asked to do), Profile and PROFILES (how much of it is done)
  experiments.py  every configuration the notebooks show (CHAPTER, ALEXNET, ...)
  history.py      History: a run's epochs, device, date, memory; JSON; atomic file writes
  records.py      recorded full GPU runs (vggbook/results/): find, save, compare
  settings.py     Settings: the VGGBOOK_* environment variables, read here only
  trainer.py      train(cfg) -> History around the chapter's fit; run(cfg, settings)
  weights.py      trained weights and test predictions kept with a record (for 06)
"""
from .config import PROFILES, Profile, TrainConfig, get_profile
from .experiments import (ALEXNET, CHAPTER, CPU_RECORDED, DEPTH, DEPTH_BN, IMPROVED, RES_96, SWEEP, SWEEP_SIZES,
                          all_configs)
from .history import History, at_chance
from .records import compare, find_record, record_name, save_record
from .settings import Settings
from . import weights
from .trainer import OutOfMemory, TrainingDiverged, make_model, run, train, train_model, train_net

__all__ = ["ALEXNET", "CHAPTER", "CPU_RECORDED", "DEPTH_BN", "DEPTH", "IMPROVED", "PROFILES", "RES_96", "SWEEP", "SWEEP_SIZES",
           "History", "OutOfMemory", "at_chance", "Profile", "Settings", "TrainConfig", "TrainingDiverged",
           "all_configs", "compare", "find_record", "get_profile", "make_model", "record_name", "run",
           "save_record", "train", "train_model", "train_net", "weights"]
