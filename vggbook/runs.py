"""The run layer: a run's configuration, how much of it this machine does, its History and its record.

  Config     what a run is asked to do (the chapter's recipe by default)
  PROFILES   how much of it a machine does: full (a GPU), cpu (minutes on a laptop), smoke (CI)
  History    what a run did, per epoch, and where; saved as JSON in results/<profile>/<name>.json
  train(cfg) trains a configuration with the chapter's `fit`; run(cfg) loads the book's recorded
             run of it instead, unless retraining is asked for.
The environment variables are read here, when these functions are called (VGGBOOK_DATA: data.py):
  VGGBOOK_PROFILE   full | cpu | smoke (default: full with a CUDA GPU, cpu without)
  VGGBOOK_RETRAIN   1/true/yes/on: train even where a recorded run exists
  VGGBOOK_RUNS_DIR  a folder where every trained run is also written (the GPU job compares them)
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from . import loader
from .data import load_fashion_mnist
from .models import NAMES, SHALLOW, TABLE1, build, check_variant
from .train import PRECISIONS, fast, fit, init_he, init_weights, precision_for

RESULTS = Path(__file__).resolve().parent / "results"
MODEL_CACHE = Path.home() / ".cache" / "vggbook" / "models"
ARCHS = (*NAMES, *TABLE1, *SHALLOW, "alexnet")


@dataclass(frozen=True)
class Config:
    arch: str = "vgg11"              # 'vgg11', 'vgg13', 'vgg16', 'vgg19', a Table 1 letter, or 'alexnet'
    ratio: int = 4                   # every VGG width divided by this (the chapter's narrow VGG); 1: full
    resize: int = 224                # images are resized to resize x resize px
    epochs: int = 10
    lr: float = 0.05                 # the learning rate (the peak of the 'onecycle' schedule)
    batch_size: int = 128
    momentum: float = 0.0            # d2l.train_ch6 uses plain SGD
    weight_decay: float = 0.0
    schedule: str = "constant"       # 'constant' (the chapter) or 'onecycle' (warm-up, then anneal)
    batch_norm: bool = False         # BatchNorm2d after every conv (not in the chapter)
    init: str = "xavier"             # 'xavier' (d2l.train_ch6's) or 'he' (Kaiming, as torchvision's VGG)
    pools: int | None = None         # only the first `pools` VGG blocks end with a max-pool (None: all 5)
    head: str = "fc"                 # 'fc' (the chapter's 3 Linear layers) or 'gap' (global average pooling)
    augment: bool = False            # random flips and +-2 px shifts of the 28 x 28 images
    label_smoothing: float = 0.0
    precision: str = "auto"          # 'auto' (what the device does best: `train.fast`), 'bf16', 'fp16', 'fp32'
    seed: int = 0
    train_limit: int | None = None   # use only this many training images (None: all 60,000)
    test_limit: int | None = None    # use only this many test images (None: all 10,000)

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"没有名为 {self.arch!r} 的网络：可选 {', '.join(ARCHS)}")
        if self.schedule not in ("constant", "onecycle"):
            raise ValueError(f"没有名为 {self.schedule!r} 的学习率调度：用 'constant' 或 'onecycle'")
        if self.init not in ("xavier", "he"):
            raise ValueError(f"没有名为 {self.init!r} 的初始化：用 'xavier'（本章的）或 'he'")
        check_variant(self.arch, self.pools, self.head)  # a pools count the blocks cannot take: at build
        if self.precision not in PRECISIONS:
            raise ValueError(f"没有名为 {self.precision!r} 的精度：可选 {', '.join(PRECISIONS)}")

    def label(self) -> str:
        """A short readable name, e.g. 'vgg11/4 @224px, 10 ep'."""
        width = "" if self.arch == "alexnet" or self.ratio == 1 else f"/{self.ratio}"
        extra = " +recipe" if (self.momentum or self.weight_decay or self.augment or self.label_smoothing
                               or self.schedule != "constant") else ""
        net = f"{self.arch}{width}{'-bn' if self.batch_norm else ''}"
        net += "" if self.pools is None else f", {self.pools} pools"
        net += ", GAP head" if self.head == "gap" else ""
        return f"{net} @{self.resize}px, {self.epochs} ep{extra}"

    def name(self) -> str:
        """A file name that says what differs from the chapter's run: 'vgg11' is the chapter's,
        'vgg16-bn-96px' VGG-16 with batch norm at 96 px, 'vgg11-96px-e6' the chapter's as the cpu profile sizes it."""
        parts = [self.arch]
        if self.ratio != 4 and self.arch != "alexnet":
            parts.append(f"r{self.ratio}")
        if self.batch_norm:
            parts.append("bn")
        if self.init != "xavier":
            parts.append(self.init)
        if self.pools is not None:
            parts.append(f"p{self.pools}")
        if self.head != "fc":
            parts.append(self.head)
        if self.resize != 224:
            parts.append(f"{self.resize}px")
        short = {"epochs": "e", "lr": "lr", "batch_size": "b", "momentum": "m", "weight_decay": "wd",
                 "schedule": "", "augment": "aug", "label_smoothing": "ls", "precision": "", "seed": "seed",
                 "train_limit": "n", "test_limit": "t"}
        for key, prefix in short.items():
            value = getattr(self, key)
            if value != getattr(CHAPTER, key):
                parts.append(prefix if value is True else f"{prefix}{value:g}" if isinstance(value, float)
                             else f"{prefix}{value}")
        return "-".join(parts)


