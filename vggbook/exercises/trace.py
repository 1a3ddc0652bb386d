"""The exercises of notebook 03_shape_trace: its predict-then-check items and write-it-yourself checkers.

Items (answers computed from the package on the meta device, so that nothing is allocated):
  03-conv1-flops       the forward FLOPs of the first conv layer at 224 px (2 per multiply-add)
  03-where             where the full VGG-11's parameters and its FLOPs are (a letter)
  03-narrow-flops      what ratio = 4 does to the conv layers' FLOPs (a letter)
Write it yourself: `check_trace(my_trace)`, the chapter's loop `for blk in net: X = blk(X)`.
"""
from __future__ import annotations

import contextlib
import io
import math

import torch
from torch import nn

from .. import anatomy
from ..models import VGG11_ARCH, narrow, vgg
from ._core import PLACEHOLDER, as_number, off, register, report, small_work, task

__all__ = ["check_trace"]


# ---------------------------------------------------------------------------------------------
# Helpers

def _quiet(fn, *args, **kwargs):
    """fn(*args, **kwargs) with whatever it prints swallowed; returns (result, printed text)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = fn(*args, **kwargs)
    return result, buffer.getvalue()


def _shape(answer):
    """The answer as a tuple of ints, or None if it is not a shape."""
    try:
        shape = tuple(answer)
    except TypeError:
        return None
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        return None
    return shape


# ---------------------------------------------------------------------------------------------
# 03-conv1-flops

def _first_conv() -> nn.Conv2d:
    """The first conv layer of the chapter's VGG-11, on the meta device."""
    with torch.device("meta"):
        return vgg(VGG11_ARCH)[0][0]


def _conv1_flops() -> int:
    with torch.device("meta"):
        return anatomy.forward_flops(_first_conv(), (1, 1, 224, 224))


def _hint_conv1_flops(answer, expected) -> str:
    n = as_number(answer)
    if n is None:
        return "请写一个数：第一个卷积层处理一张 224×224 图像的 FLOPs。"
    conv = _first_conv()
    pixels = 224 * 224
    if math.isclose(n, expected / 2, rel_tol=1e-3):
        return "这是乘加次数（multiply-add）；本书的约定是每次乘加算 2 个 FLOPs。"
    if math.isclose(n, expected / 3, rel_tol=1e-3) or math.isclose(n, expected / 6, rel_tol=1e-3):
        return "3×3 卷积核有 9 个权重，不是 3 个：每个输出数要做 9 × 输入通道数次乘加。"
    if math.isclose(n, expected * 3, rel_tol=1e-3) or math.isclose(n, expected * 3 / 2, rel_tol=1e-3):
        return "输入是单通道的灰度图（Fashion-MNIST），不是 3 通道的 RGB 图像。"
    if math.isclose(n, expected / 4, rel_tol=1e-3) or math.isclose(n, expected / 8, rel_tol=1e-3):
        return "第一个卷积层在 224×224 上计算（填充 1 保持尺寸）；减半的是它之后的汇聚层。"
    if math.isclose(n, expected + pixels * conv.out_channels, rel_tol=1e-4):
        return "偏置的加法不计入（见上面打印的约定），只数卷积的乘加。"
    if math.isclose(n, expected / 1e6, rel_tol=1e-2):
        return "单位：要的是 FLOPs 的个数，不是以百万（MFLOPs）为单位的数。"
    if math.isclose(n, expected / conv.out_channels, rel_tol=1e-3):
        return "漏了输出通道：64 个输出通道的每一个都在每个像素上做一次 3×3 卷积。"
    return off(n, expected, "FLOPs = 2 × 输出像素数 × 输出通道数 × (3×3 × 输入通道数)。")


register("03-conv1-flops", "第一个卷积层处理一张 224×224 图像要多少 FLOPs？（一个整数）",
         _conv1_flops, _hint_conv1_flops)


# ---------------------------------------------------------------------------------------------
# 03-where and 03-narrow-flops: multiple choice

def _hint_choice(options: dict[str, str]):
    def hint(answer, expected) -> str:
        key = answer.strip().upper() if isinstance(answer, str) else None
        if key not in options and key != expected:
            return f"请写一个选项字母：{'、'.join(sorted({*options, expected}))} 之一，例如 \"A\"。"
        return options[key]
    return hint


def _conv_flops(conv_arch) -> int:
    """Forward FLOPs of the five blocks of `vgg(conv_arch)` for one 224x224 image (meta device)."""
    with torch.device("meta"):
        return anatomy.forward_flops(vgg(conv_arch)[:len(conv_arch)])


