"""The exercises of notebook 05_exercises: its predict-then-check items and write-it-yourself checkers.

Predict, then check (exercise 1, 3 and 4 of the chapter, then a self-check at the end):

    05-vgg11-convs        the number of conv layers in VGG-11
    05-side-96            the side of the last feature map at 96 px
    05-in-features-96     in_features of the narrow VGG-11's first Linear layer at 96 px
    05-e-weight-layers    the number of weight layers of configuration E
    05-vgg16-params       the exact parameter count of VGG-16 (3 channels, 1000 classes)
    05-quiz-why-slow      self-check: why VGG is slower than AlexNet (a letter)
    05-quiz-min-size      self-check: the smallest input of a VGG with 6 blocks
    05-quiz-depth         self-check: why VGG-16 did worse than VGG-11 here (a letter)

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

def _vgg11_convs() -> int:
    return _count(_on_meta(lambda: models.vgg(models.VGG11_ARCH)), nn.Conv2d)


def _vgg11_convs_hint(answer, expected) -> str:
    if as_number(answer) is None:
        return "写一个整数：卷积层的个数。"
    linears = _count(_on_meta(lambda: models.vgg(models.VGG11_ARCH)), nn.Linear)
    blocks = len(models.VGG11_ARCH)
    if answer == expected + linears:
        return "这是所有带权重的层的个数，其中还有 3 个全连接层；这里只数卷积层。"
    if answer == blocks:
        return "这是块的个数；有的块里不止一个卷积层，看 VGG11_ARCH 中每对的第一个数。"
    if answer == expected - blocks or answer == linears:
        return ("这是全连接层的个数，也是块内第二个卷积层的个数；这里要数 5 个块里的全部卷积层，"
                "每个块的第一个卷积层也算。")
    if answer == len(_on_meta(lambda: models.vgg(models.VGG11_ARCH))):
        return "这是顶层形状追踪打印的行数（块、Flatten 和全连接部分的每一层各一行）。"
    return off(answer, expected, "把 VGG11_ARCH 中每对的第一个数（卷积层数）加起来。")


register("05-vgg11-convs", "VGG-11 的 5 个块里一共有多少个卷积层？", _vgg11_convs, _vgg11_convs_hint)


# --- exercise 3: 96 px instead of 224 -----------------------------------------------------------

def _side_96() -> int:
    return models.feature_size(models.VGG11_ARCH, 96)


def _side_96_hint(answer, expected) -> str:
    if isinstance(answer, (tuple, list)):
        return "只写边长（一个整数），不写形状：最后的特征图是正方形。"
    if as_number(answer) is None:
        return "写一个整数：最后一个特征图的边长（像素）。"
    blocks = len(models.VGG11_ARCH)
    halvings = {96 // 2 ** k: k for k in range(blocks)}
    if answer == 96:
        return "这是输入的边长：每个块末尾的 2×2 汇聚层（步幅 2）都把边长减半。"
    if answer in halvings:
        return (f"这是边长减半 {halvings[answer]} 次的结果：5 个块各以一个 2×2、步幅 2 的汇聚层结尾，"
                "一共减半 5 次。")
    if answer == models.feature_size(models.VGG11_ARCH, 224):
        return "这是 224 像素时的边长；这里的输入是 96 像素。"
    if answer < expected:
        return "偏小：3×3 卷积（填充 1）不改变边长，只有每个块末尾的汇聚层把边长减半。"
    return off(answer, expected, "5 个块，每个块末尾的 2×2 汇聚层把边长减半一次。")


register("05-side-96", "96 像素的输入经过 VGG-11 的 5 个块之后，最后的特征图边长是多少？",
         _side_96, _side_96_hint)


def _first_linear(arch, size: int) -> int:
    net = _on_meta(lambda: models.vgg(arch, input_size=size))
    return next(m for m in net.modules() if isinstance(m, nn.Linear)).in_features


def _in_features_96() -> int:
    return _first_linear(models.narrow(models.VGG11_ARCH, 4), 96)


def _in_features_224() -> int:
    return _first_linear(models.narrow(models.VGG11_ARCH, 4), 224)


def _in_features_96_hint(answer, expected) -> str:
    if as_number(answer) is None:
        return "写一个整数：第一个全连接层的输入个数。"
    arch = models.narrow(models.VGG11_ARCH, 4)
    channels, side = arch[-1][1], models.feature_size(arch, 96)
    full = models.VGG11_ARCH[-1][1]
    if answer == full * side * side or answer == channels * (2 * side) ** 2:
        return ("偏大：要么用了完整宽度的 512 个通道（窄版把每个块的通道数除以 4），"
                "要么边长少减半了一次（5 个块各有一个汇聚层）。")
    if answer == _in_features_224():
        return "这是 224 像素时的值（最后的特征图是 7×7）；96 像素时最后的特征图更小。"
    if answer == full * models.feature_size(models.VGG11_ARCH, 224) ** 2:
        return "这是完整宽度的 VGG-11 在 224 像素时的值；这里是窄版、96 像素。"
    if answer == 4096:
        return "4096 是第一个全连接层的输出个数，这里问的是它的输入个数。"
    if answer == channels * side:
        return "边长要平方：展平的是 通道数 × 高 × 宽。"
    if answer == side * side:
        return "还要乘上通道数：最后一个块输出的每个通道都是一个特征图。"
    if answer == channels:
        return "还要乘上特征图的面积（高 × 宽）：展平的是整个最后的特征图。"
    return off(answer, expected, "in_features = 最后一个块的通道数 × 最后特征图的边长²。")


register("05-in-features-96", "窄版 VGG-11（通道数除以 4）在 96 像素时，第一个全连接层的 in_features 是多少？",
         _in_features_96, _in_features_96_hint)


# --- exercise 4: the configurations of Table 1 --------------------------------------------------

def _weight_layers(config: str) -> int:
    return _count(_on_meta(lambda: models.build(config, **IMAGENET)), nn.Conv2d, nn.Linear)


def _e_weight_layers_hint(answer, expected) -> str:
    if as_number(answer) is None:
        return "写一个整数：带权重的层（卷积层和全连接层）的个数。"
    net = _on_meta(lambda: models.build("E", **IMAGENET))
    convs, linears = _count(net, nn.Conv2d), _count(net, nn.Linear)
    pools = _count(net, nn.MaxPool2d)
    if answer == convs:
        return "这只是卷积层；3 个全连接层也带权重，也算在层数里。"
    if answer == linears:
        return "这只是全连接层；还要数 5 个块里的卷积层。"
    if answer == len(models.TABLE1["E"]):
        return "这是块的个数；每个块里有好几个卷积层。"
    if answer == convs + linears + pools:
        return "汇聚层没有权重，不算在层数里（ReLU 也一样）。"
    others = {_weight_layers(c): c for c in ("A", "B", "D")}
    if answer in others:
        return f"这是配置 {others[answer]} 的层数；看表 1 中 E 那一列：第 3–5 块各有 4 个卷积层。"
    return off(answer, expected, "数表 1 中 E 的卷积层，再加上 3 个全连接层。")


register("05-e-weight-layers", "论文表 1 的配置 E 一共有多少个带权重的层（卷积层和全连接层）？",
         lambda: _weight_layers("E"), _e_weight_layers_hint)


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


# --- self-check at the end of the notebook ------------------------------------------------------

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
         "VGG 比 AlexNet 慢、占显存多，主要原因是哪一项（A/B/C/D）？",
         lambda: "B",
         _choice_hint({
             "A": "窄版 VGG-11 的参数量与 AlexNet 相近（练习 2 的合计），显存却多几倍："
                  "显存随激活增长，而不是随参数增长。",
             "C": "一个 3×3 卷积核每个输出只做 9·c_in 次乘加，比 11×11 少得多；"
                  "问题不在卷积核大小，而在它作用在多大的特征图上。",
             "D": "两个网络的全连接部分都是 4096–4096，输入也差不多大；"
                  "全连接层作用在展平的向量上，几乎不产生激活。",
         }))


def _min_size(blocks: int) -> int:
    """The smallest input side for which a VGG with `blocks` blocks can be built."""
    arch = [(1, 64)] * blocks
    for size in range(1, 2 ** 12):
        try:
            models.feature_size(arch, size)
            return size
        except ValueError:
            continue
    raise AssertionError("no input size up to 4096 px works")


def _min_size_hint(answer, expected) -> str:
    if as_number(answer) is None:
        return "写一个整数：输入图像的边长（像素）。"
    if answer == _min_size(5):
        return "这是 5 个块的下限；多一个块，就多一次减半。"
    if answer == 2 * 6:
        return "不是块数乘以 2：每个块把边长减半，下限按 2 的幂增长。"
    if answer == 2 * expected:
        return "偏大：这个尺寸能撑 7 个块；6 个块之后最后的特征图只要至少 1×1。"
    return off(answer, expected, "每个块末尾的 2×2 汇聚层把边长减半，6 次之后至少要剩 1×1。")


register("05-quiz-min-size", "一个有 6 个块的 VGG（每个块以 2×2、步幅 2 的汇聚层结尾），输入图像至少要多少像素？",
         lambda: _min_size(6), _min_size_hint)

register("05-quiz-depth",
         "在本节 96 像素、本章训练方案的运行中，VGG-16 的测试精度低于 VGG-11，主要原因是哪一项（A/B/C/D）？",
         lambda: "C",
         _choice_hint({
             "A": "过拟合的表现是训练损失很低、测试精度低；而 VGG-16 的训练损失在前几个迭代周期"
                  "一直停在 ln 10 ≈ 2.30，它连训练集都还没开始学。",
             "B": "96 = 3 × 32：5 个块之后最后的特征图还有 3×3，VGG-16 建得出来（练习 3）。",
             "D": "所有配置都训练了同样的 10 个迭代周期；每个迭代周期更慢只影响用时，不影响迭代周期数。",
         }))
