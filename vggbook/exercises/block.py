"""The exercises of notebook 01_vgg_block: its predict-then-check items and write-it-yourself checkers.

Items (every expected answer is computed from `vggbook.models`):

- "block-param-count": the number of parameters of `vgg_block(2, 1, 64)`, weights and biases;
- "two-3x3-receptive-field": the side of the receptive field of two stacked 3x3 convs (stride 1);
- "two-3x3-vs-5x5-weights": the weights of two 3x3 convs (C -> C) over those of one 5x5 conv.

Checker: `check_vgg_block(my_vgg_block)` builds the reader's block and the chapter's for several
(num_convs, in_channels, out_channels) and names the first difference: a layer's type, kernel size,
padding, stride or channels, a missing or extra layer, or a different output for the same weights.
The layer comparison (`first_difference`, `output_difference`) is shared with notebook 02's checker.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import nn

from .. import models
from ._core import PLACEHOLDER, not_answered, register, report, task

__all__: list[str] = ["check_vgg_block"]  # the check_* functions the notebook imports

BLOCK_ARGS = (2, 1, 64)   # the block the notebook builds
C = 64                    # channels of the 3x3-against-5x5 comparison


# ---------------------------------------------------------------- predict, then check

def lightly(fn: Callable) -> Callable:
    """`fn` on the meta device (shapes and counts, no weights to fill) and without moving the global
    random state: an answered item leaves the notebook's later random numbers as an unanswered one."""
    @functools.wraps(fn)
    def run(*args):
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            return fn(*args)
    return run


def _conv_counts() -> list[tuple[int, int]]:
    """(weights, biases) of each conv of the notebook's block."""
    return [(m.weight.numel(), m.bias.numel()) for m in models.vgg_block(*BLOCK_ARGS)
            if isinstance(m, nn.Conv2d)]


def _block_param_count() -> int:
    return models.count_parameters(models.vgg_block(*BLOCK_ARGS))


