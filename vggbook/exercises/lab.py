"""The exercises of notebook 07_vgg_wont_learn: two predictions before the measurement at initialisation.

Predict, then check:

    07-xavier-12-layers   in theory (Xavier, ReLU halving the variance): conv13's signal as a multiple of conv1's
    07-init-signal        which start keeps conv13's signal largest: "Xavier", "He" or "Xavier + BN"

Both answers are computed here: the first from the narrow VGG-16 the lab measures (how many conv layers
lie between conv1 and conv13) and the variance a ReLU keeps; the second by measuring that network at
initialisation on the lab's batch (the first 128 training images at 32 px), as the notebook does.
"""
from __future__ import annotations

import functools

import torch
from torch import nn

from .. import data, loader, models, runs
from ._core import as_number, off, register, small_work

__all__: list[str] = []

STARTS = {"Xavier": runs.LAB_XAVIER, "He": runs.LAB_HE, "Xavier + BN": runs.LAB_BN}  # 07's three networks


def _convs(cfg: runs.Config) -> list[nn.Conv2d]:
    with torch.device("meta"):
        net = models.build(cfg.arch, ratio=cfg.ratio, input_size=cfg.resize, batch_norm=cfg.batch_norm)
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


def _relu_keeps() -> float:
    """The share of a zero-mean Gaussian's second moment that a ReLU keeps (computed, not typed in)."""
    z = torch.linspace(-8, 8, 160_001)
    density = torch.exp(-z ** 2 / 2)
    return float((torch.relu(z) ** 2 * density).sum() / (z ** 2 * density).sum())


def _theory_factor() -> float:
    """conv13's signal std over conv1's, if every conv+ReLU kept a linear layer's variance (Xavier with
    equal widths) and the ReLU kept its share of it: the std shrinks by sqrt(that share) per layer."""
    steps = len(_convs(runs.LAB_XAVIER)) - 1
    return round(_relu_keeps(), 6) ** (steps / 2)


def _theory_hint(answer, expected) -> str:
    if as_number(answer) is None:
        return "写一个数（可以写算式，例如 0.9 ** 5）。"
    steps = len(_convs(runs.LAB_XAVIER)) - 1
    share = round(_relu_keeps(), 6)
    if answer == 1:
        return "Xavier 让一个线性层的输出方差约等于输入方差，但它没有考虑 ReLU：ReLU 把一半的输入置零。"
    if abs(answer - share ** steps) <= 1e-3 * share ** steps:
        return "这是每层把标准差减半的结果；ReLU 让方差减半，标准差只乘以方差倍数的平方根。"
    if abs(answer - share ** ((steps + 1) / 2)) <= 1e-3 * expected:
        return f"从 conv1 到 conv13 之间隔着 {steps} 层，不是 {steps + 1} 层。"
    if abs(answer - share ** 0.5) <= 0.01 or abs(answer - share) <= 0.01:
        return f"这是一层的倍数；从 conv1 到 conv13 要经过 {steps} 层，倍数要连乘。"
    if abs(answer - expected) <= 0.05 * expected:
        return "很接近了：直接写出算式（例如 0.9 ** 5），让 Python 算出精确值。"
    return off(answer, expected, "每层：方差乘以 ReLU 留下的那一份，标准差乘以它的平方根；从 conv1 到 conv13 连乘。")


register("07-xavier-12-layers",
         "按理论（Xavier 保持线性层的方差，ReLU 把一半的输入置零），conv13 的信号（标准差）约是 conv1 的多少倍？",
         _theory_factor, _theory_hint)


@functools.cache
def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    """The lab's batch: the first 128 training images at 32 px, and their labels."""
    fmnist = data.load_fashion_mnist()
    return loader.resize_batch(fmnist.train_images[:128], 32), fmnist.train_labels[:128]


def conv13_signal(cfg: runs.Config) -> float:
    """The std across the lab's batch of the last conv layer's output (per unit, averaged over units) of
    the network `cfg` names, just initialised: 07's `layer_stats` signal, without dropout."""
    X, _ = _batch()
    with small_work(), torch.no_grad():
        net = runs.make_model(cfg)
        net.train()
        for m in net.modules():
            if isinstance(m, nn.Dropout):
                m.eval()
        last = [m for m in net.modules() if isinstance(m, nn.Conv2d)][-1]
        out = []
        hook = last.register_forward_hook(lambda m, inp, o: out.append(o.std(dim=0).mean().item()))
        net(X)
        hook.remove()
    return out[0]


@functools.cache
def _largest_at_conv13() -> str:
    signal = {name: conv13_signal(cfg) for name, cfg in STARTS.items()}
    return max(signal, key=signal.get)


def _init_hint(answer, expected) -> str:
    names = {n.replace(" ", "").lower(): n for n in STARTS}
    name = names.get(answer.replace(" ", "").lower()) if isinstance(answer, str) else None
    if name is None:
        return f"请填 {'、'.join(repr(n) for n in STARTS)} 中的一个（字符串）。"
    if name == "Xavier":
        return "Xavier 没有考虑 ReLU：按上一题，信号每过一层都缩小一截，13 层之后所剩无几。"
    if name == "He":
        return ("He 初始化抵消了 ReLU 的减半，但深处还有别的东西让信号变小：32 像素时最后两个块的特征图只有 "
                "4×4 和 2×2，3×3 卷积的窗口有不少落在零填充上。哪种做法每层都把输出重新拉回固定的尺度？")
    return "批量规范化在初始化时把每个卷积层的输出规范到方差 1；先看下面的测量，再想想还有什么让信号变大或变小。"


register("07-init-signal",
         "刚初始化时，哪一种网络的 conv13 信号最大：\"Xavier\"、\"He\" 还是 \"Xavier + BN\"？",
         _largest_at_conv13, _init_hint)