# Every run the book shows, as data.
CHAPTER = Config()                              # 04: the chapter's narrow VGG-11 at 224 px
ALEXNET = Config(arch="alexnet")                # 04: d2l's AlexNet with the same recipe
ALEXNET_D2L = Config(arch="alexnet", lr=0.01)   # d2l's own AlexNet recipe (its section uses lr 0.01)
RES_96 = Config(resize=96)                      # 05, exercise 3
SWEEP_SIZES = (32, 56, 96, 160, 224)            # 5 pools need >= 32 px
SWEEP = tuple(Config(resize=s) for s in SWEEP_SIZES)
DEPTH = tuple(Config(arch=a, resize=96) for a in ("vgg11", "vgg13", "vgg16", "vgg19"))  # exercise 4
DEPTH_BN = Config(arch="vgg16", resize=96, batch_norm=True)   # exercise 4's remedy for the plateau
IMPROVED = Config(batch_norm=True, momentum=0.9, weight_decay=5e-4, schedule="onecycle", lr=0.1,
                  augment=True, label_smoothing=0.1)          # a better recipe, same 10 epochs
# The cpu profile's other way to spend the same ~7 minutes of a 2-core CPU, and the profile's run in fp32
# (what a CPU without bf16 instructions does).
CPU_LONGER = Config(resize=32, epochs=16)       # smaller images, more epochs
CPU_FP32 = Config(precision="fp32")             # sized by the cpu profile like CHAPTER
# 06 looks inside this 2-core CPU run of the chapter's model: 32 px, 6 epochs, fp32 (weights and predictions kept).
INSIDE = Config(resize=32, epochs=6, precision="fp32")
# Exercise 4's plateau and its remedy as a 2-core CPU can run them: VGG-16 at 32 px, without and with BN.
CPU_VGG16 = Config(arch="vgg16", resize=32)
CPU_VGG16_BN = Config(arch="vgg16", resize=32, batch_norm=True)
# 07's lab: the same narrow VGG-16 at 32 px for 300 steps (6 epochs of 6,400 images), three ways to start it.
LAB_XAVIER = Config(arch="vgg16", resize=32, epochs=6, train_limit=6400, test_limit=2560)
LAB_HE = replace(LAB_XAVIER, init="he")
LAB_BN = replace(LAB_XAVIER, batch_norm=True)
# 08's experiments: each of the paper's design claims as arms trained the same way on a 2-core CPU:
# narrow nets, He init (so that the deeper arms learn without the paper's pre-training), the chapter's
# SGD at lr 0.05 but annealed (one-cycle), so that the last epoch's accuracy does not hang on the last
# few steps; 3 epochs of all 60,000 images, 3 seeds per arm.
CLAIM = Config(resize=32, epochs=3, init="he", schedule="onecycle")
SEEDS = (0, 1, 2)
ARMS = {
    "A": CLAIM, "A-LRN": replace(CLAIM, arch="vgg11-lrn"),             # LRN does not help
    "B": replace(CLAIM, arch="vgg13"), "B-5x5": replace(CLAIM, arch="B-5x5"),  # two 3x3 against one 5x5
    "C": replace(CLAIM, arch="vgg16-1x1"), "D": replace(CLAIM, arch="vgg16"),  # 1x1 against 3x3
    "28px-3pools": replace(CLAIM, resize=28, pools=3),                 # pools for 28 px, no upsampling
    "28px-2pools": replace(CLAIM, resize=28, pools=2),                 # ... keeping 7 x 7 maps, as at 224 px
    "96px": replace(CLAIM, resize=96),                                 # upsampled, as the cpu profile does
    "28px-3pools-gap": replace(CLAIM, resize=28, pools=3, head="gap"),  # the head on a diet
    "B-e6": replace(CLAIM, arch="vgg13", epochs=6), "B-5x5-e6": replace(CLAIM, arch="B-5x5", epochs=6),  # longer
}
CLAIMS = tuple(replace(cfg, seed=seed) for cfg in ARMS.values() for seed in SEEDS)
# What the book records: on a GPU (full profile) and on a 2-core CPU (cpu profile: 6 epochs).
RECORDED = {"full": tuple(dict.fromkeys((CHAPTER, ALEXNET, RES_96, *SWEEP, *DEPTH, IMPROVED,
                                         ALEXNET_D2L, DEPTH_BN))),
            "cpu": (CHAPTER, CPU_LONGER, CPU_FP32, INSIDE, CPU_VGG16, CPU_VGG16_BN, LAB_XAVIER, LAB_HE, LAB_BN,
                    *CLAIMS)}

