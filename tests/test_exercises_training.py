"""The exercises of 04_training (vggbook.exercises.training): the answers are the package's, right
answers pass, typical wrong answers get the hint that names the mistake, placeholders only say "not
answered", and `check_train_step` names the first difference of a wrong training step. Its reference
is, statement for statement, the body of `fit`'s inner loop."""
import ast
import inspect
import math
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from vggbook import exercises, train
from vggbook.exercises import PLACEHOLDER, check, check_train_step, reference
from vggbook.exercises.training import train_step

from exercise_helpers import assert_wrong_with_hint, solution_after, verdict

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04_training.ipynb"
KEYS = ["04-initial-loss", "04-chance-accuracy", "04-quiz-eval"]


# --- the answers come from the package --------------------------------------------------------

def test_the_answers_are_the_packages():
    assert reference("04-initial-loss") == pytest.approx(math.log(10), rel=1e-6)
    assert reference("04-chance-accuracy") == pytest.approx(0.1)
    assert reference("04-quiz-eval") == "A"


def test_the_dropped_items_are_gone():
    """04 asks three items; the busywork counts and the exercise-2 quiz (05 asks it) are not registered."""
    for key in ("04-narrow-params", "04-batches-per-epoch", "04-quiz-zero-grad", "04-quiz-slower"):
        with pytest.raises(KeyError):
            reference(key)


@pytest.mark.parametrize("key", KEYS)
def test_the_right_answer_passes(key, capsys):
    ok, out = verdict(capsys, check, key, reference(key))
    assert ok is True and out.startswith("✔")


def test_equivalent_forms_pass(capsys):
    assert check("04-initial-loss", math.log(10)) is True
    assert check("04-initial-loss", 2.3026) is True
    assert check("04-chance-accuracy", 1 / 10) is True
    assert check("04-quiz-eval", "a") is True
    capsys.readouterr()


@pytest.mark.parametrize("key", KEYS)
def test_a_placeholder_only_says_not_answered(key, capsys):
    ok, out = verdict(capsys, check, key, None)
    assert ok is None and out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out


# --- wrong answers get the hint for their mistake ---------------------------------------------

WRONG = [
    ("04-initial-loss", 2.3, "很接近了"),
    ("04-initial-loss", 0.1, "正确类的概率"),
    ("04-initial-loss", 1.0, "以 10 为底"),
    ("04-initial-loss", math.log2(10), "以 2 为底"),
    ("04-initial-loss", 0, "平均地猜"),
    ("04-initial-loss", -2.3, "不会是负数"),
    ("04-initial-loss", 10, "偏大"),
    ("04-chance-accuracy", 10, "不是百分数"),
    ("04-chance-accuracy", 0.5, "不是二分类"),
    ("04-chance-accuracy", 0, "猜对一部分"),
    ("04-chance-accuracy", 0.9, "猜错的比例"),
    ("04-chance-accuracy", "10%", "0 到 1"),
    ("04-quiz-eval", "B", "torch.no_grad()"),
    ("04-quiz-eval", "C", "optimizer.step()"),
    ("04-quiz-eval", "D", ".to(device)"),
]


@pytest.mark.parametrize("key,answer,phrase", WRONG, ids=lambda x: str(x)[:20])
def test_a_wrong_answer_gets_its_hint(key, answer, phrase, capsys):
    assert_wrong_with_hint(capsys, key, answer, phrase)


# --- write it yourself: my_train_step ----------------------------------------------------------

def right_zero_grad_first(net, X, y, loss, optimizer):
    optimizer.zero_grad()
    l = loss(net(X), y)
    l.backward()
    optimizer.step()
    return l


def right_zero_grad_last(net, X, y, loss, optimizer):  # also fine: the gradients are clean next time
    l = loss(net(X), y)
    l.backward()
    optimizer.step()
    optimizer.zero_grad()
    return l.detach()


def no_zero_grad(net, X, y, loss, optimizer):
    l = loss(net(X), y)
    l.backward()
    optimizer.step()
    return l


def no_step(net, X, y, loss, optimizer):
    l = loss(net(X), y)
    optimizer.zero_grad()
    l.backward()
    return l


def step_before_backward(net, X, y, loss, optimizer):
    l = loss(net(X), y)
    optimizer.zero_grad()
    optimizer.step()
    l.backward()
    return l


def no_backward(net, X, y, loss, optimizer):
    l = loss(net(X), y)
    optimizer.zero_grad()
    optimizer.step()
    return l


def zero_grad_after_backward(net, X, y, loss, optimizer):
    l = loss(net(X), y)
    l.backward()
    optimizer.zero_grad()
    optimizer.step()
    return l


def softmax_first(net, X, y, loss, optimizer):  # wrong loss: CrossEntropyLoss wants the logits
    l = loss(net(X).softmax(dim=1), y)
    optimizer.zero_grad()
    l.backward()
    optimizer.step()
    return l


def returns_item(net, X, y, loss, optimizer):
    l = train_step(net, X, y, loss, optimizer)
    return l.item()


def returns_y_hat(net, X, y, loss, optimizer):
    y_hat = net(X)
    l = loss(y_hat, y)
    optimizer.zero_grad()
    l.backward()
    optimizer.step()
    return y_hat


def returns_nothing(net, X, y, loss, optimizer):
    train_step(net, X, y, loss, optimizer)