def _narrow_flops_letter() -> str:
    """The option nearest to the narrow VGG-11's conv FLOPs over the full one's."""
    ratio = _conv_flops(narrow(VGG11_ARCH, 4)) / _conv_flops(VGG11_ARCH)
    options = {"A": 1 / 2, "B": 1 / 4, "C": 1 / 16, "D": 1}
    return min(options, key=lambda k: abs(math.log(options[k] / ratio)))


register("03-narrow-flops",
         "ratio = 4 使卷积层的 FLOPs 约变为原来的多少？（一个字母）",
         _narrow_flops_letter,
         _hint_choice({
             "A": "1/2 是通道数减半时一个因子的变化；这里通道数除以 4，而且有两个因子。",
             "B": "卷积的 FLOPs 与输入通道数 × 输出通道数成正比，两者都除以 4。",
             "D": "像素数确实不变，但每个像素上的乘加次数与输入、输出通道数之积成正比。",
         }))


def _where_letter() -> str:
    """The option that says where VGG-11's parameters and its FLOPs are (counted on the meta device)."""
    with torch.device("meta"):
        net = vgg(VGG11_ARCH)
        blocks, head = net[:len(VGG11_ARCH)], net[len(VGG11_ARCH):]
        conv_flops = anatomy.forward_flops(blocks)
        fc_flops = anatomy.forward_flops(net) - conv_flops
    params_in_fc = sum(p.numel() for p in head.parameters()) > sum(p.numel() for p in blocks.parameters())
    flops_in_conv = conv_flops > fc_flops
    return {(False, True): "A", (False, False): "B", (True, True): "C", (True, False): "D"}[
        (params_in_fc, flops_in_conv)]


register("03-where",
         "全宽 VGG-11 的参数和计算量各集中在哪里？（一个字母）",
         _where_letter,
         _hint_choice({
             "A": "卷积层的计算量确实大，但参数主要在第一个全连接层（25 088×4096 的权重矩阵）。",
             "B": "正好反了：卷积核很小却在每个像素上重复使用，所以参数少、计算多；全连接层相反。",
             "D": "全连接层的参数确实多，但每个权重对每张图像只用一次；计算量主要来自卷积层。",
         }))


# ---------------------------------------------------------------------------------------------
# Write it yourself: the shape trace

