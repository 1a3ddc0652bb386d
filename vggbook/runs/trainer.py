"""Training runs: a configuration in, a `History` out; and `run`, which decides whether to train.

`train(cfg, profile=...)` builds the data loaders, the model and the optimizer that `cfg` names,
wraps the model for speed (speed.py) and calls the chapter's loop (`vggbook.train.fit`), recording
every epoch in a History. It also turns what can go wrong into clear outcomes: Ctrl-C returns the
history so far (marked interrupted), a NaN loss raises TrainingDiverged, CUDA running out of memory
raises OutOfMemory with a batch size that fits better.

`run(cfg, settings)` is what the notebooks call: the recorded full GPU run of `cfg` when one exists
and retraining was not asked for, else a new run under the settings' profile.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import math
import platform
import signal
import threading
from pathlib import Path

import torch

from .. import data as data_mod
from .. import loader, variants
from ..speed import Speed, accelerated, precision_for
from ..train import fit, init_weights
from .config import Profile, TrainConfig, get_profile
from .history import History
from .records import find_record, record_name
from .settings import Settings


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. `.history` holds the epochs that finished."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


class OutOfMemory(RuntimeError):
    """CUDA ran out of memory; the message names the batch size and a smaller one to try."""


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


# Training speed of the chapter's narrow VGG-11 on a 2-core x86 CPU (fp32, torch 2.14.1), measured
# on 2026-11-28: images per second by image side, for estimating a run's time before it starts.
CPU_IMAGES_PER_S = ((32, 720.0), (96, 193.0), (224, 23.4))


def estimate_cpu_seconds(cfg: TrainConfig, threads: int | None = None) -> float:
    """A rough time for training `cfg` on this CPU, interpolated from the 2-core measurements above."""
    side = cfg.resize or 28
    (s0, r0), (s1, r1) = next(((a, b) for a, b in zip(CPU_IMAGES_PER_S, CPU_IMAGES_PER_S[1:])
                               if side <= b[0]), CPU_IMAGES_PER_S[-2:])
    rate = r0 * (r1 / r0) ** (math.log(side / s0) / math.log(s1 / s0))  # straight on log-log axes
    rate *= max(threads or torch.get_num_threads(), 1) / 2
    images = (cfg.train_limit or 60_000) + (cfg.test_limit or 10_000) / 3  # evaluation: forward only
    return cfg.epochs * images / rate


def make_model(cfg: TrainConfig) -> torch.nn.Sequential:
    """The network `cfg` names, with d2l's Xavier initialisation (seeded by cfg.seed)."""
    torch.manual_seed(cfg.seed)
    net = variants.build(cfg.arch, ratio=cfg.ratio, input_size=cfg.resize or 28, batch_norm=cfg.batch_norm)
    net.apply(init_weights)
    return net


def make_optimizer(cfg: TrainConfig, net: torch.nn.Module, steps_per_epoch: int):
    """SGD as `cfg` asks (d2l's plain SGD by default), and the learning-rate schedule or None."""
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay, foreach=True)
    if cfg.schedule == "constant":
        return opt, None
    if cfg.schedule == "onecycle":
        return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, epochs=cfg.epochs,
                                                        steps_per_epoch=steps_per_epoch, pct_start=0.25)
    raise ValueError(f"unknown schedule {cfg.schedule!r}: use 'constant' or 'onecycle'")


def _lower_lr(lr: float) -> str:
    """A learning rate worth trying after a divergence at `lr`."""
    if not math.isfinite(lr) or lr <= 0:
        return "lr=0.05 (the chapter's; the learning rate must be a positive number)"
    return f"lr={min(lr / 10, 0.05):g}"