# How much of a run a machine does: caps on what the configuration asks for.
PROFILES = {
    "full": {},                                     # the configuration as asked: for a GPU
    "cpu": {"epochs": 6, "resize": 96},             # a 2-core CPU with bf16: all images, ~8 minutes
    "smoke": {"epochs": 1, "resize": 96, "train_limit": 256, "test_limit": 256},  # CI: runs, learns nothing
}


def min_size(arch: str, pools: int | None = None) -> int:
    """The smallest image side the network can take: 32 px for five 2x2 pools, 65 px for AlexNet."""
    return 65 if arch == "alexnet" else 2 ** (5 if pools is None else pools)


_ALWAYS_CAPPED = ("train_limit", "test_limit")  # smoke's few images: no reader types them in a notebook


def sized(cfg: Config, profile: str = "full") -> Config:
    """The configuration a profile runs. It shrinks only what `cfg` leaves at the chapter's values
    (a size or a number of epochs the reader chose is trained as chosen; smoke, for CI, also caps the
    number of images), and never makes the images smaller than the network needs (AlexNet runs at
    65 px where the cpu profile puts VGG at 32)."""
    changes = {k: cap if getattr(cfg, k) is None else min(getattr(cfg, k), cap)
               for k, cap in PROFILES[profile].items()
               if k in _ALWAYS_CAPPED or getattr(cfg, k) == getattr(CHAPTER, k)}
    if "resize" in changes:
        changes["resize"] = max(changes["resize"], min(cfg.resize, min_size(cfg.arch, cfg.pools)))  # never below
    return replace(cfg, **changes)


def should_train(retrain: bool = False) -> bool:
    """True if `retrain` (a notebook's RETRAIN) or the environment (VGGBOOK_RETRAIN=1) asks to train."""
    value = os.environ.get("VGGBOOK_RETRAIN", "").strip().lower()
    if value not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
        raise ValueError(f"VGGBOOK_RETRAIN={value!r} 既不是“是”也不是“否”：用 1 或 0"
                         f"（在笔记本里：%env VGGBOOK_RETRAIN=1）")
    return bool(retrain) or value in ("1", "true", "yes", "on")


