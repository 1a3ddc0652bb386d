"""The exercises of notebook 05_exercises: one predict-then-check item per exercise of the chapter, and
one write-it-yourself task.

Predict, then check:

    05-hidden-convs       exercise 1: which blocks of VGG-11 hide a conv layer in the top-level trace
    05-quiz-why-slow      exercise 2: why the narrow VGG-11 is slower and hungrier than AlexNet (a letter)
    05-params-saved-96    exercise 3: how many parameters the narrow VGG-11 loses at 96 px instead of 224
    05-vgg16-params       exercise 4: the exact parameter count of VGG-16 (3 channels, 1000 classes)

Write it yourself: `check_vgg16(vgg16_arch)` and `check_vgg19(vgg19_arch)` take the reader's
`conv_arch` for configurations D and E of the paper's Table 1, build it with the chapter's `vgg`
(3 input channels, 1000 classes, 224 px) and compare it with torchvision's `vgg16` / `vgg19`:
blocks, layers and parameter count. The networks are built on the meta device: no memory is
allocated and no weights are initialised, so a check takes a fraction of a second.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .. import models
from ._core import PLACEHOLDER, as_number, not_answered, off, register, report, task

__all__ = ["check_vgg16", "check_vgg19"]

IMAGENET = {"in_channels": 3, "num_classes": 1000}  # the paper's setting: RGB images, 1000 classes


def _on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """Build a network on the meta device: shapes only, no memory, no initialisation cost."""
    with torch.device("meta"):
        return build()


def _count(net: nn.Module, *kinds: type) -> int:
    return sum(isinstance(m, kinds) for m in net.modules())


def _arch_of(config: str) -> tuple[tuple[int, int], ...]:
    """The chapter's conv_arch, (num_convs, out_channels) per block, of a 3x3-only Table 1 config."""
    spec = models.TABLE1[config]
    if any(k != 3 for kernels, _ in spec for k in kernels):
        raise ValueError(f"configuration {config} has convs other than 3x3: no conv_arch for it")
    return tuple((len(kernels), width) for kernels, width in spec)


# --- exercise 1: the layers of VGG-11 -----------------------------------------------------------

def _hidden_convs() -> tuple[int, ...]:
    """The blocks (numbered from 1) whose convs share one line of the top-level trace: those with 2+ convs."""
    net = _on_meta(lambda: models.vgg(models.VGG11_ARCH))
    blocks = [m for m in net if isinstance(m, nn.Sequential)]
    return tuple(i for i, b in enumerate(blocks, start=1) if _count(b, nn.Conv2d) > 1)


def _hidden_convs_hint(answer, expected) -> str:
    if isinstance(answer, bool) or isinstance(answer, (int, float)):
        return "写块的编号组成的元组，例如 (1, 2)：丢失的层不止在一个块里。"
    try:
        blocks = tuple(answer)
    except TypeError:
        return "写块的编号（从 1 数起）组成的元组，例如 (1, 2)。"
    if any(isinstance(b, bool) or not isinstance(b, int) for b in blocks):
        return "元组里写块的编号（整数，从 1 数起），例如 (1, 2)。"
    n = len(models.VGG11_ARCH)
    if any(not 1 <= b <= n for b in blocks):
        return (f"VGG-11 只有 {n} 个块（编号 1 到 {n}）；全连接层每层都单独打印一行，"
                "丢失的层在块里。")
    if blocks == tuple(b - 1 for b in expected):
        return "块的编号从 1 数起：第一个块是 1。"
    one = [b for b in blocks if models.VGG11_ARCH[b - 1][0] == 1]
    if one:
        return (f"第 {one[0]} 个块只有 1 个卷积层，它的输出就是这个块那一行；看 VGG11_ARCH 中每对的"
                "第一个数，哪些块不止一个卷积层？")
    return "还漏了块：凡是有 2 个卷积层的块，第二个卷积层都没有自己的一行。"


register("05-hidden-convs", "按块打印 VGG-11 的形状时，哪几个块里有卷积层没有单独的一行（块的编号，从 1 数起）？",
         _hidden_convs, _hidden_convs_hint)


# --- exercise 2: why slower and hungrier than AlexNet (a letter) --------------------------------

LETTERS = "ABCD"


