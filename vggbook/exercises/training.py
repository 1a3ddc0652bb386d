"""The exercises of notebook 04_training: its predict-then-check items and write-it-yourself checkers.

Items (answers computed from the package):
  04-initial-loss        the cross-entropy loss of an untrained 10-class classifier
  04-chance-accuracy     the accuracy of guessing
  04-quiz-eval           the self-check at the end: why evaluate_accuracy calls net.eval()
(zero_grad is asked by the write-it task: `check_train_step` names a missing zero_grad.)
Write it yourself: `check_train_step(my_train_step)`, one step of `fit`'s inner loop.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .. import data
from ..models import vgg_block
from ..runs import CHAPTER
from ..train import init_weights
from ._core import PLACEHOLDER, as_number, off, register, report, small_work, task

__all__ = ["check_train_step"]


def _near(a: float, b: float, rel: float = 1e-3) -> bool:
    return math.isclose(a, b, rel_tol=rel)


# ---------------------------------------------------------------------------------------------
# 04-initial-loss and 04-chance-accuracy

def _initial_loss() -> float:
    """Cross-entropy of a classifier that gives every class the same probability."""
    classes = len(data.CLASSES)
    return nn.CrossEntropyLoss()(torch.zeros(1, classes), torch.tensor([0])).item()


def _hint_initial_loss(answer, expected) -> str:
    n = as_number(answer)
    classes = len(data.CLASSES)
    if n is None:
        return "请写一个数（可以写成表达式，例如 math.log(...)）。"
    if abs(n - expected) < 0.01:
        return "很接近了：多保留几位小数，或者直接写成 math.log 的表达式。"
    if _near(n, 1 / classes):
        return "这是正确类的概率 1/10，不是损失：交叉熵是 -ln(正确类的概率)。"
    if _near(n, math.log10(classes)):
        return "交叉熵用自然对数 ln，不是以 10 为底的对数。"
    if _near(n, math.log2(classes)):
        return "PyTorch 的交叉熵用自然对数 ln，不是以 2 为底的对数。"
    if n == 0:
        return "损失为 0 意味着以概率 1 预测对了每张图像；没训练过的网络只能平均地猜。"
    if n < 0:
        return "交叉熵 -ln(p) 不会是负数：概率 p 不超过 1。"
    return off(n, expected, "没训练过的网络大致给每个类相同的概率 1/10；交叉熵是 -ln(正确类的概率)。")


register("04-initial-loss", "训练开始前，网络在一个小批量上的交叉熵损失约为多少？", _initial_loss,
         _hint_initial_loss)


def _chance_accuracy() -> float:
    return 1 / len(data.CLASSES)


def _hint_chance(answer, expected) -> str:
    n = as_number(answer)
    if n is None:
        return "请写一个 0 到 1 之间的数。"
    if _near(n, 100 * expected):
        return "精度写成 0 到 1 之间的比例，不是百分数。"
    if n == 0.5:
        return "不是二分类：Fashion-MNIST 有 10 个类别。"
    if n == 0:
        return "随便猜也会猜对一部分：每个类别的图像一样多。"
    if n == 1 - expected:
        return "这是猜错的比例。"
    return off(n, expected, "10 个类别的图像一样多，随便猜（或总猜同一类）猜对的比例是多少？")


register("04-chance-accuracy", "随便猜（例如总猜同一个类别）时，测试精度是多少？", _chance_accuracy,
         _hint_chance)


# ---------------------------------------------------------------------------------------------
# Self-check

def _hint_choice(options: dict[str, str]):
    def hint(answer, expected) -> str:
        key = answer.strip().upper() if isinstance(answer, str) else None
        if key not in options:
            return f"请写一个选项字母：{'、'.join(sorted({*options, expected}))} 之一，例如 \"A\"。"
        return options[key]
    return hint


def _eval_letter() -> str:
    """net.eval() turns Dropout into the identity ('A'); it changes no gradients or devices."""
    dropout, x = nn.Dropout(0.5), torch.ones(1000)
    with torch.random.fork_rng(devices=[]):
        drops_in_training = bool((dropout.train()(x) == 0).any())
    identity_in_eval = torch.equal(dropout.eval()(x), x)
    return "A" if drops_in_training and identity_in_eval else "B"


register("04-quiz-eval",
         "自测题：evaluate_accuracy 为什么先调用 net.eval()？（一个字母）",
         _eval_letter,
         _hint_choice({
             "B": "不记录梯度的是 torch.no_grad()；net.eval() 改变的是 Dropout 这类层的行为。",
             "C": "参数只在 optimizer.step() 时更新，评估时根本不调用它。",
             "D": "设备由 .to(device) 决定；net.eval() 不移动任何东西。",
         }))


# ---------------------------------------------------------------------------------------------
# Write it yourself: one training step

def train_step(net, X, y, loss, optimizer):
    """One step of `fit`'s inner loop: forward, loss, zero_grad, backward, step; returns the loss."""
    y_hat = net(X)
    l = loss(y_hat, y)
    optimizer.zero_grad()
    l.backward()
    optimizer.step()
    return l


