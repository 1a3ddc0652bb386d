"""The paper's Table 1 as data, and `build`: every model of the book by name, with one set of defaults.

Simonyan & Zisserman (arXiv 1409.1556) vary only the convs of each block: how many, and in
configuration C a 1x1 conv at the end of blocks 3-5; A-LRN adds local response normalisation after
the first conv. Here a block is written as a tuple of kernel sizes, and `conv_block` builds it
(optionally with batch norm, which is not in the paper). The chapter's own `vgg_block` and `vgg`
(models.py) stay as the chapter has them; for the configurations they can express (3x3 convs only,
no LRN, no batch norm) `build` gives exactly their layers, in the same order.

`build`'s defaults are the chapter's data (1 input channel, 10 classes, 224 px) at full width: pass
`ratio=4` for the chapter's narrow network, `in_channels=3, num_classes=1000` for the paper's ImageNet.
"""
from __future__ import annotations

from torch import nn

from .models import alexnet, feature_size

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


def conv_block(kernel_sizes, in_channels, out_channels, *, batch_norm=False, lrn=False):
    """A VGG block with one conv per kernel size (padding keeps the size), then a 2x2/2 max-pool.

    `batch_norm` puts BatchNorm2d between each conv and its ReLU; `lrn` adds local response
    normalisation after the first ReLU, with Krizhevsky et al.'s constants (configuration A-LRN).
    """
    layers = []
    for i, k in enumerate(kernel_sizes):
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=k, padding=k // 2))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
        if lrn and i == 0:
            layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def table1_arch(name: str, ratio: int = 1) -> list[tuple[tuple[int, ...], int]]:
    """The blocks of a Table 1 configuration ('A'..'E', 'A-LRN' or 'vgg16', ...), widths divided by ratio."""
    key = NAMES.get(name.lower(), name.upper())
    if key not in TABLE1:
        raise ValueError(f"unknown configuration {name!r}: choose one of {', '.join(TABLE1)}, "
                         f"{', '.join(NAMES)} or alexnet")
    if ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio}")
    return [(kernels, width // ratio) for kernels, width in TABLE1[key]]


def build(arch: str = "vgg11", *, ratio: int = 1, in_channels: int = 1, num_classes: int = 10,
          input_size: int = 224, batch_norm: bool = False) -> nn.Sequential:
    """A model by name: 'alexnet', a Table 1 configuration or its common name ('vgg16' is 'D')."""
    if arch.lower() == "alexnet":
        return alexnet(in_channels=in_channels, num_classes=num_classes, input_size=input_size)
    conv_arch = table1_arch(arch, ratio)
    side = feature_size(conv_arch, input_size)
    lrn = NAMES.get(arch.lower(), arch.upper()) == "A-LRN"
    blocks = []
    for i, (kernels, out_channels) in enumerate(conv_arch):
        blocks.append(conv_block(kernels, in_channels, out_channels, batch_norm=batch_norm,
                                 lrn=lrn and i == 0))
        in_channels = out_channels
    # The head of models.vgg, unchanged.
    return nn.Sequential(
        *blocks, nn.Flatten(),
        nn.Linear(in_channels * side * side, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes))