def _networks():
    """(description, network, input) of the networks `check_trace` tries: built afresh (about 0.2 s)
    and seeded, without touching the notebook's random numbers."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        lenet_like = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.BatchNorm2d(6), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(), nn.Linear(6 * 14 * 14, 10))
        return [
            ("本章的窄 VGG-11（32 px，批量 2）", vgg(narrow(VGG11_ARCH, 4), input_size=32),
             torch.randn(2, 1, 32, 32)),
            ("两个块的小 VGG（16 px，批量 1）", vgg(((1, 4), (2, 8)), input_size=16),
             torch.randn(1, 1, 16, 16)),
            ("一个不是 VGG 的小网络（28 px，批量 3）", lenet_like, torch.randn(3, 1, 28, 28)),
        ]


def _row_difference(i: int, row, want: tuple, before: tuple, final: tuple) -> str | None:
    """What is wrong with row `i` (1-based) of the reader's trace, or None if it is right.

    `want` is the right (name, shape); `before` the shape entering this layer; `final` the output
    shape of the whole network.
    """
    name_e, shape_e = want
    if isinstance(row, str):
        return (f"第 {i} 行是字符串 {row[:40]!r}：每行应是一个 (类名, 形状) 元组，例如 "
                "(type(blk).__name__, tuple(X.shape))，而不是打印出来的文字。")
    try:
        items = tuple(row)
    except TypeError:
        return f"第 {i} 行是 {type(row).__name__}：每行应是一个 (类名, 形状) 元组。"
    if _shape(items) is not None and len(items) > 2:
        return f"第 {i} 行只有形状：每行应是 (类名, 形状) 两项，少了层的类名。"
    if len(items) != 2:
        return f"第 {i} 行有 {len(items)} 项：每行应是 (类名, 形状) 两项。"
    name, shape = items
    if isinstance(name, type):
        return f"第 {i} 行的类名是类本身 {name!r}：要的是字符串，用 type(blk).__name__。"
    if isinstance(name, nn.Module):
        return f"第 {i} 行的第一项是层本身：要的是它的类名（字符串），用 type(blk).__name__。"
    if not isinstance(name, str):
        return f"第 {i} 行的第一项应是层的类名（字符串），得到 {name!r}。"
    if name != name_e:
        if name.isdigit():
            return (f"第 {i} 行的名字是 {name!r}：这是层在 nn.Sequential 中的编号（named_children "
                    f"给的名字）；要的是类名，用 type(blk).__name__（这一行应是 {name_e!r}）。")
        if name_e == "Sequential" and name in ("Conv2d", "ReLU", "MaxPool2d"):
            return (f"第 {i} 行应是整个块（'Sequential'），你给的是块里的 {name!r}：只遍历顶层"
                    "（for blk in net），一个块算一层，不要钻进块里面。")
        if "(" in name:
            return (f"第 {i} 行的名字 {name.splitlines()[0][:40]!r} 是层的完整描述（str(blk)）：只要类名，"
                    "用 type(blk).__name__。")
        return (f"第 {i} 行的层应是 {name_e!r}，你的是 {name!r}：按顺序遍历网络的顶层，"
                "用 type(blk).__name__ 取类名（不要写死）。")
    if callable(shape):
        return f"第 {i} 行的形状是方法 X.size 本身：写 tuple(X.shape)（或 tuple(X.size())）。"
    got = _shape(shape)
    if got is None:
        return f"第 {i} 行的形状 {shape!r} 不是整数元组：用 tuple(X.shape)。"
    if got == shape_e:
        return None
    if got == shape_e[1:]:
        return (f"第 {i} 行少了批量维度：形状要包含批量大小 {shape_e[0]}，即 X.shape，"
                "而不是 X.shape[1:]。")
    if got == before:
        return (f"第 {i} 行（{name}）记录的是这一层的输入形状：先 X = blk(X)，再记录 X.shape。")
    if got == final:
        return (f"第 {i} 行的形状 {got} 是整个网络的输出：X 要一层一层往下传（X = blk(X)），"
                "不要用 net(X) 或 net.modules()（它的第一项是网络本身）。")
    return f"第 {i} 行（{name}）的输出形状应是 {shape_e}，你的是 {got}。"


def _trace_difference(desc: str, rows, expected: list, X: torch.Tensor) -> str | None:
    """The first difference between the reader's rows and `anatomy.trace`'s on one network."""
    if isinstance(rows, (str, bytes)) or not hasattr(rows, "__iter__"):
        return f"在{desc}上，函数返回了 {type(rows).__name__}：应返回 (类名, 形状) 的列表。"
    rows = list(rows)
    final = expected[-1][1]
    for i, (row, want) in enumerate(zip(rows, expected), start=1):
        before = tuple(X.shape) if i == 1 else expected[i - 2][1]
        problem = _row_difference(i, row, want, before, final)
        if problem:
            return f"在{desc}上，{problem}"
    if len(rows) < len(expected):
        missing = expected[len(rows)][0]
        return (f"在{desc}上只有 {len(rows)} 行，应有 {len(expected)} 行：从第 {len(rows) + 1} 行"
                f"（{missing}）起漏掉了；Flatten、ReLU 和 Dropout 也是顶层的层，各占一行。")
    if len(rows) > len(expected):
        return (f"在{desc}上有 {len(rows)} 行，应只有 {len(expected)} 行：只遍历网络的顶层"
                "（for blk in net），每层记录一次。")
    return None


@task(anatomy.trace)
def check_trace(my_trace) -> bool | None:
    """Check `my_trace(net, X)`: it should return, for each top-level layer of `net` in order, the
    pair (class name, output shape as a tuple), like `vggbook.anatomy.trace` (which also prints them).

    It is run on three networks (the narrow VGG-11, a two-block VGG and a small non-VGG network);
    the first difference from `anatomy.trace` is named. What `my_trace` prints is not shown here.
    """
    if my_trace is None or my_trace is Ellipsis:
        print(PLACEHOLDER)
        return None
    with small_work():  # Dropout draws random numbers: the notebook's are left alone
        return _check_trace(my_trace)


def _check_trace(my_trace) -> bool | None:
    for n, (desc, net, X) in enumerate(_networks()):
        expected, _ = _quiet(anatomy.trace, net, X.clone())
        try:
            with torch.no_grad():
                rows, printed = _quiet(my_trace, net, X.clone())
        except Exception as e:  # the reader's code: report it in one line
            message = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
            advice = ""
            if "Expected 3D" in message or "Expected 4D" in message:
                advice = ("（像是把整个网络的输出又交给了第一个块：只遍历顶层 for blk in net，"
                          "net.modules() 的第一项是网络本身）")
            elif any(s in message for s in ("channels", "mat1 and mat2", "size")):
                advice = "（每一层的输入应是上一层的输出：X = blk(X)）"
            return report(False, f"在{desc}上运行出错：{type(e).__name__}: {message}{advice}")
        if rows is None:
            if n == 0 and not printed:
                print(PLACEHOLDER)
                return None
            return report(False, f"在{desc}上函数返回了 None：把每层的 (类名, 形状) 收集到一个列表里，"
                                 "最后 return 它（只打印不够）。")
        problem = _trace_difference(desc, rows, expected, X)
        if problem:
            return report(False, problem)
    return report(True, "三个网络的每一层都与 anatomy.trace 一致。")