def _choice_hint(why_wrong: dict[str, str]) -> Callable[[object, object], str]:
    """A hint for a multiple-choice item: why the chosen option is wrong."""
    def hint(answer, expected) -> str:
        letter = answer.strip().upper() if isinstance(answer, str) else None
        if letter not in why_wrong:
            return f"写 {'、'.join(LETTERS)} 中的一个字母（字符串），例如 \"A\"。"
        return why_wrong[letter]
    return hint


register("05-quiz-why-slow",
         "本章训练的窄版 VGG-11 比 AlexNet 慢、占显存多，主要原因是哪一项（A/B/C/D）？",
         lambda: "B",
         _choice_hint({
             "A": "窄版 VGG-11 的参数量与 AlexNet 相近（见解答中的合计表），显存却多几倍："
                  "显存随激活增长，而不是随参数增长。",
             "C": "一个 3×3 卷积核每个输出只做 9·c_in 次乘加，比 11×11 少得多；"
                  "问题不在卷积核大小，而在它作用在多大的特征图上。",
             "D": "两个网络的全连接部分都是 4096–4096，输入也差不多大；"
                  "全连接层作用在展平的向量上，几乎不产生激活。",
         }))


# --- exercise 3: 96 px instead of 224 -----------------------------------------------------------

def _narrow(size: int) -> nn.Module:
    return _on_meta(lambda: models.vgg(models.narrow(models.VGG11_ARCH, 4), input_size=size))


def _first_linear(net: nn.Module) -> nn.Linear:
    return next(m for m in net.modules() if isinstance(m, nn.Linear))


def _params_saved_96() -> int:
    return models.count_parameters(_narrow(224)) - models.count_parameters(_narrow(96))


def _params_saved_96_hint(answer, expected) -> str:
    if as_number(answer) is None:
        return "写一个整数：少了多少个参数。"
    small, large = _narrow(96), _narrow(224)
    fc96, fc224 = _first_linear(small), _first_linear(large)
    channels, out = models.narrow(models.VGG11_ARCH, 4)[-1][1], fc224.out_features
    side96, side224 = models.feature_size(models.VGG11_ARCH, 96), models.feature_size(models.VGG11_ARCH, 224)
    if answer == 0:
        return ("卷积层的参数确实与图像大小无关；但第一个全连接层的输入个数是 通道数 × 边长²，"
                "最后的特征图变小，它也变小。")
    if answer == -expected:
        return "写少了多少（一个正数）。"
    if answer == models.count_parameters(small):
        return "这是 96 像素时的参数总数；问的是比 224 像素时少了多少。"
    if answer in (models.count_parameters(fc96), fc96.weight.numel()):
        return "这是 96 像素时第一个全连接层的参数；问的是它比 224 像素时少了多少。"
    if answer in (models.count_parameters(fc224), fc224.weight.numel()):
        return "这是 224 像素时第一个全连接层的参数；96 像素时它还剩一部分，问的是少了多少。"
    if answer == 4 * expected:
        return "512 是完整宽度；本章的窄版把每个块的通道数除以 4。"
    if answer == channels * (side224 - side96) * out:
        return "边长要平方：展平的是 通道数 × 高 × 宽。"
    return off(answer, expected, "只有第一个全连接层变了：它的输入从 通道数 × 7² 变成 通道数 × 边长²，"
                                 "每个输入连着 4096 个输出。")


register("05-params-saved-96", "输入从 224 改成 96 像素，本章的窄版 VGG-11 少了多少个参数？",
         _params_saved_96, _params_saved_96_hint)


# --- exercise 4: the configurations of Table 1 --------------------------------------------------

def _vgg16() -> nn.Module:
    return _on_meta(lambda: models.build("vgg16", **IMAGENET))


def _vgg16_params() -> int:
    return models.count_parameters(_vgg16())