@contextlib.contextmanager
def interruptible():
    """SIGTERM (kill, timeout, a job scheduler) stops training as Ctrl-C does: one path for both.

    Inside, SIGTERM raises KeyboardInterrupt, so the run ends with its history so far; the previous
    handler is restored on exit. Outside the main thread signals cannot be caught, and nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Progress:
    """A loader that advances a progress bar by one batch as each batch is taken."""

    def __init__(self, loader, bar):
        self.loader, self.bar = loader, bar
        self.device, self.labels = loader.device, loader.labels

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            yield batch
            self.bar.update()


def train_net(net, train_iter, test_iter, cfg: TrainConfig, *, requested: TrainConfig | None = None,
              profile: Profile | None = None, speed: Speed = Speed(), progress: bool = True,
              on_epoch=None, predict: bool = False) -> History:
    """Train `net` with `cfg`'s recipe through `fit`; return its History (also after Ctrl-C).

    With `predict`, the History also keeps the trained network's class for every test image, from
    the same wrapped model (precision, layout) that measured the test accuracy.
    """
    from tqdm.auto import tqdm

    device = train_iter.device
    history = History(config=(requested or cfg).to_dict(), run_config=cfg.to_dict(),
                      profile=profile.name if profile else "custom", device=device_name(device),
                      torch_version=torch.__version__,
                      date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                      train_images=len(train_iter.labels), test_images=len(test_iter.labels),
                      speed={**speed.to_dict(), "precision": precision_for(device, speed)})
    bar = tqdm(total=cfg.epochs * len(train_iter), unit="batch", disable=not progress,
               desc=cfg.label(), leave=True)

    def diverged(where: str) -> TrainingDiverged:
        history.diverged = True
        return TrainingDiverged(
            f"the training loss became NaN or infinite {where} (lr={cfg.lr:g}): the run was stopped. "
            f"Try a lower learning rate, e.g. {_lower_lr(cfg.lr)}, or batch norm. The "
            f"{len(history.epochs)} finished epoch(s) are in this error's .history.", history)

    def record(row: dict) -> None:
        if not math.isfinite(row["loss"]):
            raise diverged(f"in epoch {row['epoch']} of {cfg.epochs}")
        history.epochs.append(row)
        bar.set_postfix(loss=f"{row['loss']:.3f}", train=f"{row['train_acc']:.3f}",
                        test=f"{row['test_acc']:.3f}")
        if on_epoch is not None:
            on_epoch(row)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    try:
        optimizer, scheduler = make_optimizer(cfg, net, len(train_iter))
        with interruptible(), accelerated(net, optimizer, device, speed) as (model, optimizer):
            loss = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
            fit(model, _Progress(train_iter, bar), test_iter, cfg.epochs, optimizer, loss=loss,
                scheduler=scheduler, on_epoch=record)
            if predict:
                model.eval()
                with torch.no_grad():
                    history.predictions = torch.cat([model(X).argmax(dim=1) for X, _ in test_iter]).tolist()
    except FloatingPointError as e:
        raise diverged(f"in epoch {len(history.epochs) + 1} of {cfg.epochs} ({e})") from None
    except KeyboardInterrupt as e:
        history.interrupted = True
        why = f" by {e}" if str(e) else ""
        print(f"Interrupted{why} after {len(history.epochs)} finished epoch(s); returning the history so far.")
    except torch.cuda.OutOfMemoryError as e:
        del e  # free the frames that hold the failed step's tensors before emptying the cache
        torch.cuda.empty_cache()
        smaller = max(cfg.batch_size // 2, 1)
        raise OutOfMemory(
            f"CUDA ran out of memory training {cfg.label()} with batch_size={cfg.batch_size}. "
            f"Try batch_size={smaller} (and lr={cfg.lr / 2:g} to keep the recipe's step size per image), "
            f"a smaller resize, or free memory held by other notebooks (restart their kernels).") from None
    finally:
        bar.close()
    if device.type == "cuda":
        history.peak_memory_bytes = int(torch.cuda.max_memory_allocated(device))
    return history


def train_model(cfg: TrainConfig = TrainConfig(), *, profile: str | Profile = "full",
                device: str | torch.device | None = None, data: data_mod.FashionMNIST | None = None,
                data_dir: str | Path | None = None, speed: Speed = Speed(), progress: bool = True,
                on_epoch=None, predict: bool = False) -> tuple[History, torch.nn.Sequential]:
    """Train `cfg` as `profile` lets it (see config.py); return its History and the trained network.

    With `predict`, the History also keeps the final network's class for every test image used.
    """
    prof = get_profile(profile)
    run_cfg = prof.apply(cfg)
    device = torch.device(device) if device is not None else default_device()
    train_iter, test_iter = loader.loaders(
        run_cfg.batch_size, run_cfg.resize, train_limit=run_cfg.train_limit,
        test_limit=run_cfg.test_limit, device=device, channels_last=device.type == "cuda" and speed.channels_last,
        augment=run_cfg.augment, seed=run_cfg.seed, data=data or data_mod.load_fashion_mnist(data_dir))
    net = make_model(run_cfg)
    history = train_net(net, train_iter, test_iter, run_cfg, requested=cfg, profile=prof, speed=speed,
                        progress=progress, on_epoch=on_epoch, predict=predict)
    return history, net


def train(cfg: TrainConfig = TrainConfig(), **kwargs) -> History:
    """Train `cfg` as `profile` lets it (see config.py) and return its History (`train_model`'s arguments)."""
    return train_model(cfg, **kwargs)[0]


def run(cfg: TrainConfig, settings: Settings, *, verbose: bool = True, allow_slow: bool = False,
        **train_kwargs) -> History:
    """The recorded full run of `cfg` if there is one and `settings` do not ask to retrain, else a new run.

    A new run uses the settings' profile and data folder; with `settings.runs_dir` it is also written
    there, and a finished run of the same configuration and profile already there is reused (a
    configuration that two notebooks train is trained once per GPU job).
    """
    if not settings.retrain:
        h = find_record(cfg)
        if h is not None:
            if verbose:
                print(f"Loaded the recorded run ({h.profile} profile on {h.device}, {h.date[:10]}); "
                      f"set RETRAIN = True or VGGBOOK_RETRAIN=1 to train.\n{h.summary()}")
            return h
    profile = settings.profile  # decided before the reuse check, which compares it with an earlier run's
    device = torch.device(train_kwargs.get("device") or default_device())
    if device.type == "cpu" and profile == "full" and not allow_slow:
        hours = estimate_cpu_seconds(cfg) / 3600
        if hours > 0.25:
            print(f"WARNING: the full profile would take about {hours:.1f} hours on this CPU; training with "
                  f"the cpu profile instead (pass allow_slow=True to run(), or use a GPU).")
            profile = "cpu"
    earlier = settings.runs_dir / record_name(cfg) if settings.runs_dir else None
    if earlier is not None and earlier.exists():
        h = History.load(earlier)
        if h.profile == profile and not h.interrupted:
            if verbose:
                print(f"Reused the run already trained in {settings.runs_dir} (VGGBOOK_RUNS_DIR).\n{h.summary()}")
            return h
    train_kwargs.setdefault("data_dir", settings.data_dir)
    h = train(cfg, profile=profile, **train_kwargs)
    if verbose:
        print(h.summary())
    if earlier is not None:
        h.save(earlier)
        if verbose:
            print(f"saved to {earlier} (VGGBOOK_RUNS_DIR)")
    return h
