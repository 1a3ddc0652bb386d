"""The chapter's code: the VGG block, the VGG network, and d2l's AlexNet to compare it with.

`vgg_block` is d2l-zh's definition as it stands in the chapter 「使用块的网络 (VGG)」; `vgg` is the
chapter's `vgg(conv_arch)` with one change: the first Linear layer's input size is computed from
`input_size` instead of being written as `out_channels * 7 * 7` (which only holds at 224 px), so the
same code runs at 224, 96 or 32 px.

Below the chapter's code: the paper's Table 1 as data and `build`, which makes every network of the
book by name ('vgg16' is configuration D), batch norm and LRN included, and the variants 08 measures
(section 4.1's 5x5 net, fewer pools, a global-average-pooling head). For the configurations the
chapter's `vgg` can express (3x3 convs only), `build` gives exactly its layers, in the same order.
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import nn

# The chapter's VGG-11 (configuration A of the paper): (num_convs, out_channels) for 5 blocks.
VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def vgg_block(num_convs, in_channels, out_channels):
    """num_convs x (3x3 conv with padding 1, ReLU), then a 2x2 max-pool with stride 2."""
    layers = []
    for _ in range(num_convs):
        layers.append(nn.Conv2d(in_channels, out_channels,
                                kernel_size=3, padding=1))
        layers.append(nn.ReLU())
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(conv_arch, *, in_channels=1, num_classes=10, input_size=224):
    """The chapter's VGG: the vgg_blocks of conv_arch, then 3 Linear layers."""
    # d2l-zh writes 7 here, which is right at 224 px only
    side = feature_size(conv_arch, input_size)
    conv_blks = []
    for (num_convs, out_channels) in conv_arch:
        conv_blks.append(vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    return nn.Sequential(
        *conv_blks, nn.Flatten(),
        nn.Linear(out_channels * side * side, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes))


def feature_size(conv_arch: Sequence[tuple], input_size: int = 224, pools: int | None = None) -> int:
    """Side of the last feature map; ValueError, naming the fix, for an arch or size that cannot work.

    Each entry of `conv_arch` is (convs, out_channels), where convs is a number of 3x3 convs or, for
    the paper's variants, a tuple of kernel sizes. Each of the first `pools` blocks (default: all)
    halves the side with its 2x2 pool.
    """
    if len(conv_arch) == 0:
        raise ValueError("conv_arch is empty: a VGG network needs at least one block")
    for i, (convs, out_channels) in enumerate(conv_arch, start=1):
        count = convs if isinstance(convs, int) else len(convs)
        if count < 1:
            raise ValueError(f"block {i}: a VGG block needs at least one conv layer, got {convs!r}")
        if out_channels < 1:
            raise ValueError(f"block {i}: width must be positive, got {out_channels} "
                             f"(a narrowing ratio larger than the width gives 0 channels)")
    if input_size < 1:
        raise ValueError(f"input size must be a positive number of pixels, got {input_size}")
    n = len(conv_arch) if pools is None else pools
    if not 0 <= n <= len(conv_arch):
        raise ValueError(f"pools={pools}：带汇聚层的块数应在 0 到 {len(conv_arch)}（块的个数）之间")
    side, what = input_size, "块" if pools is None else "带汇聚层的块"
    for i in range(1, n + 1):
        if side < 2:
            raise ValueError(
                f"第 {i} 个块（共 {n} 个{what}）收到 {side}×{side} 的特征图，它的 2×2 最大汇聚层会把它缩成 "
                f"{side // 2}×{side // 2}。{n} 个{what}要求输入至少 {2 ** n}×{2 ** n} 像素（现在是 "
                f"{input_size}×{input_size}）：把图像放大到至少 {2 ** n}，或者用更少的"
                f"{'块' if pools is None else '汇聚层'}。")
        side //= 2
    return side


def narrow(conv_arch, ratio):
    """Every block's width divided by `ratio`: the chapter's `small_conv_arch` with ratio = 4."""
    if ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio}")
    return [(pair[0], pair[1] // ratio) for pair in conv_arch]


def _alexnet_side(s: int) -> int:
    """Side of AlexNet's last feature map for an input side `s` (0: too small)."""
    def out(s: int, k: int, stride: int = 1, pad: int = 0) -> int:
        return (s + 2 * pad - k) // stride + 1 if s + 2 * pad >= k else 0
    s = out(out(s, 11, 4, 1), 3, 2)   # conv 11x11/4, pool 3x3/2
    s = out(s, 3, 2)                  # conv 5x5 keeps the size, pool 3x3/2
    return out(s, 3, 2)               # three 3x3 convs keep it, pool 3x3/2


def alexnet(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 224) -> nn.Sequential:
    """AlexNet as in d2l's chapter 「深度卷积神经网络 (AlexNet)」, for Fashion-MNIST at 224 px."""
    side = _alexnet_side(input_size)
    if side < 1:
        smallest = next(s for s in range(1, 1000) if _alexnet_side(s) >= 1)
        raise ValueError(f"AlexNet 的步幅 4 卷积和三个 3×3、步幅 2 的汇聚层要求输入至少 {smallest}×{smallest} "
                         f"像素（现在是 {input_size}×{input_size}）：把图像放大到至少 {smallest}")
    return nn.Sequential(
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
        nn.Linear(256 * side * side, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes))


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# The paper's configurations (Simonyan & Zisserman, arXiv 1409.1556), Table 1 as data.
WIDTHS = (64, 128, 256, 512, 512)
# Table 1: the kernel sizes of each block's convs, per configuration.
TABLE1: dict[str, tuple[tuple[tuple[int, ...], int], ...]] = {
    "A": tuple(zip(((3,), (3,), (3, 3), (3, 3), (3, 3)), WIDTHS)),
    "A-LRN": tuple(zip(((3,), (3,), (3, 3), (3, 3), (3, 3)), WIDTHS)),
    "B": tuple(zip(((3, 3),) * 5, WIDTHS)),
    "C": tuple(zip(((3, 3), (3, 3), (3, 3, 1), (3, 3, 1), (3, 3, 1)), WIDTHS)),
    "D": tuple(zip(((3, 3), (3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)), WIDTHS)),
    "E": tuple(zip(((3, 3), (3, 3), (3, 3, 3, 3), (3, 3, 3, 3), (3, 3, 3, 3)), WIDTHS)),
}
# Table 2: parameters in millions (ImageNet: 3 channels, 1000 classes).
TABLE2_MILLIONS = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}
# Table 3: single-scale top-1 / top-5 validation error (%), ILSVRC-2012.
TABLE3_ERRORS = {"A": (29.6, 10.4), "A-LRN": (29.7, 10.5), "B": (28.7, 9.9),
                 "C": (28.1, 9.4), "D": (27.0, 8.8), "E": (27.3, 9.0)}
# Common names of the configurations.
NAMES = {"vgg11": "A", "vgg11-lrn": "A-LRN", "vgg13": "B", "vgg16-1x1": "C", "vgg16": "D", "vgg19": "E"}
# Section 4.1's shallow net: B with each pair of 3x3 convs replaced by one 5x5 conv (same receptive field).
SHALLOW = {"B-5x5": tuple(zip(((5,),) * 5, WIDTHS))}
HEADS = ("fc", "gap")  # the chapter's 3 Linear layers, or global average pooling + one Linear (as in NiN)


def conv_block(kernel_sizes, in_channels, out_channels, *, batch_norm=False, lrn=False, pool=True):
    """A VGG block with one conv per kernel size (padding keeps the size), then a 2x2/2 max-pool
    (none with pool=False).

    `batch_norm` puts BatchNorm2d between each conv and its ReLU; `lrn` adds local response
    normalisation after the first ReLU, with Krizhevsky et al.'s constants (configuration A-LRN):
    n=5, alpha=1e-4, beta=0.75, k=2. PyTorch's LocalResponseNorm divides alpha by `size`
    (b = a / (k + alpha/n * sum a^2)^beta), Krizhevsky's formula does not, so their alpha=1e-4
    is alpha=5 * 1e-4 = 5e-4 here.
    """
    layers = []
    for i, k in enumerate(kernel_sizes):
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=k, padding=k // 2))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
        if lrn and i == 0:
            # alpha=5e-4 is Krizhevsky's 1e-4: PyTorch divides alpha by size (see above)
            layers.append(nn.LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2.0))
        in_channels = out_channels
    if pool:
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def check_variant(arch: str, pools: int | None = None, head: str = "fc") -> None:
    """ValueError, naming the fix, for a choice of pools and head that `build` cannot make."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}: use 'fc' (the chapter's) or 'gap' (global average pooling)")
    if arch.lower() == "alexnet" and (pools is not None or head != "fc"):
        raise ValueError("pools and head change VGG networks only: leave them out for alexnet")


def gap_head(channels: int, num_classes: int = 10) -> nn.Sequential:
    """Global average pooling (each channel's feature map -> its mean), then one Linear layer, as in NiN."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))


def table1_arch(name: str, ratio: int = 1) -> list[tuple[tuple[int, ...], int]]:
    """The blocks of a Table 1 configuration ('A'..'E', 'A-LRN' or 'vgg16', ...) or of section 4.1's
    shallow net ('B-5x5'), widths divided by ratio."""
    specs = {**TABLE1, **SHALLOW}
    key = NAMES.get(name.lower()) or {k.upper(): k for k in specs}.get(name.upper())
    if key is None:
        raise ValueError(f"unknown configuration {name!r}: choose one of {', '.join(specs)}, "
                         f"{', '.join(NAMES)} or alexnet")
    if ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio}")
    return [(kernels, width // ratio) for kernels, width in specs[key]]


def build(arch: str = "vgg11", *, ratio: int = 1, in_channels: int = 1, num_classes: int = 10,
          input_size: int = 224, batch_norm: bool = False, pools: int | None = None,
          head: str = "fc") -> nn.Sequential:
    """A model by name: 'alexnet', a Table 1 configuration or its common name ('vgg16' is 'D'), or 'B-5x5'.

    Only the first `pools` blocks (default: all) end with a max-pool. head='gap' replaces the
    chapter's three Linear layers by global average pooling and one Linear layer.
    """
    check_variant(arch, pools, head)
    if arch.lower() == "alexnet":
        return alexnet(in_channels=in_channels, num_classes=num_classes, input_size=input_size)
    conv_arch = table1_arch(arch, ratio)
    side = feature_size(conv_arch, input_size, pools)
    pooled = len(conv_arch) if pools is None else pools
    lrn = NAMES.get(arch.lower(), arch.upper()) == "A-LRN"
    blocks = []
    for i, (kernels, out_channels) in enumerate(conv_arch):
        blocks.append(conv_block(kernels, in_channels, out_channels, batch_norm=batch_norm,
                                 lrn=lrn and i == 0, pool=i < pooled))
        in_channels = out_channels
    if head == "gap":
        return nn.Sequential(*blocks, *gap_head(in_channels, num_classes))
    return nn.Sequential(  # the head of the chapter's vgg
        *blocks, nn.Flatten(),
        nn.Linear(in_channels * side * side, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes))