def current_profile() -> str:
    """VGGBOOK_PROFILE, or full with a CUDA GPU and cpu without."""
    name = os.environ.get("VGGBOOK_PROFILE", "").strip().lower()
    if not name:
        return "full" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise ValueError(f"VGGBOOK_PROFILE={name!r} 不是一个运行配置：可选 {', '.join(PROFILES)}，"
                         f"或者不设它")
    return name


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


@dataclass
class History:
    """What a training run did, per epoch, and where and how it ran."""
    config: Config                    # the configuration that ran
    profile: str                      # full, cpu or smoke
    device: str                       # e.g. 'NVIDIA H100 80GB HBM3' or 'cpu (x86_64, 2 threads)'
    date: str                         # ISO date and time (UTC) when the run started
    torch_version: str
    precision: str = "fp32"           # bf16, fp16 or fp32
    epochs: list[dict] = field(default_factory=list)   # epoch, loss, train_acc, test_acc, seconds
    peak_memory_bytes: int | None = None               # torch.cuda.max_memory_allocated; None on a CPU
    predictions: list[int] | None = None                # the trained network's class for each test image

    @property
    def final(self) -> dict:
        """The last epoch's row; a row of NaNs for a run stopped before its first epoch ended."""
        return self.epochs[-1] if self.epochs else {"epoch": 0, **dict.fromkeys((k for k, _ in _EPOCH_FIELDS[1:]), math.nan)}

    @property
    def test_acc(self) -> float:
        return self.final.get("test_acc", float("nan"))

    @property
    def seconds(self) -> float:
        return sum(e["seconds"] for e in self.epochs)

    @property
    def interrupted(self) -> bool:
        return len(self.epochs) < self.config.epochs

    @property
    def images_per_second(self) -> float:
        images = min(self.config.train_limit or 60_000, 60_000)
        return images * len(self.epochs) / self.seconds if self.epochs else float("nan")

    @property
    def peak_memory_gib(self) -> float | None:
        return None if self.peak_memory_bytes is None else self.peak_memory_bytes / 2**30

    @property
    def label(self) -> str:
        """What ran, and on what: 'vgg11/4 @32px, 6 ep [CPU]', 'vgg11/4 @224px, 10 ep [GPU]' (smoke: CI's)."""
        where = "CPU" if self.device.startswith("cpu") else "GPU"
        return self.config.label() + f" [{where}{', smoke' if self.profile == 'smoke' else ''}]"

    def summary(self) -> str:
        """Two lines in Chinese: what ran where, and what it reached."""
        where = f"{self.device}，{self.precision}，{self.date[:10]}"
        if self.peak_memory_bytes:
            where += f"，峰值显存 {self.peak_memory_gib:.2f} GiB"
        head = f"{self.label}（{where}）"
        if not self.epochs:
            return head + "\n没有完成任何迭代周期。"
        f, n = self.final, len(self.epochs)
        line = (f"{n} 个迭代周期共 {self.seconds:.1f} 秒：训练损失 {f['loss']:.3f}，"
                f"训练精度 {f['train_acc']:.3f}，测试精度 {f['test_acc']:.3f}")
        if self.profile == "smoke":
            line += "。（smoke 配置只检验代码能运行，这些数字没有意义。）"
        elif self.interrupted:
            line += f"。（在 {self.config.epochs} 个迭代周期中的第 {n} 个之后中断。）"
        elif at_chance(self) == n:
            line += (f"。{n} 个迭代周期后仍停在随机猜测的水平（损失约 ln 10 = 2.30，精度约 0.1）："
                     f"网络没有学起来，见练习 4 的平台期。")
        return head + "\n" + line

    @classmethod
    def of_run(cls, cfg: Config, rows: list[dict], device: torch.device, precision: str = "fp32",
               profile: str | None = None) -> "History":
        """The History of a run of `cfg` that `fit` just finished on `device` (its rows, this machine)."""
        memory = int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None
        return cls(cfg, profile or current_profile(), device_name(device),
                   dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), torch.__version__,
                   precision, list(rows), memory)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the run to `path`; a run stopped early goes beside it, to <name>.interrupted.json,
        so that it is never taken for the finished run. Returns where it was written."""
        path = Path(path)
        if self.interrupted:
            path = interrupted_path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, expect: Config | None = None) -> "History":
        """Read a run file; a ValueError naming the file and the fix if it is not one, if a field has the
        wrong type, or if it holds another configuration's run than `expect`."""
        path = Path(path)
        fix = f"恢复它（git checkout -- {path}）或重新记录这次运行"
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(d, dict) or not isinstance(d.get("config"), dict):
                raise TypeError("不是一个 JSON 对象，或缺少 config")
            _check_fields(Config, d["config"], "config.")
            _check_fields(cls, d, "")
            for i, e in enumerate(d["epochs"], start=1):
                _check_fields(dict(_EPOCH_FIELDS), e, f"epochs[{i}].")
            h = cls(**{**d, "config": Config(**d["config"])})
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError, ValueError) as e:
            raise ValueError(f"{path} 不是这个版本的运行记录（{e}）：{fix}") from None
        if expect is not None and h.config != expect:
            differ = ", ".join(f"{k} {getattr(h.config, k)!r}（应为 {getattr(expect, k)!r}）"
                               for k in Config.__dataclass_fields__ if getattr(h.config, k) != getattr(expect, k))
            raise ValueError(f"{path} 记录的是另一个配置的运行：{differ}：{fix}")
        return h


