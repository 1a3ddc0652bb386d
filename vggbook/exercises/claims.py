"""The exercises of notebook 08_claims_measured: predict-then-check items and one write-it-yourself checker.

Predict, then check:

    08-guess-5x5          before the measurement: does B or B-5x5 do better here, or do they tie?
    08-side-28-3pools     the side of the last feature map at 28 px when only the first 3 blocks pool
    08-fc1-params-28      the parameters of that network's first Linear layer (narrow widths)
    08-gap-params         the parameters of a global-average-pooling head on 128 channels, 10 classes

Write it yourself: `check_gap_head(my_gap_head)` builds the reader's head for a few (channels,
classes), runs it on feature maps of several sizes and compares it with averaging each channel and
applying the reader's own Linear layer.
"""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from .. import models, runs
from ._core import PLACEHOLDER, as_number, not_answered, off, register, report, small_work, task

__all__ = ["check_gap_head", "winner"]

TIE = "差不多"


def winner(a: str, b: str) -> str:
    """Which of two of 08's arms did better in the book's CPU records: a, b, or TIE when the ranges
    of their 3 seeds' test accuracies overlap (the difference is within the run-to-run wobble)."""
    acc = {arm: [runs.recorded(replace(runs.ARMS[arm], seed=s), "cpu").test_acc for s in runs.SEEDS]
           for arm in (a, b)}
    if min(acc[a]) > max(acc[b]):
        return a
    if min(acc[b]) > max(acc[a]):
        return b
    return TIE


def _narrow_28px():
    with torch.device("meta"):
        return models.build("vgg11", ratio=4, input_size=28, pools=3)


def _too(answer, expected, idea: str) -> str:
    """What to fix in an answer that is not a number, or else `off`'s too-large/too-small hint."""
    if isinstance(answer, str):
        return "请填一个整数，不要加引号。"
    if as_number(answer) is None:
        return f"请填一个整数（你给的是 {type(answer).__name__}）。"
    return off(answer, expected, idea)


def _guess_hint(answer, expected) -> str:
    if answer not in ("B", "B-5x5", TIE):
        return f"请填 \"B\"、\"B-5x5\" 或 \"{TIE}\"（你给的是 {answer!r}）。"
    return "这次猜得和测量不一样：先把理由记下来，再看下面的表和图，想一想是哪一点没有料到。"


def _side_hint(answer, expected) -> str:
    if answer == 4:
        return "7 减半时向下取整：2×2、步幅 2 的汇聚层丢掉最后一行和一列。"
    if answer == 7:
        return "7 是减半两次的结果；前三个块各汇聚一次，28 像素要减半三次。"
    if answer in (0, 1):
        return "只有前三个块以汇聚层结尾，后两个块只做卷积，卷积（填充 1）不改变边长。"
    return _too(answer, expected, "每个汇聚层把边长减半（向下取整），卷积层不改变边长。")


def _fc1_hint(answer, expected) -> str:
    side = models.feature_size(models.VGG11_ARCH, 28, pools=3)
    if answer == expected - 4096:
        return "还有 4096 个偏置。"
    if answer == 128 * 7 * 7 * 4096 + 4096:
        return f"最后的特征图边长不是 7（那是 224 像素、5 次汇聚的结果），而是上一题的 {side}。"
    if answer == 512 * side * side * 4096 + 4096:
        return "512 是完整宽度；本章的窄版把每个块的宽度除以 4。"
    return _too(answer, expected, "输入维度是 通道数 × 边长 × 边长，输出是 4096，再加上偏置。")


def _gap_hint(answer, expected) -> str:
    if answer == 128 * 10:
        return "还有 10 个偏置。"
    if answer == 128 * 3 * 3 * 10 + 10:
        return "全局平均汇聚之后每个通道只剩一个数，所以全连接层的输入是 128 维，与边长无关。"
    return _too(answer, expected, "全局平均汇聚本身没有参数；之后的全连接层把 128 个数映射到 10 个类别。")


register("08-guess-5x5", "B（两个 3×3 一组）和 B-5x5（一个 5×5）谁的测试精度更高？填 \"B\"、\"B-5x5\" 或 \"差不多\"",
         lambda: winner("B", "B-5x5"), _guess_hint)
