"""The exercises of notebook 02_vgg_network: its predict-then-check items and write-it-yourself checkers.

Items (every expected answer is computed from `vggbook.models`):

- "vgg11-last-side-224": the side of VGG-11's last feature map at 224 px;
- "vgg11-first-linear-share": the share of VGG-11's parameters (224 px) in its first Linear layer;
- "vgg11-min-input": the smallest input side VGG-11's 5 blocks accept (each halves it, rounding down).

Checker: `check_vgg(my_vgg)` builds the reader's `my_vgg(conv_arch, input_size=...)` for several
architectures and sizes (224, 96, 32) and compares it layer by layer with `vggbook.models.vgg`,
naming the first difference (a hard-coded 7x7 shows at 96 px), then the outputs for the same weights;
last, an input too small for the blocks (VGG-11 at 28 px) must raise an error, not build a network.
"""
from __future__ import annotations

import functools
import math
import warnings

import torch
from torch import nn

from .. import models
from ._core import PLACEHOLDER, not_answered, register, report, task
from .block import _build, first_difference, leaves, lightly, output_difference, signature

__all__: list[str] = ["check_vgg"]  # the check_* functions the notebook imports

NARROW = 4  # the chapter's ratio: small_conv_arch


def _first_linear(net: nn.Module) -> nn.Linear:
    return next(m for m in net.modules() if isinstance(m, nn.Linear))


# ---------------------------------------------------------------- predict, then check