_EPOCH_FIELDS = (("epoch", "int"), ("loss", "float"), ("train_acc", "float"), ("test_acc", "float"),
                 ("seconds", "float"))


def _check_fields(kind, values: dict, where: str) -> None:
    """A TypeError naming the first field of `values` that `kind` (a dataclass, or a dict of field ->
    type name) does not have, lacks, or holds with the wrong type."""
    types = kind if isinstance(kind, dict) else {f.name: f.type for f in dataclasses.fields(kind)}
    required = set(types) if isinstance(kind, dict) else {
        f.name for f in dataclasses.fields(kind)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    for name in sorted(required - set(values)):
        raise TypeError(f"缺少字段 {where}{name}")
    for name, value in values.items():
        if name not in types:
            raise TypeError(f"未知字段 {where}{name}")
        if not _is_type(value, str(types[name])):
            raise TypeError(f"字段 {where}{name} 应是 {types[name]}，却是 {type(value).__name__} {value!r}")


def _is_type(value, spec: str) -> bool:
    """Whether a JSON value fits a field's annotation, written as text ('int | None', 'list[dict]')."""
    spec = spec.replace(" ", "")
    if spec.endswith("|None"):
        return value is None or _is_type(value, spec[:-5])
    if spec.startswith("list["):
        return isinstance(value, list) and all(_is_type(v, spec[5:-1]) for v in value)
    if spec == "bool":
        return isinstance(value, bool)
    if spec == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {"str": str, "dict": dict}.get(spec, object))


def interrupted_path(path: Path) -> Path:
    """Where a run stopped early is written instead of `path`: <name>.interrupted<suffix>."""
    return path if path.stem.endswith(".interrupted") else path.with_name(f"{path.stem}.interrupted{path.suffix}")


def at_chance(h: History, classes: int = 10) -> int:
    """How many epochs, from the first, stayed at chance level (accuracy ~ 1/classes, loss ~ ln classes)."""
    n = 0
    for e in h.epochs:
        if e["test_acc"] >= 2 / classes and e["loss"] <= 0.9 * math.log(classes):
            break
        n += 1
    return n


def make_model(cfg: Config) -> nn.Sequential:
    """The network `cfg` names, with d2l's Xavier initialisation (seeded by cfg.seed)."""
    torch.manual_seed(cfg.seed)
    net = build(cfg.arch, ratio=cfg.ratio, input_size=cfg.resize, batch_norm=cfg.batch_norm,
                pools=cfg.pools, head=cfg.head)
    net.apply(init_weights if cfg.init == "xavier" else init_he)
    return net


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} 秒" if seconds < 120 else f"{seconds / 60:.0f} 分钟"


