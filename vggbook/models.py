"""VGG blocks and networks, the paper's Table 1 as data, and d2l's AlexNet for comparison.

`vgg_block` and `vgg` keep the signatures of d2l-zh's chapter 「使用块的网络 (VGG)」, so notebook code
reads like the chapter. Unlike the chapter, `vgg` computes the size of the last feature map from
`input_size`, so the same code works at 224, 96 or 32 px.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from torch import nn

# One entry of a conv_arch: (num_convs, out_channels) as in d2l-zh, or (kernel_sizes, out_channels)
# when the convs of a block differ (configuration C ends blocks 3-5 with a 1x1 conv).
BlockSpec = tuple[Union[int, tuple[int, ...]], int]

# The chapter's VGG-11 (configuration A of the paper): 8 conv layers in 5 blocks.
VGG11_ARCH: tuple[BlockSpec, ...] = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))

# Table 1 of Simonyan & Zisserman (arXiv 1409.1556): kernel sizes per block, widths 64..512.
_WIDTHS = (64, 128, 256, 512, 512)
TABLE1: dict[str, tuple[BlockSpec, ...]] = {
    "A": tuple(zip(((3,), (3,), (3, 3), (3, 3), (3, 3)), _WIDTHS)),
    "A-LRN": tuple(zip(((3,), (3,), (3, 3), (3, 3), (3, 3)), _WIDTHS)),
    "B": tuple(zip(((3, 3),) * 5, _WIDTHS)),
    "C": tuple(zip(((3, 3), (3, 3), (3, 3, 1), (3, 3, 1), (3, 3, 1)), _WIDTHS)),
    "D": tuple(zip(((3, 3), (3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)), _WIDTHS)),
    "E": tuple(zip(((3, 3), (3, 3), (3, 3, 3, 3), (3, 3, 3, 3), (3, 3, 3, 3)), _WIDTHS)),
}
# Table 2 of the paper: parameters in millions (ImageNet: 3 channels, 1000 classes).
TABLE2_MILLIONS = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}
# Table 3 of the paper: single-scale top-1 / top-5 validation error (%), ILSVRC-2012.
TABLE3_ERRORS = {"A": (29.6, 10.4), "A-LRN": (29.7, 10.5), "B": (28.7, 9.9),
                 "C": (28.1, 9.4), "D": (27.0, 8.8), "E": (27.3, 9.0)}
# Common names of the configurations.
NAMES = {"vgg11": "A", "vgg11-lrn": "A-LRN", "vgg13": "B", "vgg16-1x1": "C", "vgg16": "D", "vgg19": "E"}


def _kernels(num_convs: int | Sequence[int], block: int) -> tuple[int, ...]:
    kernels = (3,) * num_convs if isinstance(num_convs, int) else tuple(num_convs)
    if len(kernels) < 1:
        raise ValueError(f"block {block}: a VGG block needs at least one conv layer, got {num_convs!r}")
    return kernels


def vgg_block(num_convs: int | Sequence[int], in_channels: int, out_channels: int, *,
              batch_norm: bool = False, lrn: bool = False) -> nn.Sequential:
    """num_convs x (conv, padding keeps the size, ReLU), then a 2x2 max-pool with stride 2.

    `num_convs` may also be a tuple of kernel sizes, e.g. (3, 3, 1) for configuration C.
    `lrn` adds local response normalisation after the first conv (configuration A-LRN).
    """
    kernels = _kernels(num_convs, 1)
    if in_channels < 1 or out_channels < 1:
        raise ValueError(f"a VGG block needs positive channel counts, got in={in_channels}, "
                         f"out={out_channels}")
    layers: list[nn.Module] = []
    for i, k in enumerate(kernels):
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=k, padding=k // 2))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
        if lrn and i == 0:
            # Krizhevsky et al.'s constants, as the paper uses them.
            layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def _as_hw(input_size: int | tuple[int, int]) -> tuple[int, int]:
    return (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)


def feature_size(conv_arch: Sequence[BlockSpec], input_size: int | tuple[int, int] = 224) -> tuple[int, int]:
    """Height and width after all blocks; ValueError if a pool would shrink the map below 1 px."""
    h, w = _as_hw(input_size)
    if h < 1 or w < 1:
        raise ValueError(f"input size must be positive, got {h}x{w}")
    n = len(conv_arch)
    for i in range(1, n + 1):
        if h < 2 or w < 2:
            need = 2 ** n
            raise ValueError(
                f"block {i} of {n} receives a {h}x{w} feature map, and its 2x2 max-pool would shrink it "
                f"to {h // 2}x{w // 2}. With {n} blocks the input must be at least {need}x{need} px "
                f"(got {_as_hw(input_size)[0]}x{_as_hw(input_size)[1]}): resize the images to >= {need} "
                f"or use fewer blocks.")
        h, w = h // 2, w // 2
    return h, w


def vgg(conv_arch: Sequence[BlockSpec], *, in_channels: int = 1, num_classes: int = 10,
        input_size: int | tuple[int, int] = 224, fc_width: int = 4096, dropout: float = 0.5,
        batch_norm: bool = False, lrn: bool = False) -> nn.Sequential:
    """The VGG network of d2l-zh: the conv blocks of `conv_arch`, then Flatten and three Linear layers.

    The first Linear layer's input size is computed from `input_size` (d2l-zh hard-codes 7x7, which
    only holds at 224 px), so the network works for any size the pools allow (>= 32 px for 5 blocks).
    """
    if len(conv_arch) == 0:
        raise ValueError("conv_arch is empty: a VGG network needs at least one block")
    blocks: list[nn.Module] = []
    channels = in_channels
    for i, (num_convs, out_channels) in enumerate(conv_arch, start=1):
        _kernels(num_convs, i)
        if out_channels < 1:
            raise ValueError(f"block {i}: width must be positive, got {out_channels} "
                             f"(a narrowing ratio larger than the width gives 0 channels)")
        blocks.append(vgg_block(num_convs, channels, out_channels, batch_norm=batch_norm,
                                lrn=lrn and i == 1))
        channels = out_channels
    h, w = feature_size(conv_arch, input_size)
    return nn.Sequential(
        *blocks, nn.Flatten(),
        nn.Linear(channels * h * w, fc_width), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(fc_width, fc_width), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(fc_width, num_classes))


def narrow(conv_arch: Sequence[BlockSpec], ratio: int) -> list[BlockSpec]:
    """Divide every block's width by `ratio`, as the chapter does with `ratio = 4`."""
    if ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio}")
    return [(n, c // ratio) for n, c in conv_arch]


def table1(name: str, *, ratio: int = 1, in_channels: int = 3, num_classes: int = 1000,
           input_size: int | tuple[int, int] = 224, batch_norm: bool = False) -> nn.Sequential:
    """Any configuration of the paper's Table 1 ('A', 'A-LRN', 'B', 'C', 'D', 'E' or 'vgg16', ...)."""
    key = NAMES.get(name.lower(), name.upper())
    if key not in TABLE1:
        raise ValueError(f"unknown configuration {name!r}: choose one of {sorted(TABLE1)} "
                         f"or {sorted(NAMES)}")
    return vgg(narrow(TABLE1[key], ratio), in_channels=in_channels, num_classes=num_classes,
               input_size=input_size, batch_norm=batch_norm, lrn=key == "A-LRN")


def _alexnet_side(s: int) -> int:
    """Side of AlexNet's last feature map for an input side `s` (0 or less: too small)."""
    def out(s: int, k: int, stride: int = 1, pad: int = 0) -> int:
        return (s + 2 * pad - k) // stride + 1 if s + 2 * pad >= k else 0
    s = out(out(s, 11, 4, 1), 3, 2)   # conv 11x11/4, pool 3x3/2
    s = out(s, 3, 2)                  # conv 5x5 keeps the size, pool 3x3/2
    return out(s, 3, 2)               # three 3x3 convs keep it, pool 3x3/2


def alexnet(*, in_channels: int = 1, num_classes: int = 10,
            input_size: int | tuple[int, int] = 224) -> nn.Sequential:
    """AlexNet as in d2l's chapter 「深度卷积神经网络 (AlexNet)」, for Fashion-MNIST at 224 px."""
    h, w = _as_hw(input_size)
    side = [_alexnet_side(h), _alexnet_side(w)]
    if min(side) < 1:
        smallest = next(s for s in range(1, 1000) if _alexnet_side(s) >= 1)
        raise ValueError(f"AlexNet's stride-4 conv and three 3x3/2 pools need inputs of at least "
                         f"{smallest}x{smallest} px, got {h}x{w}: resize the images to >= {smallest}")
    return nn.Sequential(
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
        nn.Linear(256 * side[0] * side[1], 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes))


def build(arch: str, *, ratio: int = 4, input_size: int = 224, batch_norm: bool = False,
          in_channels: int = 1, num_classes: int = 10) -> nn.Sequential:
    """A model by name, as the trainer and the CLI use it: 'alexnet', 'vgg11', 'vgg16', 'D', ..."""
    if arch.lower() == "alexnet":
        return alexnet(in_channels=in_channels, num_classes=num_classes, input_size=input_size)
    return table1(arch, ratio=ratio, in_channels=in_channels, num_classes=num_classes,
                  input_size=input_size, batch_norm=batch_norm)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
