"""Training: the chapter's recipe (d2l.train_ch6) by default, fast on a GPU, correct on a CPU.

Same recipe as `d2l.train_ch6`: Xavier-uniform weights, SGD, cross-entropy, test accuracy after
every epoch. What makes it fast on a GPU (see `bench.py` for the side-by-side measurement):
- the data stay on the GPU as uint8 and each batch is resized there (`data.DeviceLoader`);
- bf16 autocast and channels_last tensors, so cuDNN runs its tensor-core kernels;
- loss and accuracy are summed on the device; the host reads them once per epoch (one sync point);
- epochs are timed with CUDA events, not with host clocks around asynchronous work.
Each of these can be switched off, and torch.compile switched on, with `Speed`: it changes how fast
a run goes, not what it computes, so it is not part of `TrainConfig` (or of a record's name).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import data as data_mod
from . import models
from .profiles import Profile, get_profile


@dataclass(frozen=True)
class TrainConfig:
    arch: str = "vgg11"              # 'vgg11', 'vgg13', 'vgg16', 'vgg19', a Table-1 letter, or 'alexnet'
    ratio: int = 4                   # every VGG width divided by this (the chapter's narrow VGG); 1 = full
    resize: int | None = 224         # images are resized to resize x resize px (None: keep 28 x 28)
    epochs: int = 10
    lr: float = 0.05                 # peak learning rate for the 'onecycle' schedule
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

    def label(self) -> str:
        """A short readable name, e.g. 'vgg11/4 @224px, 10 ep'."""
        width = "" if self.arch == "alexnet" or self.ratio == 1 else f"/{self.ratio}"
        size = self.resize or 28
        extra = " +recipe" if (self.batch_norm or self.momentum or self.augment or self.schedule != "constant") else ""
        return f"{self.arch}{width}{'-bn' if self.batch_norm else ''} @{size}px, {self.epochs} ep{extra}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


@dataclass(frozen=True)
class Speed:
    """How a run uses the device. The defaults are the fast path; bench.py measures each switch."""
    bf16: bool = True                # bf16 autocast on a GPU (a CPU always runs fp32)
    channels_last: bool = True       # NHWC tensors on a GPU, the layout cuDNN's tensor-core kernels want
    cudnn_benchmark: bool = True     # let cuDNN time its algorithms for each new shape, then keep the best
    sync_every_batch: bool = False   # read the loss on the host after every batch, as d2l.train_ch6 does
    compile: str | None = None       # a torch.compile mode (see COMPILE_MODES); None: run eagerly

    def __post_init__(self):
        if self.compile is not None and self.compile not in COMPILE_MODES:
            raise ValueError(f"unknown compile mode {self.compile!r}: use None or one of {', '.join(COMPILE_MODES)}")

    def label(self) -> str:
        """What differs from the fast path's defaults, e.g. 'fp32, compile=default' ('' for the defaults)."""
        switched = [name for field_name, name in (("bf16", "fp32"), ("channels_last", "NCHW"),
                                                   ("cudnn_benchmark", "no cudnn.benchmark"),
                                                   ("sync_every_batch", "host sync every batch"))
                    if getattr(self, field_name) != getattr(Speed, field_name)]
        if self.compile is not None:
            switched.append(f"compile={self.compile}")
        return ", ".join(switched)


@dataclass
class History:
    """What a training run did, per epoch, and where and how it ran. Saves to and loads from JSON."""
    config: dict                      # the configuration asked for
    run_config: dict                  # the configuration run (after the profile's caps)
    profile: str
    device: str                       # e.g. 'NVIDIA H100 80GB HBM3' or 'cpu'
    torch_version: str
    date: str                         # ISO date and time (UTC) when the run started
    epochs: list[dict] = field(default_factory=list)   # epoch, loss, train_acc, test_acc, seconds
    peak_memory_bytes: int | None = None               # torch.cuda.max_memory_allocated; None on CPU
    train_images: int = 0
    test_images: int = 0
    interrupted: bool = False
    source: str = "trained"            # 'trained' now, or 'recorded' (loaded from a JSON file)
    speed: dict = field(default_factory=dict)          # the Speed settings the run used

    # ----- summaries -------------------------------------------------------------------------
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
            return head + "\nno epoch finished"
        return (head + f"\nloss {f['loss']:.3f}, train acc {f['train_acc']:.3f}, test acc {f['test_acc']:.3f}"
                f" | {self.seconds:.1f} s for {len(self.epochs)} epochs, "
                f"{self.images_per_second:,.0f} images/s | peak GPU memory {mem}"
                + (" | INTERRUPTED" if self.interrupted else ""))

    # ----- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON through a temporary file and a rename, so an interruption leaves no half file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "History":
        return cls.from_dict(json.loads(Path(path).read_text()))


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. `.history` holds the epochs that finished."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


class OutOfMemory(RuntimeError):
    """CUDA ran out of memory; the message names the batch size and a smaller one to try."""