def _flops(cfg: Config) -> int:
    """Forward FLOPs of one image for `cfg`'s network, counted on the meta device (no weights, no data)."""
    from torch.utils.flop_counter import FlopCounterMode
    with torch.device("meta"):
        net = build(cfg.arch, ratio=cfg.ratio, input_size=cfg.resize, batch_norm=cfg.batch_norm,
                    pools=cfg.pools, head=cfg.head)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(torch.zeros(1, 1, cfg.resize, cfg.resize))
    return counter.get_total_flops()


def _images(cfg: Config) -> int:
    return min(cfg.train_limit or 60_000, 60_000) + min(cfg.test_limit or 10_000, 10_000) / 3  # eval ~ 1/3


def guess_seconds(cfg: Config, device: torch.device, precision: str) -> tuple[float, History] | None:
    """A first guess of how long `cfg` trains on `device`, before any step has run: the book's record of
    the chapter's run on the same kind of device and precision, scaled by FLOPs x images x epochs.
    None where the book has no such record."""
    reference = (recorded(CHAPTER, "full") if device.type == "cuda" else
                 recorded(CHAPTER, "cpu") if precision == "bf16" else recorded(CPU_FP32, "cpu"))
    if reference is None or not reference.epochs:
        return None
    ref = reference.config
    scale = (_flops(cfg) * _images(cfg) * cfg.epochs) / (_flops(ref) * _images(ref) * ref.epochs)
    return reference.seconds * scale, reference


_NAMES_ZH = {"resize": "图像边长", "epochs": "迭代周期数", "train_limit": "训练图像数", "test_limit": "测试图像数"}


def announce(cfg: Config, device: torch.device, precision: str, *, asked: Config | None = None,
             profile: str | None = None) -> str:
    """What a learner sees when a training starts: what the profile shrank of what they `asked` (one line,
    if anything), then what runs, where, in which precision and about how long."""
    line = ""
    if asked is not None and asked != cfg:
        changed = "，".join(f"{_NAMES_ZH.get(k, k)} {getattr(asked, k) or '全部'} → {getattr(cfg, k)}"
                            for k in Config.__dataclass_fields__ if getattr(asked, k) != getattr(cfg, k))
        line = (f"按 {profile or current_profile()} 配置缩小了你没有改动的本章设置：{changed}"
                f"（你自己设的值照原样训练；VGGBOOK_PROFILE=full 时什么也不缩小）。\n")
    line += f"开始训练 {cfg.label()}，在 {device_name(device)} 上，{precision}"
    guess = guess_seconds(cfg, device, precision)
    if guess is not None:
        seconds, ref = guess
        line += (f"，粗估约 {_duration(seconds)}（由本书记录的 {ref.label} 的 {ref.seconds / 60:.0f} 分钟"
                 f"按计算量、图像数和迭代周期数换算；这台机器可能更快或更慢）")
    return line + "。随时可以按 Ctrl-C（Jupyter 中是“中断内核”）停止，已完成的迭代周期会保留。"


class _Estimate:
    """Counts batches on a progress bar; after a few, says once how long the whole run will take.
    `bar` and `batches` are set once the data iterators exist."""

    def __init__(self, device: torch.device, warmup: int = 1, measure: int = 3):
        self.device, self.bar, self.batches = device, None, 0.0
        self.warmup, self.measure, self.n, self.t0 = warmup, measure, 0, None

    def __call__(self) -> None:
        self.bar.update()
        self.n += 1
        if self.n not in (self.warmup, self.warmup + self.measure):
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # twice a run: what the GPU has queued counts too
        if self.n == self.warmup:
            self.t0 = time.perf_counter()
            return
        seconds = (time.perf_counter() - self.t0) / self.measure * self.batches
        self.bar.write(f"按前 {self.n} 个小批量的速度，这次训练在这台机器上约需 {_duration(seconds)}。")