def _no_zero_grad(net, X, y, loss, optimizer):
    """The step without zero_grad: gradients pile up from call to call."""
    l = loss(net(X), y)
    l.backward()
    optimizer.step()
    return l


LR = CHAPTER.lr


def _setup():
    """A small seeded network (two VGG blocks and a Linear layer) and two batches of 8 images of 32 px,
    made without touching the notebook's random numbers."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(vgg_block(1, 1, 4), vgg_block(1, 4, 8), nn.Flatten(),
                            nn.Linear(8 * 8 * 8, 10))
        net.apply(init_weights)
        batches = [(torch.rand(8, 1, 32, 32), torch.randint(0, 10, (8,))) for _ in range(2)]
    return net, batches


def _run(step, net0, batches):
    """Run `step` on a copy of net0 once per batch; after each call yield what it returned, copies of
    the parameters and of their gradients, and the network itself."""
    net = copy.deepcopy(net0)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    loss = nn.CrossEntropyLoss()
    for X, y in batches:
        returned = step(net, X.clone(), y.clone(), loss, optimizer)
        params = [p.detach().clone() for p in net.parameters()]
        grads = [None if p.grad is None else p.grad.detach().clone() for p in net.parameters()]
        yield returned, params, grads, net


def _same(a: list, b: list) -> bool:
    return all(torch.allclose(x, y, rtol=1e-5, atol=1e-7) for x, y in zip(a, b))


def _flat(tensors: list) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _loss_difference(value: float, want: float, net_after, net_before, X, y) -> str:
    """Why the returned loss is `value` and not `want`."""
    loss = nn.CrossEntropyLoss()
    with torch.no_grad():
        after = loss(net_after(X), y).item()
        softmaxed = loss(net_before(X).softmax(dim=1), y).item()
    if _near(value, after, 1e-5):
        return "返回的是参数更新之后重新算的损失：应返回这一步前向计算时求出的 l。"
    if _near(value, softmaxed, 1e-5):
        return ("损失不对：先对网络的输出做了 softmax？CrossEntropyLoss 接受原始输出（logits），"
                "自己做 softmax。")
    if _near(value, want * len(y), 1e-5):
        return (f"返回的损失是批量平均值的 {len(y)} 倍：CrossEntropyLoss 已经对批量取了平均，"
                "不要再乘批量大小（fit 乘 len(y) 只是为了统计整个迭代周期的损失）。")
    return (f"返回的损失是 {value:.4f}，fit 的这一步是 {want:.4f}：用传进来的 loss，"
            "求 loss(net(X), y)。")


def _params_difference(call: int, got: list, want: list, before: list, grads: list,
                       accumulated: list | None, batch: int) -> str:
    """Why the parameters after call `call` are `got` and not `want`."""
    if _same(got, before):
        if all(g is None or not g.any() for g in grads):
            return (f"第 {call} 次调用后参数没有变，梯度也是空的：缺了 l.backward()，或者 "
                    "optimizer.zero_grad() 放在了 backward 和 step 之间（它清掉了刚算出的梯度）。")
        return (f"第 {call} 次调用后参数没有变，梯度却已经算出来了：缺了 optimizer.step()，"
                "或者它放在了 l.backward() 之前（那时还没有这一步的梯度）。")
    if accumulated is not None and _same(got, accumulated):
        return ("第 1 次调用相同，第 2 次调用后参数不同：梯度在两次调用之间累加了，缺了 "
                "optimizer.zero_grad()。backward 把梯度加到 .grad 上，不会覆盖旧的。")
    delta, want_delta = _flat(got) - _flat(before), _flat(want) - _flat(before)
    k = float(delta @ want_delta / (want_delta @ want_delta))
    if k > 0 and torch.allclose(delta, k * want_delta, rtol=1e-3, atol=1e-7):
        if round(k) == batch:
            return (f"第 {call} 次调用后参数变化的方向对，大小却是 fit 这一步的 {batch} 倍（批量大小）："
                    "损失乘了 len(y)？CrossEntropyLoss 已经对批量取了平均，直接对它 backward。")
        return (f"第 {call} 次调用后参数变化的方向对，大小却是 fit 这一步的 {k:.3g} 倍：step 只调用一次，"
                f"用传进来的 optimizer（学习率 {LR}），也不要放大损失。")
    return (f"第 {call} 次调用后参数与 fit 的一步不同：按 前向、求损失、zero_grad、backward、step "
            "的顺序，用传进来的 net、loss 和 optimizer。")


@task(train_step)
def check_train_step(my_train_step) -> bool | None:
    """Check `my_train_step(net, X, y, loss, optimizer)`: one step of `fit`'s inner loop (forward,
    loss, zero_grad, backward, step), returning the loss tensor.

    It is called twice (two batches of 8 images of 32 px) on a small seeded network with SGD at the
    chapter's learning rate, next to `train_step` from identical copies; the returned losses and the
    updated weights are compared after each call, and the first difference is named.
    """
    if my_train_step is None or my_train_step is Ellipsis:
        print(PLACEHOLDER)
        return None
    with small_work():  # whatever the reader's step draws, the notebook's numbers stay
        return _check_train_step(my_train_step)


def _check_train_step(my_train_step) -> bool | None:
    net0, batches = _setup()
    before = [p.detach().clone() for p in net0.parameters()]
    reference = list(_run(train_step, net0, batches))
    accumulated = [params for _, params, _, _ in _run(_no_zero_grad, net0, batches)]
    reader = _run(my_train_step, net0, batches)
    previous_net = copy.deepcopy(net0)
    for call in (1, 2):
        X, y = batches[call - 1]
        try:
            returned, params, grads, net = next(reader)
        except Exception as e:  # the reader's code: report it in one line
            message = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
            advice = ""
            if "does not require grad" in message:
                advice = "（前向计算不能放在 torch.no_grad() 里，否则没有梯度可求）"
            elif "backward through the graph a second time" in message:
                advice = "（每一步只调用一次 l.backward()）"
            return report(False, f"第 {call} 次调用时运行出错：{type(e).__name__}: {message}{advice}")
        want_loss, want_params, _, _ = reference[call - 1]
        if returned is None:
            if call == 1 and _same(params, before) and all(g is None for g in grads):
                print(PLACEHOLDER)
                return None
            return report(False, "函数没有返回损失：最后写 return l（损失张量）。")
        if isinstance(returned, (int, float)) and not isinstance(returned, bool):
            return report(False, "返回的是 Python 数（像是 l.item()）：应返回损失张量 l。fit 用 l.detach() "
                                 "在设备上累加损失，l.item() 会让主机每一步都等设备算完。")
        if not isinstance(returned, torch.Tensor):
            return report(False, f"返回的是 {type(returned).__name__}：应返回损失张量 l。")
        if returned.numel() != 1:
            what = "，像是网络的输出 y_hat" if tuple(returned.shape) == (len(y), 10) else ""
            return report(False, f"返回的张量形状是 {tuple(returned.shape)}{what}：应返回 loss(y_hat, y)，"
                                 "一个标量。")
        value, want = float(returned.detach()), float(want_loss.detach())
        if not _near(value, want, 1e-5):
            return report(False, f"第 {call} 次调用：" + _loss_difference(value, want, net, previous_net, X, y))
        if not _same(params, want_params):
            start = before if call == 1 else reference[0][1]
            return report(False, _params_difference(call, params, want_params, start, grads,
                                                    accumulated[1] if call == 2 else None, len(y)))
        previous_net = copy.deepcopy(net)
    return report(True, "两次调用的损失和更新后的参数都与 fit 的一步相同。")