def _param_hint(answer, expected) -> str:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return "答一个整数：这个块所有参数（权重和偏置）的个数。"
    counts = _conv_counts()
    weights = sum(w for w, _ in counts)
    _, c_in, c_out = BLOCK_ARGS
    if answer == weights:
        return "你只数了权重：每个卷积层还有偏置，每个输出通道一个。"
    if answer in [w + b for w, b in counts] or answer in [w for w, _ in counts]:
        return "块里有两个卷积层，两个都要数。"
    if answer == len(counts) * (9 * c_out * c_out + c_out):
        return f"第一个卷积层的输入通道数是 in_channels = {c_in}，不是 {c_out}：只有它后面的卷积层才是 {c_out} → {c_out}。"
    if answer == sum(w // 9 + b for w, b in counts):
        return "3×3 卷积核：每一对（输入通道，输出通道）有 3·3 = 9 个权重，不是 1 个。"
    if answer > expected:
        return ("多了：ReLU 和汇聚层没有参数；一个 c_in → c_out 的 3×3 卷积层有 "
                "9·c_in·c_out 个权重和 c_out 个偏置。")
    return "一个 c_in → c_out 的 3×3 卷积层有 9·c_in·c_out 个权重和 c_out 个偏置；把两个卷积层分别算出来再相加。"


def receptive_field(net: nn.Module) -> int:
    """Side of the receptive field of one output pixel of a stack of convs and pools (square kernels)."""
    side, jump = 1, 1
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            d = getattr(m, "dilation", 1)
            d = d if isinstance(d, int) else d[0]
            side += (k - 1) * d * jump
            jump *= s
    return side


def _two_3x3_receptive_field() -> int:
    return receptive_field(models.conv_block((3, 3), 1, 1)[:-1])  # the two convs, without the pool


def _rf_hint(answer, expected) -> str:
    if isinstance(answer, (tuple, list, str)):
        return "答一个整数：感受野（一个正方形）的边长，以像素计。"
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return "答一个整数：感受野的边长，以像素计。"
    if answer == expected ** 2:
        return "这是感受野的面积（像素个数）；问的是边长。"
    if answer == 3:
        return ("第二层的一个输出像素看第一层输出的 3×3 个像素，而这 9 个像素又各自看输入中的一块 3×3："
                "把这些块合在一起，覆盖多大的区域？")
    if answer in (6, 9):
        return "不是把两个 3 相加或相乘：相邻像素的 3×3 窗口大部分相互重叠。在纸上画一行像素，数一数。"
    if answer < 3:
        return "一个 3×3 卷积层的感受野就已经是 3×3 了，两层只会更大。"
    return "大了：步幅为 1 时，每多一个 3×3 卷积层，感受野只向四周各扩出一圈像素。"


def _weights(net: nn.Module) -> int:
    return sum(p.numel() for name, p in net.named_parameters() if name.endswith("weight"))


def _two_3x3_vs_5x5() -> float:
    return _weights(models.conv_block((3, 3), C, C)) / _weights(models.conv_block((5,), C, C))


def _ratio_hint(answer, expected) -> str:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return "答一个小数：两个 3×3 层的权重数除以一个 5×5 层的权重数。"
    if answer <= 0:
        return "权重数都是正的，比值也是正数。"
    if math.isclose(answer, 100 * expected, rel_tol=5e-3):
        return "请用小数（如 0.5），不用百分数。"
    if math.isclose(answer, 1 / expected, rel_tol=5e-3):
        return "比反了：用两个 3×3 层的权重数除以一个 5×5 层的权重数。"
    if math.isclose(answer, expected / 2, rel_tol=5e-3):
        return "两个 3×3 层，不是一个：两层的权重要加起来。"
    biases = ((_weights(models.conv_block((3, 3), C, C)) + 2 * C)
              / (_weights(models.conv_block((5,), C, C)) + C))
    if math.isclose(answer, biases, rel_tol=5e-4):
        return "只数权重，不算偏置（这样比值才与 C 无关）。"
    if math.isclose(answer, expected, rel_tol=3e-2):
        return "很接近了：再算精确一些（三位有效数字）。"
    return "一个 k×k、C → C 的卷积层有 k²·C² 个权重；C² 在比值中约掉了。"


register("block-param-count",
         "vgg_block(2, 1, 64) 一共有多少个参数（权重和偏置，一个整数）？",
         lightly(_block_param_count), lightly(_param_hint))
register("two-3x3-receptive-field",
         "两个堆叠的 3×3 卷积层（步幅 1，中间没有汇聚），输出的一个像素依赖输入中多大的正方形？答它的边长（一个整数）。",
         lightly(_two_3x3_receptive_field), lightly(_rf_hint))
register("two-3x3-vs-5x5-weights",
         "输入输出都是 C 个通道时，两个 3×3 卷积层的权重数是一个 5×5 卷积层的多少倍（只数权重，一个小数）？",
         lightly(_two_3x3_vs_5x5), lightly(_ratio_hint))


# ---------------------------------------------------------------- comparing two networks layer by layer

def leaves(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers of `net` in order, as (qualified name, module), however they are nested (a module
    used twice, such as one nn.ReLU, is listed each time)."""
    return [(name, m) for name, m in net.named_modules(remove_duplicate=False) if next(m.children(), None) is None]


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _padding(m: nn.Conv2d) -> tuple:
    if m.padding == "same":  # stride 1: the padding that keeps the size, as the chapter's k // 2 does
        return tuple(d * (k - 1) // 2 for k, d in zip(m.kernel_size, m.dilation))
    if m.padding == "valid":
        return (0, 0)
    return _pair(m.padding)


def signature(m: nn.Module) -> tuple:
    """What the chapter's code fixes about a layer; ReLU(inplace=True) and padding='same' count as the same."""
    if isinstance(m, nn.Conv2d):
        return ("Conv2d", m.in_channels, m.out_channels, _pair(m.kernel_size), _pair(m.stride), _padding(m),
                _pair(m.dilation), m.groups, m.bias is not None, m.padding_mode)
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        stride = m.stride if m.stride is not None else m.kernel_size
        return (type(m).__name__, _pair(m.kernel_size), _pair(stride), _pair(m.padding),
                _pair(getattr(m, "dilation", 1)), m.ceil_mode)
    if isinstance(m, nn.Linear):
        return ("Linear", m.in_features, m.out_features, m.bias is not None)
    if isinstance(m, nn.Dropout):
        return ("Dropout", m.p)
    if isinstance(m, nn.Flatten):
        return ("Flatten", m.start_dim, m.end_dim)
    if isinstance(m, nn.ReLU):
        return ("ReLU",)
    return (type(m).__name__, repr(m))


def describe(m: nn.Module) -> str:
    """A layer in a few words: Conv2d(1 → 64, 3×3, 步幅 1, 填充 1)."""
    if isinstance(m, nn.Conv2d):
        (kh, kw), (sh, sw), (ph, pw) = _pair(m.kernel_size), _pair(m.stride), _padding(m)
        bias = "" if m.bias is not None else "，无偏置"
        return (f"Conv2d({m.in_channels} → {m.out_channels}, {kh}×{kw}, 步幅 {sh if sh == sw else (sh, sw)}, "
                f"填充 {ph if ph == pw else (ph, pw)}{bias})")
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        (kh, kw) = _pair(m.kernel_size)
        (sh, sw) = _pair(m.stride if m.stride is not None else m.kernel_size)
        return f"{type(m).__name__}({kh}×{kw}, 步幅 {sh if sh == sw else (sh, sw)})"
    if isinstance(m, nn.Linear):
        return f"Linear({m.in_features} → {m.out_features})"
    if isinstance(m, nn.Dropout):
        return f"Dropout({m.p})"
    if isinstance(m, nn.Flatten):
        return "Flatten"
    if isinstance(m, nn.ReLU):
        return "ReLU"
    return repr(m)


def _why(mine: nn.Module, ref: nn.Module) -> str:
    """A sentence on what a differing layer gets wrong, for the differences readers make most."""
    if isinstance(ref, nn.Conv2d) and isinstance(mine, nn.Conv2d):
        if mine.in_channels != ref.in_channels:
            return "卷积层的输入通道数应等于前一个卷积层的输出通道数（每个卷积层之后要更新 in_channels）。"
        if mine.out_channels != ref.out_channels:
            return "块中每个卷积层都输出 out_channels 个通道。"
        if _pair(mine.kernel_size) != _pair(ref.kernel_size):
            return "VGG 块只用 3×3 卷积核。"
        if _pair(mine.stride) != _pair(ref.stride):
            return "卷积层的步幅为 1：块中只有汇聚层缩小特征图。"
        if _padding(mine) != _padding(ref):
            return "填充为 1，3×3 卷积才保持高和宽不变。"
        if (mine.bias is None) != (ref.bias is None):
            return "教材的卷积层带偏置（nn.Conv2d 的默认值 bias=True）。"
    if isinstance(ref, nn.MaxPool2d) and isinstance(mine, (nn.MaxPool2d, nn.AvgPool2d)):
        if isinstance(mine, nn.AvgPool2d):
            return "VGG 块用最大汇聚，不是平均汇聚。"
        return "汇聚层的窗口是 2×2、步幅为 2，把高和宽各减半。"
    if isinstance(ref, nn.ReLU):
        return "每个卷积层后面紧跟一个 ReLU。"
    if isinstance(ref, nn.MaxPool2d) and isinstance(mine, nn.Conv2d):
        return "卷积层多了：一个块有 num_convs 个“卷积 + ReLU”，之后才是汇聚层。"
    if isinstance(ref, nn.Conv2d) and isinstance(mine, (nn.MaxPool2d, nn.AvgPool2d)):
        return "卷积层少了：一个块有 num_convs 个“卷积 + ReLU”，之后才是汇聚层。"
    if isinstance(ref, nn.Linear) and isinstance(mine, nn.Linear) and mine.in_features != ref.in_features:
        return "第一个全连接层的输入维度 = 最后一个块的输出通道数 × 最后特征图的高 × 宽。"
    return ""


def first_difference(call: str, mine: nn.Module, ref: nn.Module) -> str | None:
    """The first layer where `mine` differs from `ref`, in a sentence; None if the layers agree."""
    a, b = leaves(mine), leaves(ref)
    for i, ((name, m), (_, r)) in enumerate(zip(a, b)):
        if signature(m) != signature(r):
            where = f"第 {i + 1} 层（你的模型中的 `{name}`）" if name else f"第 {i + 1} 层"
            return f"{call} 的{where}应是 {describe(r)}，你的是 {describe(m)}。{_why(m, r)}".rstrip()
    if len(a) < len(b):
        after = f"在最后一层 {describe(a[-1][1])} 之后" if a else "一层也没有："
        return f"{call} 少了层：{after}还应有 {describe(b[len(a)][1])}（共 {len(b)} 层，你的有 {len(a)} 层）。"
    if len(a) > len(b):
        return (f"{call} 多了层：教材的在 {describe(b[-1][1])} 处结束，你的之后还有 {describe(a[len(b)][1])}"
                f"（教材共 {len(b)} 层，你的有 {len(a)} 层）。")
    return None


def output_difference(call: str, mine: nn.Module, ref: nn.Module, X: torch.Tensor) -> str | None:
    """With the layers known to agree: give `ref` the weights of `mine`, and compare their outputs on X."""
    ref = ref.to(X.device)
    with torch.no_grad():
        for (_, m), (_, r) in zip(leaves(mine), leaves(ref)):
            for p, q in zip(m.parameters(recurse=False), r.parameters(recurse=False)):
                q.copy_(p)
        mine.eval(), ref.eval()  # Dropout off
        try:
            got = mine(X)
        except Exception as e:  # noqa: BLE001  (the reader's forward: say what went wrong, in one line)
            return f"{call} 的各层都对，但前向传播出错（输入形状 {tuple(X.shape)}）：{type(e).__name__}: {e}"
        want = ref(X)
    if not isinstance(got, torch.Tensor) or got.shape != want.shape:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return f"{call} 的各层都对，但输出形状是 {shape}，应是 {tuple(want.shape)}：检查 forward 中各层的顺序。"
    if not torch.allclose(got, want, rtol=1e-5, atol=1e-6):
        return (f"{call} 的各层都对，权重也相同，输出却不同（最大差 {(got - want).abs().max().item():.3g}）："
                f"检查 forward 是否按顺序经过每一层。")
    return None


def _build(fn: Callable, *args, **kwargs):
    """fn(*args, **kwargs), or the one-line reason it failed."""
    try:
        return fn(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001  (the reader's code: report, never raise)
        return None, f"{type(e).__name__}: {e}"


# ---------------------------------------------------------------- write it yourself: vgg_block

VGG_BLOCK_CASES = ((1, 1, 64), (2, 1, 64), (2, 64, 128), (3, 3, 16), (4, 16, 16))


@task(models.vgg_block)
def check_vgg_block(my_vgg_block) -> bool | None:
    """Build the reader's block and the chapter's for several (num_convs, in_channels, out_channels);
    name the first difference in layers or in the output for the same weights."""
    todo = (f"{PLACEHOLDER}（写出 my_vgg_block(num_convs, in_channels, out_channels)，返回一个 nn.Sequential；"
            f"已经写好了的话，看看是不是忘了 return。）")
    if not_answered(my_vgg_block):
        print(todo)
        return None
    if not callable(my_vgg_block):
        return report(False, f"请传入一个函数（def my_vgg_block(...)），而不是 {type(my_vgg_block).__name__}。")
    with torch.random.fork_rng(devices=[]):  # leave the reader's random numbers as they were
        torch.manual_seed(0)
        for n, (args) in enumerate(VGG_BLOCK_CASES):
            call = f"my_vgg_block{args}"
            mine, error = _build(my_vgg_block, *args)
            if error:
                return report(False, f"{call} 出错：{error}")
            if mine is None:
                if n == 0:
                    print(todo)
                    return None
                return report(False, f"{call} 返回了 None：每种参数都要返回一个 nn.Sequential。")
            if not isinstance(mine, nn.Module):
                return report(False, f"{call} 返回的是 {type(mine).__name__}，应是一个 nn.Sequential。")
            ref = models.vgg_block(*args)
            problem = first_difference(call, mine, ref) or output_difference(
                call, mine, ref, torch.randn(2, args[1], 16, 16))
            if problem:
                return report(False, problem)
    return report(True, f"在 {len(VGG_BLOCK_CASES)} 组参数下，my_vgg_block 与 vggbook.vgg_block 层层相同，"
                        f"相同权重下输出一致。")