def train(cfg: Config = CHAPTER, *, profile: str | None = None, device: str | torch.device | None = None,
          precision: str | None = None, on_epoch=None, progress: bool = True,
          predict: bool = False) -> tuple[History, nn.Sequential]:
    """Train `cfg` as the profile sizes it (default: VGGBOOK_PROFILE's); return its History and network.

    The same steps as notebook 04: the data iterators, the network with d2l's initialisation, SGD,
    `fast` for the GPU's precision, then the chapter's `fit`. Ctrl-C ends the run with the epochs
    finished so far. With `predict`, the History keeps the network's class for every test image.
    """
    from tqdm.auto import tqdm
    profile = profile or current_profile()
    asked, cfg = cfg, sized(cfg, profile)
    device = torch.device(device) if device is not None else default_device()
    history = History(cfg, profile, device_name(device),
                      dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), torch.__version__)
    desc, loss = cfg.label(), nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    history.precision = precision_for(device, precision or cfg.precision)
    print(announce(cfg, device, history.precision, asked=asked, profile=profile), flush=True)
    tick = _Estimate(device)
    train_iter, test_iter = loader.loaders(
        cfg.batch_size, cfg.resize, train_limit=cfg.train_limit, test_limit=cfg.test_limit, device=device,
        channels_last=device.type == "cuda", augment=cfg.augment, seed=cfg.seed, data=load_fashion_mnist(),
        on_batch=tick)
    steps = len(train_iter)  # batches per epoch
    tick.bar = bar = tqdm(total=cfg.epochs * steps, unit="batch", desc=desc, disable=not progress)
    tick.batches = steps * cfg.epochs * (1 + len(test_iter.labels) / len(train_iter.labels) / 3)  # eval ~ 1/3
    torch.manual_seed(cfg.seed)
    net = build(cfg.arch, ratio=cfg.ratio, input_size=cfg.resize, batch_norm=cfg.batch_norm,
                pools=cfg.pools, head=cfg.head).to(device)
    net.apply(init_weights if cfg.init == "xavier" else init_he)
    optimizer = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay, foreach=True)
    scheduler = None if cfg.schedule == "constant" else torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.lr, epochs=cfg.epochs, steps_per_epoch=steps, pct_start=0.25)
    model, optimizer, history.precision = fast(net, optimizer, device, precision or cfg.precision)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    autotune = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True  # cuDNN times its kernels for each shape once; restored below
    try:
        history.epochs = fit(model, train_iter, test_iter, cfg.epochs, optimizer, loss=loss,
                             scheduler=scheduler, on_epoch=on_epoch)
    finally:
        torch.backends.cudnn.benchmark = autotune
        bar.close()
    if device.type == "cuda":
        history.peak_memory_bytes = int(torch.cuda.max_memory_allocated(device))
    if predict:
        model.eval()
        with torch.no_grad():
            history.predictions = torch.cat([model(X).argmax(dim=1) for X, _ in test_iter]).tolist()
    return history, net


def record_path(cfg: Config, profile: str = "full", folder: Path | None = None) -> Path:
    """Where the record of `cfg` run with `profile` lives: <folder>/<profile>/<name of what ran>.json
    (folder: the book's results, in the package)."""
    return (folder or RESULTS) / profile / f"{sized(cfg, profile).name()}.json"


def recorded(cfg: Config, profile: str = "full") -> History | None:
    """The book's recorded run of `cfg` (a GPU run for 'full', a 2-core CPU run for 'cpu'), or None."""
    path = record_path(cfg, profile)
    return History.load(path, expect=sized(cfg, profile)) if path.is_file() else None