def _vgg16_params_hint(answer, expected) -> str:
    if as_number(answer) is None:
        return "写一个整数：参数的个数。"
    net = _vgg16()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    biases = sum(m.bias.numel() for m in convs + linears)
    conv_part = sum(models.count_parameters(m) for m in convs)
    grey = models.count_parameters(_on_meta(lambda: models.build("vgg16", num_classes=1000)))
    ten = models.count_parameters(_on_meta(lambda: models.build("vgg16", in_channels=3)))
    kernel_as_3 = expected - sum(m.weight.numel() * 2 // 3 for m in convs)
    if answer == expected - biases:
        return "漏掉了偏置：每个卷积层和全连接层的每个输出还有 1 个偏置。"
    if answer == grey:
        return "这是 1 个输入通道（灰度图）时的值；ImageNet 的图像是 RGB，3 个通道。"
    if answer == ten:
        return "最后一层按 10 类算了；ImageNet 有 1000 类。"
    if answer == kernel_as_3:
        return "3×3 的卷积核有 9 个权重，不是 3 个。"
    if answer == conv_part:
        return "只算了卷积部分；3 个全连接层的参数更多（第一个就有一亿多个）。"
    if answer == expected - conv_part:
        return "只算了 3 个全连接层；还要加上 13 个卷积层。"
    if abs(answer - expected) <= 0.01 * expected:
        return ("数量级对了（论文表 2 写的是约 1.38 亿），但这里要精确到个：把每层的 权重 + 偏置 "
                "加起来，或者用代码数。")
    return off(answer, expected, "卷积层 9·c_in·c_out + c_out，全连接层 in·out + out，逐层相加。")


register("05-vgg16-params", "VGG-16（3 个输入通道、1000 类、224 像素）一共有多少个参数（精确到个）？",
         _vgg16_params, _vgg16_params_hint)


# --- write it yourself: VGG-16 and VGG-19 from Table 1 ------------------------------------------

def _config_name(config: str) -> str:
    """'VGG-16' for 'D': the common name of a configuration."""
    name = next(n for n, c in models.NAMES.items() if c == config)
    return f"VGG-{name[3:]}"


def _blocks(layers) -> list[list[nn.Conv2d]]:
    """The convs of each block of a flat layer sequence; a max-pool closes a block."""
    blocks, current = [], []
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            current.append(layer)
        elif isinstance(layer, nn.MaxPool2d):
            blocks.append(current)
            current = []
    return blocks


def _describe(layer: nn.Module) -> str:
    """A layer in a few characters: its type and the shapes that matter."""
    if isinstance(layer, nn.Conv2d):
        return (f"Conv2d({layer.in_channels}, {layer.out_channels}, kernel_size={layer.kernel_size}, "
                f"padding={layer.padding})")
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features}, {layer.out_features})"
    if isinstance(layer, nn.MaxPool2d):
        return f"MaxPool2d(kernel_size={layer.kernel_size}, stride={layer.stride})"
    return type(layer).__name__


def _signature(layer: nn.Module):
    if isinstance(layer, nn.Conv2d):
        return ("Conv2d", tuple(layer.weight.shape), layer.padding, layer.stride)
    if isinstance(layer, nn.Linear):
        return ("Linear", tuple(layer.weight.shape))
    if isinstance(layer, nn.MaxPool2d):
        return ("MaxPool2d", layer.kernel_size, layer.stride)
    return (type(layer).__name__,)


def _leaves(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children())]


def _format_problem(arch) -> str | None:
    """What is wrong with the form of a conv_arch, in Chinese, or None if it is a sequence of pairs."""
    example = f"例如本章的 VGG11_ARCH = {models.VGG11_ARCH}"
    if isinstance(arch, (str, bytes)) or not hasattr(arch, "__iter__"):
        return f"conv_arch 应是 (卷积层数, 输出通道数) 对组成的元组，{example}；你给的是 {arch!r}。"
    for i, pair in enumerate(arch, start=1):
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            return f"第 {i} 项 {pair!r} 不是 (卷积层数, 输出通道数) 这样的一对数，{example}。"
        convs, width = pair
        if isinstance(convs, (tuple, list)):
            return (f"第 {i} 个块的卷积层数写成了 {convs!r}：conv_arch 里每对的第一个数是卷积层的"
                    "个数（一个整数）；models.TABLE1 写的是每个卷积层的卷积核大小，数一数有几个。")
        if any(isinstance(x, bool) or not isinstance(x, int) for x in (convs, width)):
            return f"第 {i} 个块 {tuple(pair)!r}：卷积层数和输出通道数都应是整数。"
    return None


def _same_as(arch) -> str:
    """' (你写的是配置 A，即 VGG-11)' if arch is another expressible configuration of Table 1."""
    for config in ("A", "B", "D", "E"):
        if tuple(map(tuple, arch)) == _arch_of(config):
            return f"（你写的是配置 {config}，即 {_config_name(config)}）"
    return ""