def _side_hint(input_size: int):
    conv_arch = models.VGG11_ARCH
    n_convs = sum(n for n, _ in conv_arch)

    def hint(answer, expected) -> str:
        if isinstance(answer, (tuple, list, str)):
            return "答一个整数：特征图是正方形，只问它的边长（高 = 宽）。"
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            return "答一个整数：最后一个特征图的边长，以像素计。"
        if answer in (c for _, c in conv_arch) or answer in (c * expected ** 2 for _, c in conv_arch):
            return "问的是边长（高 = 宽），不是通道数，也不是展平后的元素个数。"
        if input_size != 224 and answer == models.feature_size(conv_arch, 224):
            return "那是 224 px 时的边长：边长随输入尺寸而变。"
        halvings = [k for k in range(12) if answer == input_size / 2 ** k or answer == input_size // 2 ** k]
        if halvings and halvings[0] == n_convs:
            return "只有汇聚层改变高和宽：卷积层（3×3，填充 1）保持不变，所以要数的是块，不是卷积层。"
        if halvings:
            return (f"你把边长减半了 {halvings[0]} 次：每个块末尾有一个汇聚层，"
                    f"数一数 conv_arch 中有几个块。")
        return "每个块把高和宽减半（向下取整）；卷积层不改变它们。"
    return hint


@functools.cache
@lightly
def _vgg11_counts() -> tuple[int, int, int, int]:
    """VGG-11 at 224 px: parameters in all, in its first Linear layer, in its 3 Linear layers, in its convs."""
    net = models.vgg(models.VGG11_ARCH)
    of = lambda kind: sum(models.count_parameters(m) for m in net.modules() if isinstance(m, kind))  # noqa: E731
    return models.count_parameters(net), models.count_parameters(_first_linear(net)), of(nn.Linear), of(nn.Conv2d)


def _share() -> float:
    total, first, _, _ = _vgg11_counts()
    return first / total


def _share_hint(answer, expected) -> str:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return "答一个 0 到 1 之间的小数：第一个全连接层的参数个数除以全部参数个数。"
    if answer > 1:
        if math.isclose(answer, 100 * expected, rel_tol=1e-3):
            return "请用 0 到 1 之间的小数，不用百分数。"
        return "比例在 0 到 1 之间：用第一个全连接层的参数个数除以全部参数个数。"
    total, _, linears, convs = _vgg11_counts()
    if math.isclose(answer, linears / total, rel_tol=2e-3):
        return "这是三个全连接层合计的比例；只问第一个。"
    if math.isclose(answer, convs / total, rel_tol=2e-3):
        return "这是卷积部分的比例；问的是第一个全连接层。"
    if math.isclose(answer, expected, rel_tol=2e-2):
        return "很接近了：算到三位有效数字。"
    return ("第一个全连接层有 in_features × 4096 个权重和 4096 个偏置（in_features 是展平后的元素个数）；"
            "再除以上面数出的全部参数个数。")


def _min_input() -> int:
    """The smallest side for which VGG-11's last feature map is at least 1x1."""
    side = 1
    while True:
        try:
            models.feature_size(models.VGG11_ARCH, side)
            return side
        except ValueError:
            side += 1


def _min_input_hint(answer, expected) -> str:
    n_blocks, n_convs = len(models.VGG11_ARCH), sum(n for n, _ in models.VGG11_ARCH)
    if isinstance(answer, (tuple, list, str)):
        return "答一个整数：输入图像（正方形）的边长，以像素计。"
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return "答一个整数：输入图像的边长，以像素计。"
    if answer == 28:
        return "28 是 Fashion-MNIST 原图的边长：把它连续减半（向下取整）5 次试试，最后还剩多少？"
    if answer == 224:
        return "224 可以，但不是最小的：最后的特征图只需剩 1×1，不必是 7×7。"
    if answer == 2 ** n_convs:
        return "只有汇聚层改变高和宽：每个块减半一次，要数的是块，不是卷积层。"
    if answer > 1 and float(answer).is_integer() and (int(answer) & (int(answer) - 1)) == 0:
        k = int(answer).bit_length() - 1
        if k < n_blocks:
            return f"这个边长只够减半 {k} 次：数一数 conv_arch 中有几个块。"
        return f"你按减半 {k} 次算了：数一数 conv_arch 中有几个块。"
    if answer < expected:
        return "太小了：连续减半（向下取整）几次之后，边长会变成 0。"
    return "还可以更小：最后的特征图只需剩 1×1；反过来想，1 要翻倍几次？"


register("vgg11-last-side-224",
         "224×224 的输入经过 VGG-11 的 5 个块之后，最后一个特征图的边长是多少（一个整数）？",
         lambda: models.feature_size(models.VGG11_ARCH, 224), lightly(_side_hint(224)))
register("vgg11-first-linear-share",
         "VGG-11（224 px）的全部参数中，第一个全连接层占多大比例（0 到 1 之间的小数，三位有效数字）？",
         lightly(_share), lightly(_share_hint))
register("vgg11-min-input",
         "VGG-11 的 5 个块能接受的最小输入边长是多少像素（一个整数）？",
         _min_input, _min_input_hint)


# ---------------------------------------------------------------- write it yourself: vgg for any input size

# (how a message names the architecture, conv_arch): VGG-11 first, so a hard-coded 7x7 shows at 96 px.
VGG_ARCHS = (
    ("conv_arch", models.VGG11_ARCH),
    ("narrow(conv_arch, 4)", tuple(models.narrow(models.VGG11_ARCH, NARROW))),
    ("((1, 8), (2, 16), (2, 32))", ((1, 8), (2, 16), (2, 32))),
    ("((2, 16), (2, 32), (3, 64), (3, 128), (3, 128))", ((2, 16), (2, 32), (3, 64), (3, 128), (3, 128))),
)
VGG_SIZES = (224, 96, 32)
# The cases also run forward with the same weights (small enough to build for real in a moment).
VGG_FORWARD = {("narrow(conv_arch, 4)", 32), ("((1, 8), (2, 16), (2, 32))", 96)}
TOO_SMALL = 28  # Fashion-MNIST's own side: VGG-11's 5 blocks halve it to 0, so my_vgg must raise


def _linear_note(conv_arch, input_size: int, mine: nn.Module) -> str:
    """For a wrong first Linear: what the reader's in_features looks like it came from."""
    try:
        got = _first_linear(mine).in_features
    except StopIteration:
        return ""
    n, channels, side = len(conv_arch), conv_arch[-1][1], models.feature_size(conv_arch, input_size)
    if got == channels * side * side:
        return ""
    seven = got == channels * 7 * 7
    five = n != 5 and got == channels * (input_size // 2 ** 5) ** 2
    if seven and five:
        return (f"看起来边长是按 5 个块算的（或写死成了 7）：这个 conv_arch 有 {n} 个块，每个块减半一次，"
                f"{input_size} px 时最后的特征图是 {side}×{side}。")
    if seven:
        return (f"看起来边长写死成了 7：7 只在 5 个块、224 px 时成立，这里 {n} 个块、"
                f"{input_size} px 时最后的特征图是 {side}×{side}。")
    if five:
        return f"看起来边长是按 5 个块算的：这个 conv_arch 有 {n} 个块，每个块减半一次。"
    return f"这里最后的特征图是 {channels}×{side}×{side}。"


def _differs_first_at_a_linear(mine: nn.Module, ref: nn.Module) -> bool:
    """Whether the first layer where `mine` differs from `ref` is a Linear layer of `ref`."""
    pairs = zip(leaves(mine), leaves(ref))
    first = next((r for (_, m), (_, r) in pairs if signature(m) != signature(r)), None)
    return isinstance(first, nn.Linear)


def _too_small_builds(my_vgg) -> str | None:
    """Whether my_vgg(conv_arch, input_size=TOO_SMALL) builds a network instead of raising: say so."""
    call = f"my_vgg(conv_arch, input_size={TOO_SMALL})"
    with torch.device("meta"), warnings.catch_warnings():  # builds without allocating its weights
        warnings.simplefilter("ignore")  # nn.Linear(0, 4096) warns of a zero-element tensor
        mine, error = _build(my_vgg, models.VGG11_ARCH, input_size=TOO_SMALL)
    if error:  # it raised on the meta device: make sure it also does with real tensors
        mine, error = _build(my_vgg, models.VGG11_ARCH, input_size=TOO_SMALL)
    if error:
        return None
    side = TOO_SMALL // 2 ** len(models.VGG11_ARCH)
    return (f"{call} 没有报错，而是返回了 {type(mine).__name__}：{len(models.VGG11_ARCH)} 个块把 {TOO_SMALL} 像素"
            f"连续减半，最后的边长是 {side}，网络没法用。边长为 0 时请抛出一个错误（如 raise ValueError(...)），"
            f"说明原因。")


@task(models.vgg)
def check_vgg(my_vgg) -> bool | None:
    """Build the reader's my_vgg(conv_arch, input_size=...) and the package's vgg for several
    architectures at 224, 96 and 32 px; name the first layer that differs, then compare outputs;
    last, VGG-11 at 28 px must raise."""
    todo = (f"{PLACEHOLDER}（写出 my_vgg(conv_arch, input_size=224)，返回整个网络；"
            f"已经写好了的话，看看是不是忘了 return。）")
    if not_answered(my_vgg):
        print(todo)
        return None
    if not callable(my_vgg):
        return report(False, f"请传入一个函数（def my_vgg(...)），而不是 {type(my_vgg).__name__}。")
    n = 0
    with torch.random.fork_rng(devices=[]):  # leave the reader's random numbers as they were
        torch.manual_seed(0)
        for label, conv_arch in VGG_ARCHS:
            for size in VGG_SIZES:
                call = f"my_vgg({label}, input_size={size})"
                forward = (label, size) in VGG_FORWARD
                if forward:
                    mine, error = _build(my_vgg, conv_arch, input_size=size)
                else:  # structure only: on the meta device, without allocating a hundred million weights
                    with torch.device("meta"):
                        mine, error = _build(my_vgg, conv_arch, input_size=size)
                    if error:  # code that needs real tensors: build it for real to get its own error
                        mine, error = _build(my_vgg, conv_arch, input_size=size)
                if error:
                    if "input_size" in error and "argument" in error:
                        return report(False, f"{call} 出错：{error}。my_vgg 应接受关键字参数 input_size，"
                                             f"如 def my_vgg(conv_arch, input_size=224)。")
                    return report(False, f"{call} 出错：{error}")
                if mine is None:
                    if n == 0:
                        print(todo)
                        return None
                    return report(False, f"{call} 返回了 None：每种参数都要返回一个网络。")
                if not isinstance(mine, nn.Module):
                    return report(False, f"{call} 返回的是 {type(mine).__name__}，应是一个 nn.Sequential。")
                if forward:
                    ref = models.vgg(conv_arch, input_size=size)
                else:
                    with torch.device("meta"):
                        ref = models.vgg(conv_arch, input_size=size)
                problem = first_difference(call, mine, ref)
                if problem:
                    if _differs_first_at_a_linear(mine, ref):
                        problem += _linear_note(conv_arch, size, mine)
                    return report(False, problem)
                if forward:
                    problem = output_difference(call, mine, ref, torch.randn(2, 1, size, size))
                    if problem:
                        return report(False, problem)
                n += 1
        problem = _too_small_builds(my_vgg)
        if problem:
            return report(False, problem)
    return report(True, f"{len(VGG_ARCHS)} 种 conv_arch × {len(VGG_SIZES)} 种输入尺寸（"
                        f"{', '.join(map(str, VGG_SIZES))} px）下，my_vgg 与 vggbook.vgg 层层相同，"
                        f"相同权重下输出一致；输入太小时会报错。")
