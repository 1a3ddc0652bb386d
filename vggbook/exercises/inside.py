"""The exercises of notebook 06_inside_vgg: two predict-then-check items about the small CPU model it inspects.

    06-worst-class   before the confusion matrix is drawn: which class does the recorded CPU model
                     (runs.INSIDE) get right least often (the lowest recall)? An English class name.
    06-rf-block3     before `theoretical_rf` runs: the side, in pixels, of the theoretical receptive
                     field of one output unit of VGG-11's block 3.

Both answers are computed: the first from the record's 10,000 predictions and the test labels, the
second from VGG11_ARCH with the rule 06 states (each k×k layer adds (k-1)·j, a stride-s layer
multiplies j by s).
"""
from __future__ import annotations

import functools

import torch

from .. import data, models, runs
from ._core import as_number, off, register

__all__ = ["receptive_fields"]


def receptive_fields(conv_arch=models.VGG11_ARCH) -> list[int]:
    """The side of the theoretical receptive field of one output unit after each block: every 3x3 conv
    (stride 1) adds 2·j, the 2x2 max-pool adds j, then j doubles."""
    side, jump, sides = 1, 1, []
    for num_convs, _ in conv_arch:
        side += num_convs * 2 * jump + jump
        jump *= 2
        sides.append(side)
    return sides


@functools.lru_cache(maxsize=1)
def _recalls() -> tuple[float, ...]:
    """Recall of each class for the recorded CPU model that 06 inspects."""
    labels = data.load_fashion_mnist().test_labels
    preds = torch.tensor(runs.recorded(runs.INSIDE, "cpu").predictions)
    return tuple((preds[labels == c] == c).float().mean().item() for c in range(len(data.CLASSES)))


def _worst_class() -> str:
    recalls = _recalls()
    return data.CLASSES[min(range(len(recalls)), key=recalls.__getitem__)]


def _worst_hint(answer, expected) -> str:
    names = "、".join(f'"{c}"' for c in data.CLASSES)
    if isinstance(answer, str) and answer.strip() in data.CLASSES_ZH:
        return f"请填英文类名，即 data.CLASSES 中的一个：{names}。"
    if not isinstance(answer, str) or answer.replace(" ", "").lower() not in data.CLASSES:
        return f"请填 data.CLASSES 中的一个类名（带引号）：{names}。"
    recall = _recalls()[data.CLASSES.index(answer.replace(" ", "").lower())]
    if recall > 0.9:
        return "这个类别外形独特，很少被认错。想一想：哪个类别同时像好几个别的类别？"
    return "它确实常被认错，但还有一个类别更糟。想一想：哪件上衣同时像另外好几类？"


def _rf_hint(answer, expected) -> str:
    if isinstance(answer, str) or as_number(answer) is None:
        return "请填一个整数（像素），不要加引号。"
    convs = [n for n, _ in models.VGG11_ARCH[:3]]
    if answer == 1 + sum(2 * n + 1 for n in convs):  # j never doubled
        return "汇聚之后 j 要翻倍：到第 3 块，相邻两个单元在输入中已相隔 4 个像素，每个 3×3 卷积加 2j = 8。"
    if answer == 1 + 2 * sum(convs):  # the rule of stacked 3x3 convs alone, as if nothing pooled
        return "有汇聚层时，只数卷积层不够：汇聚让边长加 j，之后 j 翻倍。"
    if answer == receptive_fields()[1]:
        return "那是第 2 块的感受野；第 3 块还有两个卷积层和一个汇聚层。"
    if answer == expected - 4:
        return "第 3 块末尾的 2×2 汇聚层也算：它让边长再加 j。"
    if answer == expected - 8:
        return "第 3 块有两个 3×3 卷积层，不是一个。"
    if answer == expected - 7:
        return "别忘了汇聚层：每个 2×2 汇聚让边长加 j（当时的 j）。"
    if answer == 32:
        return "感受野是按规则算出的边长，与输入的大小（32 像素）无关。"
    return off(answer, expected, "从 r = 1、j = 1 开始，逐层用 r ← r + (k−1)·j、j ← j·s。")


register("06-worst-class", "哪个类别的测试图像被认对的比例（召回率）最低？填 data.CLASSES 中的一个英文类名",
         _worst_class, _worst_hint)
register("06-rf-block3", "VGG-11 第 3 块输出的一个单元，理论感受野的边长是多少像素？（一个整数）",
         lambda: receptive_fields(models.VGG11_ARCH)[2], _rf_hint)