register("08-side-28-3pools", "28 像素、只有前 3 个块汇聚时，最后的特征图边长（一个整数）",
         lambda: models.feature_size(models.VGG11_ARCH, 28, pools=3), _side_hint)
register("08-fc1-params-28", "这个网络（窄版）第一个全连接层的参数个数（一个整数）",
         lambda: sum(p.numel() for p in _narrow_28px()[6].parameters()), _fc1_hint)
register("08-gap-params", "128 个通道、10 个类别的全局平均汇聚头的参数个数（一个整数）",
         lambda: models.count_parameters(models.gap_head(128, 10)), _gap_hint)


# ---------------------------------------------------------------- write it yourself: gap_head

GAP_CASES = ((128, 10), (16, 3), (512, 1000))
MAP_SIZES = ((3, 3), (1, 1), (7, 5))


def _problem(fn, channels: int, classes: int) -> str | None:
    """What is wrong with fn(channels, classes), in Chinese, or None if it is a GAP head."""
    call = f"my_gap_head({channels}, {classes})"
    try:
        head = fn(channels, classes)
    except Exception as e:  # noqa: BLE001  (the reader's code: report, never raise)
        return f"{call} 出错：{type(e).__name__}: {e}"
    if not isinstance(head, nn.Module):
        return f"{call} 返回的是 {type(head).__name__}，应是一个 nn.Module（例如 nn.Sequential）。"
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 1:
        return f"{call} 有 {len(linears)} 个全连接层：GAP 头只需要一个，从 {channels} 个通道到 {classes} 个类别。"
    (fc,) = linears
    if fc.in_features != channels or fc.out_features != classes:
        return (f"{call} 的全连接层是 {fc.in_features} → {fc.out_features}，应是 {channels} → {classes}："
                f"汇聚之后每个通道只剩一个数。")
    for h, w in MAP_SIZES:
        X = torch.randn(2, channels, h, w)
        try:
            with torch.no_grad():
                got = head(X)
        except Exception as e:  # noqa: BLE001
            return f"{call} 在 {h}×{w} 的特征图上出错：{type(e).__name__}: {e}（先汇聚到 1×1，再展平）。"
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (2, classes):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return f"{call} 在 {h}×{w} 的特征图上输出形状是 {shape}，应是 (2, {classes})：汇聚之后要展平。"
        with torch.no_grad():
            want, by_max = fc(X.mean(dim=(2, 3))), fc(X.amax(dim=(2, 3)))
        if not torch.allclose(got, want, atol=1e-5):
            if torch.allclose(got, by_max, atol=1e-5):
                return f"{call} 取的是每个通道的最大值；全局平均汇聚取平均值（nn.AdaptiveAvgPool2d(1)）。"
            return f"{call} 在 {h}×{w} 的特征图上与“每个通道求平均，再经过全连接层”不一致。"
    return None


@task(models.gap_head)
def check_gap_head(my_gap_head) -> bool | None:
    """Check the reader's `my_gap_head(channels, num_classes)` on a few sizes; name the first problem."""
    if not_answered(my_gap_head) or (callable(my_gap_head) and _returns_none(my_gap_head)):
        print(f"{PLACEHOLDER}（写出 my_gap_head(channels, num_classes)，返回一个 nn.Sequential；"
              f"已经写好了的话，看看是不是忘了 return。）")
        return None
    if not callable(my_gap_head):
        return report(False, f"请传入一个函数（def my_gap_head(...)），而不是 {type(my_gap_head).__name__}。")
    with small_work():  # the reader's random numbers stay as they were
        for channels, classes in GAP_CASES:
            problem = _problem(my_gap_head, channels, classes)
            if problem:
                return report(False, problem)
    return report(True, f"在 {len(GAP_CASES)} 组 (通道数, 类别数) 和 {len(MAP_SIZES)} 种特征图大小下，"
                        f"my_gap_head 都等于“每个通道求平均，再经过一个全连接层”。")


def _returns_none(fn) -> bool:
    with small_work():
        try:
            return fn(*GAP_CASES[0]) is None
        except Exception:  # noqa: BLE001  (reported by _problem)
            return False