def _check_against(arch, config: str, torchvision_builder: str) -> bool | None:
    """Build `vgg(arch)` for ImageNet and compare it with torchvision's model of `config`."""
    name = _config_name(config)
    if not_answered(arch):
        print(f"{PLACEHOLDER}（按论文表 1 的配置 {config} 写出 {name} 的 conv_arch）")
        return None
    problem = _format_problem(arch)
    if problem:
        return report(False, problem)
    arch = tuple(tuple(pair) for pair in arch)

    import torchvision  # only here: importing the exercises stays light
    target = _on_meta(lambda: getattr(torchvision.models, torchvision_builder)(weights=None))
    blocks = [(len(convs), convs[-1].out_channels) for convs in _blocks(target.features)]
    if len(arch) != len(blocks):
        return report(False, f"你写了 {len(arch)} 个块，表 1 的 {config} 有 {len(blocks)} 个块"
                             f"（每个块以一个汇聚层结尾，224 像素缩到 7×7）。")
    widths = {w for _, w in blocks}
    for i, ((convs, width), (n, w)) in enumerate(zip(arch, blocks), start=1):
        if convs in widths and width not in widths:
            return report(False, f"第 {i} 个块写成了 {(convs, width)!r}：看起来一对数的顺序写反了，"
                                 "先写卷积层数，再写输出通道数。")
        if convs != n:
            return report(False, f"第 {i} 个块有 {convs} 个卷积层，表 1 的 {config} 有 {n} 个"
                                 f"{_same_as(arch)}。")
        if width != w:
            narrow = "（这是本章窄版除以 4 后的宽度，表 1 是完整宽度）" if width * 4 == w else ""
            return report(False, f"第 {i} 个块的输出通道数是 {width}，表 1 的 {config} 是 {w}{narrow}。")

    try:
        ours = _on_meta(lambda: models.vgg(arch, **IMAGENET))
    except Exception as e:  # noqa: BLE001  (anything the reader's arch makes vgg() raise)
        return report(False, f"用你的 conv_arch 构建网络时出错：{type(e).__name__}: {e}")
    flatten = next(i for i, m in enumerate(ours) if isinstance(m, nn.Flatten))
    parts = (("卷积部分", _leaves(ours[:flatten]), _leaves(target.features)),
             ("全连接部分", _leaves(ours[flatten + 1:]), _leaves(target.classifier)))
    for part, mine, theirs in parts:
        for j, (a, b) in enumerate(zip(mine, theirs), start=1):
            if _signature(a) != _signature(b):
                return report(False, f"{part}的第 {j} 层：你的网络是 {_describe(a)}，"
                                     f"torchvision 的 {torchvision_builder} 是 {_describe(b)}。")
        if len(mine) != len(theirs):
            return report(False, f"{part}有 {len(mine)} 层，torchvision 的 {torchvision_builder} "
                                 f"有 {len(theirs)} 层。")
    mine, theirs = models.count_parameters(ours), models.count_parameters(target)
    if mine != theirs:
        return report(False, f"参数量是 {mine:,}，torchvision 的 {torchvision_builder} 是 {theirs:,}。")
    weight_layers = _count(ours, nn.Conv2d, nn.Linear)
    return report(True, f"与 torchvision 的 {torchvision_builder} 逐层相同：{weight_layers} 个带权重的层，"
                        f"{mine:,} 个参数。")


@task(_arch_of("D"))
def check_vgg16(arch) -> bool | None:
    """Check a conv_arch for VGG-16 (configuration D of Table 1) against torchvision's vgg16.

    `arch` is a tuple of (num_convs, out_channels) pairs, one per block, like the chapter's
    VGG11_ARCH. The checker builds `vgg(arch, in_channels=3, num_classes=1000)` on the meta device
    and compares blocks, layers and parameter count; it names the first difference.
    """
    return _check_against(arch, "D", "vgg16")


@task(_arch_of("E"))
def check_vgg19(arch) -> bool | None:
    """Check a conv_arch for VGG-19 (configuration E of Table 1) against torchvision's vgg19.

    Same as `check_vgg16`, for configuration E.
    """
    return _check_against(arch, "E", "vgg19")