def init_weights(module: nn.Module) -> None:
    """Xavier-uniform weights for Linear and Conv2d, as d2l.train_ch6 does (biases keep PyTorch's)."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def make_model(cfg: TrainConfig) -> nn.Sequential:
    torch.manual_seed(cfg.seed)
    net = models.build(cfg.arch, ratio=cfg.ratio, input_size=cfg.resize or 28, batch_norm=cfg.batch_norm)
    net.apply(init_weights)
    return net


def _evaluate(net: nn.Module, loader, amp: bool) -> torch.Tensor:
    """Number of correct test predictions, as a tensor on the device (no host sync)."""
    net.eval()
    correct = torch.zeros((), dtype=torch.int64, device=loader.device)
    with torch.no_grad(), torch.autocast(loader.device.type, dtype=torch.bfloat16, enabled=amp):
        for X, y in loader:
            correct += (net(X).argmax(dim=1) == y).sum()
    return correct


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
        return type(get_ipython()).__name__ == "ZMQInteractiveShell"
    except ImportError:
        return False


def fit(net: nn.Module, train_iter: data_mod.DeviceLoader, test_iter: data_mod.DeviceLoader,
        cfg: TrainConfig, *, requested: TrainConfig | None = None, profile: Profile | None = None,
        speed: Speed = Speed(), progress: bool = True, live: bool | None = None) -> History:
    """Train `net` with `cfg`'s recipe; return the History (also after Ctrl-C, marked interrupted)."""
    from tqdm.auto import tqdm

    device = train_iter.device
    cuda = device.type == "cuda"
    amp = cuda and speed.bf16  # bf16 autocast where it pays: on the GPU's tensor cores
    if cuda:
        torch.backends.cudnn.benchmark = speed.cudnn_benchmark
        net = net.to(device, memory_format=torch.channels_last if speed.channels_last else torch.contiguous_format)
        torch.cuda.reset_peak_memory_stats(device)
    else:
        net = net.to(device)
    # The parameters stay those of `net`; `model` is what runs them (compiled on the first batch of
    # each shape, so the first epoch pays for the compilation).
    model = net
    if speed.compile is not None:
        torch._dynamo.reset()  # forget earlier runs' graphs: each run compiles its own model afresh
        model = torch.compile(net, mode=speed.compile, dynamic=False)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay, foreach=True)
    sched = None
    if cfg.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, epochs=cfg.epochs,
                                                    steps_per_epoch=len(train_iter), pct_start=0.25)
    elif cfg.schedule != "constant":
        raise ValueError(f"unknown schedule {cfg.schedule!r}: use 'constant' or 'onecycle'")

    history = History(config=(requested or cfg).to_dict(), run_config=cfg.to_dict(),
                      profile=profile.name if profile else "custom", device=device_name(device),
                      torch_version=torch.__version__,
                      date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                      train_images=len(train_iter.labels), test_images=len(test_iter.labels),
                      speed=dataclasses.asdict(speed))
    plot = None
    if live if live is not None else _in_notebook():
        from .plots import LiveCurves
        plot = LiveCurves(cfg.epochs)
    bar = tqdm(total=cfg.epochs * len(train_iter), unit="batch", disable=not progress,
               desc=cfg.label(), leave=True)
    try:
        for epoch in range(1, cfg.epochs + 1):
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
            t0 = time.perf_counter()
            model.train()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), dtype=torch.int64, device=device)
            for X, y in train_iter:
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    logits = model(X)
                    loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                loss_sum += loss.detach() * len(y)
                correct += (logits.argmax(dim=1) == y).sum()
                if speed.sync_every_batch:
                    loss.item()
                bar.update()
            test_correct = _evaluate(model, test_iter, amp)
            if cuda:
                end.record()
            # The one host-device sync point of the epoch.
            loss_total, train_correct, test_total = torch.stack(
                [loss_sum, correct.float(), test_correct.float()]).tolist()
            seconds = start.elapsed_time(end) / 1000 if cuda else time.perf_counter() - t0
            n, m = len(train_iter.labels), len(test_iter.labels)
            if not math.isfinite(loss_total):
                raise TrainingDiverged(
                    f"the training loss became {loss_total} in epoch {epoch} of {cfg.epochs} "
                    f"(lr={cfg.lr:g}): the run was stopped. Try a lower learning rate, e.g. lr={cfg.lr / 2:g} "
                    f"(or batch norm). The {epoch - 1} finished epochs are in this error's .history.",
                    history)
            row = {"epoch": epoch, "loss": loss_total / n, "train_acc": train_correct / n,
                   "test_acc": test_total / m, "seconds": seconds}
            history.epochs.append(row)
            bar.set_postfix(loss=f"{row['loss']:.3f}", train=f"{row['train_acc']:.3f}",
                            test=f"{row['test_acc']:.3f}")
            if plot is not None:
                plot.update(history)
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"Interrupted after {len(history.epochs)} finished epoch(s); returning the history so far.")
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
        if plot is not None:
            plot.close()
    if cuda:
        history.peak_memory_bytes = int(torch.cuda.max_memory_allocated(device))
    return history


def train(cfg: TrainConfig = TrainConfig(), *, profile: str | Profile | None = None,
          device: str | torch.device | None = None, data: data_mod.FashionMNIST | None = None,
          speed: Speed = Speed(), progress: bool = True, live: bool | None = None) -> History:
    """Train `cfg` under a profile (smoke/cpu/full; default from VGGBOOK_PROFILE) and return its History."""
    prof = get_profile(profile)
    run_cfg = prof.apply(cfg)
    device = torch.device(device) if device is not None else default_device()
    train_iter, test_iter = data_mod.loaders(
        run_cfg.batch_size, run_cfg.resize, train_limit=run_cfg.train_limit,
        test_limit=run_cfg.test_limit, device=device, channels_last=device.type == "cuda" and speed.channels_last,
        augment=run_cfg.augment, seed=run_cfg.seed, data=data)
    net = make_model(run_cfg)
    return fit(net, train_iter, test_iter, run_cfg, requested=cfg, profile=prof, speed=speed,
               progress=progress, live=live)