def run(cfg: Config, *, retrain: bool = False, on_epoch=None, progress: bool = True) -> History:
    """The recorded GPU run of `cfg`, unless `retrain` (or VGGBOOK_RETRAIN) asks to train; then a new run.
    Without a record, and not asked to train, a ValueError says how to ask.

    A new run is sized by VGGBOOK_PROFILE (on a CPU, the cpu profile). With VGGBOOK_RUNS_DIR it is also
    written there, and a finished run of the same configuration already there is reused (the GPU job).
    """
    if not should_train(retrain):
        h = recorded(cfg)
        if h is None:  # nothing trains unless the learner asks for it
            raise ValueError(f"本书没有 {cfg.label()} 的记录：设 RETRAIN = True（或 VGGBOOK_RETRAIN=1），"
                             f"在这台机器上训练它")
        print(f"载入本书记录的运行：{h.device}，{h.date[:10]}（要自己训练，设 RETRAIN = True）。")
        return h
    profile = current_profile()
    out = os.environ.get("VGGBOOK_RUNS_DIR", "").strip()
    path = record_path(cfg, profile, Path(out)) if out else None
    if path is not None and path.is_file():  # only a finished run has this name (History.save)
        h = History.load(path, expect=sized(cfg, profile))
        print(f"与 {path} 中已训练的运行相同，直接读取。")
        return h
    h, _ = train(cfg, profile=profile, on_epoch=on_epoch, progress=progress)
    print(h.summary())
    if path is not None and h.epochs:
        print(f"写好了 {h.save(path)}")
    return h


def compare(retrained_dir: Path, *, tolerance: float = 0.015, require_all: bool = True) -> list[str]:
    """Problems found comparing runs retrained on a GPU with the book's records (empty: they agree)."""
    runs = {p.stem: History.load(p) for p in sorted(Path(retrained_dir).glob("full/*.json"))}
    if not runs:
        raise ValueError(f"{retrained_dir}/full/ 中没有 full 配置的运行：给出一次 GPU 作业的 VGGBOOK_RUNS_DIR")
    problems = []
    for name, h in runs.items():
        ref = recorded(h.config)
        if h.interrupted or not h.device.startswith("NVIDIA"):
            problems.append(f"{name}：{'中断的运行，' if h.interrupted else ''}在 {h.device} 上：只能对照在 CUDA GPU "
                            f"上完成的运行")
        elif ref is None:
            problems.append(f"{name}：没有可以对照的记录")
        elif abs(h.test_acc - ref.test_acc) > tolerance:
            problems.append(f"{name}：重新训练的测试精度 {h.test_acc:.4f}，记录的 {ref.test_acc:.4f}，"
                            f"相差超过 {tolerance}")
    if require_all:
        problems += [f"{p.stem}：有记录，但没有重新训练" for p in sorted((RESULTS / "full").glob("*.json"))
                     if p.stem not in runs]
    return problems


# Trained weights kept with a record, for looking inside the trained network (06). safetensors holds
# tensors only (no pickled code). The conv blocks of the chapter's CPU run ship with its record
# (2.3 MB); the whole network (17 M more parameters in the head) is cached on the machine that trained it.
def _weights_path(cfg: Config, profile: str, part: str) -> Path:
    folder = RESULTS / profile if part == "features" else MODEL_CACHE
    return folder / f"{sized(cfg, profile).name()}.{part}.safetensors"


def save_weights(net: nn.Sequential, h: History, part: str = "model") -> Path:
    """Write the whole network of run `h` (part='model', to the cache) or its conv blocks ('features', to
    results/). A run stopped early is refused: its network would be loaded later as the finished one's."""
    from safetensors.torch import save_file
    if h.interrupted:
        raise ValueError(f"这次运行只完成了 {h.config.epochs} 个迭代周期中的 {len(h.epochs)} 个："
                         f"它的网络不保存为完整运行的网络")
    module = net[:_flatten_at(net)] if part == "features" else net
    path = _weights_path(h.config, h.profile, part)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}, str(path))
    return path


def load_weights(cfg: Config, profile: str = "cpu", part: str = "model") -> nn.Sequential | None:
    """The trained network (or with part='features' its conv blocks) of `cfg`'s record, in eval mode;
    None where no file holds it."""
    from safetensors.torch import load_file
    path = _weights_path(cfg, profile, part)
    if not path.is_file():
        return None
    net = make_model(sized(cfg, profile))
    module = net[:_flatten_at(net)] if part == "features" else net
    module.load_state_dict(load_file(str(path)))
    return module.eval()


def _flatten_at(net: nn.Sequential) -> int:
    """How many leading modules of `net` are conv blocks (everything before Flatten)."""
    return next(i for i, m in enumerate(net) if isinstance(m, nn.Flatten))