def loss_after_the_step(net, X, y, loss, optimizer):
    train_step(net, X, y, loss, optimizer)
    return loss(net(X), y)


def two_steps(net, X, y, loss, optimizer):
    l = loss(net(X), y)
    optimizer.zero_grad()
    l.backward()
    optimizer.step()
    optimizer.step()
    return l


def loss_times_batch(net, X, y, loss, optimizer):
    l = loss(net(X), y)
    optimizer.zero_grad()
    (l * len(y)).backward()
    optimizer.step()
    return l


def own_optimizer(net, X, y, loss, optimizer):
    return train_step(net, X, y, loss, torch.optim.SGD(net.parameters(), lr=0.1))


def returns_summed_loss(net, X, y, loss, optimizer):
    return train_step(net, X, y, loss, optimizer) * len(y)


def forward_without_grad(net, X, y, loss, optimizer):
    with torch.no_grad():
        l = loss(net(X), y)
    optimizer.zero_grad()
    l.backward()
    optimizer.step()
    return l


def backward_twice(net, X, y, loss, optimizer):
    l = loss(net(X), y)
    optimizer.zero_grad()
    l.backward()
    l.backward()
    optimizer.step()
    return l


def adam(net, X, y, loss, optimizer):
    return train_step(net, X, y, loss, torch.optim.Adam(net.parameters()))


WRONG_STEPS = [
    (no_zero_grad, "缺了 optimizer.zero_grad()"),
    (no_step, "缺了 optimizer.step()"),
    (step_before_backward, "放在了 l.backward() 之前"),
    (no_backward, "缺了 l.backward()"),
    (zero_grad_after_backward, "zero_grad() 放在了 backward 和 step 之间"),
    (softmax_first, "softmax"),
    (returns_item, "l.item()"),
    (returns_y_hat, "y_hat"),
    (returns_nothing, "return l"),
    (loss_after_the_step, "更新之后重新算的损失"),
    (two_steps, "2 倍"),
    (loss_times_batch, "8 倍（批量大小）"),
    (own_optimizer, "传进来的 optimizer"),
    (returns_summed_loss, "不要再乘批量大小"),
    (forward_without_grad, "torch.no_grad()"),
    (backward_twice, "只调用一次 l.backward()"),
    (adam, "与 fit 的一步不同"),
]


@pytest.mark.parametrize("fn", [check_train_step.reference, right_zero_grad_first, right_zero_grad_last],
                         ids=lambda f: f.__name__)
def test_a_right_step_passes(fn, capsys):
    ok, out = verdict(capsys, check_train_step, fn)
    assert ok is True and out.startswith("✔"), out


@pytest.mark.parametrize("fn,phrase", WRONG_STEPS, ids=lambda x: getattr(x, "__name__", ""))
def test_a_wrong_step_is_named(fn, phrase, capsys):
    ok, out = verdict(capsys, check_train_step, fn)
    assert ok is False and out.startswith("✘"), out
    assert phrase in out, out
    assert out.count("\n") == 1, "one line, also when the reader's code raises"


def test_no_zero_grad_is_found_at_the_second_call(capsys):
    ok, out = verdict(capsys, check_train_step, no_zero_grad)
    assert "第 1 次调用相同，第 2 次调用后参数不同" in out


def test_placeholders_only_say_not_answered(capsys):
    def my_train_step(net, X, y, loss, optimizer):
        ...  # 你的代码
    for answer in (None, ..., my_train_step):
        ok, out = verdict(capsys, check_train_step, answer)
        assert ok is None and out == PLACEHOLDER + "\n"


def test_the_checker_leaves_the_notebooks_random_numbers_and_threads_alone():
    threads = torch.get_num_threads()
    torch.manual_seed(1)
    want = torch.rand(3)
    torch.manual_seed(1)
    check_train_step(check_train_step.reference)
    check_train_step(backward_twice)  # also when the reader's code raises
    assert torch.equal(torch.rand(3), want) and torch.get_num_threads() == threads


def test_check_train_step_is_exported_with_its_reference():
    assert exercises.training.__all__ == ["check_train_step"]
    assert check_train_step.reference is train_step and exercises.check_train_step is check_train_step


def _statements(nodes) -> list[str]:
    return [ast.dump(n) for n in nodes]


def test_the_reference_is_fits_inner_loop():
    """train_step's body is fit's inner loop from the forward pass to optimizer.step()."""
    fit = ast.parse(textwrap.dedent(inspect.getsource(train.fit))).body[0]
    inner = next(n for n in ast.walk(fit) if isinstance(n, ast.For)
                 and isinstance(n.iter, ast.Call) and ast.unparse(n.iter).startswith("enumerate(train_iter"))
    body = [ast.unparse(n) for n in inner.body]
    start, stop = body.index("y_hat = net(X)"), body.index("optimizer.step()")
    step = ast.parse(textwrap.dedent(inspect.getsource(train_step))).body[0]
    ours = [n for n in step.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert [ast.unparse(n) for n in ours[:-1]] == body[start:stop + 1]
    assert ast.unparse(ours[-1]) == "return l"


def _solution_after(cell_source_start: str) -> str:
    return solution_after(NOTEBOOK, cell_source_start)


def test_the_notebooks_solution_passes(capsys):
    namespace = {"nn": nn, "torch": torch}
    exec(_solution_after("def my_train_step("), namespace)
    ok, out = verdict(capsys, check_train_step, namespace["my_train_step"])
    assert ok is True, out
