"""The exercises of 03_shape_trace (vggbook.exercises.trace): the answers are the package's, right
answers pass, typical wrong answers get the hint that names the mistake, placeholders only say "not
answered", and `check_trace` names the first difference of a wrong `my_trace`."""
import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from vggbook import anatomy, exercises
from vggbook.exercises import PLACEHOLDER, check, check_trace, reference

from exercise_helpers import assert_asked_before_answered, assert_wrong_with_hint, solution_after, verdict

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_shape_trace.ipynb"
KEYS = ["03-conv1-flops", "03-where", "03-narrow-flops"]


# --- the answers come from the package --------------------------------------------------------

def test_the_answers_are_the_packages():
    assert reference("03-conv1-flops") == 2 * 224 * 224 * 64 * 9 * 1
    assert (reference("03-narrow-flops"), reference("03-where")) == ("C", "C")


def test_the_notebook_asks_exactly_these_items():
    """The notebook's predict-then-check cells are this module's items, each once, in this order."""
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    assert re.findall(r'^check\("([^"]+)"', code, re.M) == KEYS
    assert sorted(k for k in exercises.ITEMS if k.startswith("03-")) == sorted(KEYS)


def test_each_item_is_asked_before_the_notebook_shows_its_answer():
    assert_asked_before_answered(NOTEBOOK, {
        "03-conv1-flops": ["57.8", "57\\,802\\,752"],   # the table's first row, the folded working
        "03-where": ["98.4"],                             # the shares by layer type
        "03-narrow-flops": ["1.024"],                     # the totals of the two models
    })


@pytest.mark.parametrize("key", KEYS)
def test_the_right_answer_passes(key, capsys):
    ok, out = verdict(capsys, check, key, reference(key))
    assert ok is True and out.startswith("✔")


def test_equivalent_forms_pass(capsys):
    assert check("03-conv1-flops", 57.8e6) is True          # within 0.1 %
    assert check("03-where", " c") is True
    assert check("03-narrow-flops", "c") is True
    capsys.readouterr()


@pytest.mark.parametrize("key", KEYS)
def test_a_placeholder_only_says_not_answered(key, capsys):
    ok, out = verdict(capsys, check, key, ...)
    assert ok is None and out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out


# --- wrong answers get the hint for their mistake ---------------------------------------------

WRONG = [
    ("03-conv1-flops", 28_901_376, "乘加"),
    ("03-conv1-flops", 2 * 224 * 224 * 64 * 3, "9 个权重"),
    ("03-conv1-flops", 2 * 224 * 224 * 64 * 9 * 3, "单通道"),
    ("03-conv1-flops", 2 * 112 * 112 * 64 * 9, "汇聚层"),
    ("03-conv1-flops", 2 * 224 * 224 * 64 * 9 + 224 * 224 * 64, "偏置"),
    ("03-conv1-flops", 57.8, "MFLOPs"),
    ("03-conv1-flops", 2 * 224 * 224 * 9, "输出通道"),
    ("03-conv1-flops", 1e9, "偏大"),
    ("03-narrow-flops", "B", "两者都除以 4"),
    ("03-narrow-flops", "A", "两个因子"),
    ("03-narrow-flops", "D", "像素数确实不变"),
    ("03-narrow-flops", "E", "选项字母"),
    ("03-narrow-flops", 3, "选项字母"),
    ("03-where", "A", "第一个全连接层"),
    ("03-where", "B", "正好反了"),
    ("03-where", "D", "计算量主要来自卷积层"),
]


@pytest.mark.parametrize("key,answer,phrase", WRONG, ids=lambda x: str(x)[:20])
def test_a_wrong_answer_gets_its_hint(key, answer, phrase, capsys):
    assert_wrong_with_hint(capsys, key, answer, phrase)


# --- write it yourself: my_trace ---------------------------------------------------------------

def right(net, X):
    rows = []
    for blk in net:
        X = blk(X)
        rows.append((type(blk).__name__, tuple(X.shape)))
    return rows


def printing_only(net, X):  # the chapter's loop, as it stands: prints and returns nothing
    for blk in net:
        X = blk(X)
        print(blk.__class__.__name__, "output shape:\t", X.shape)


def numbered(net, X):
    rows = []
    for name, blk in net.named_children():
        X = blk(X)
        rows.append((name, tuple(X.shape)))
    return rows


def into_the_blocks(net, X):
    rows = []
    for layer in net.modules():
        if not list(layer.children()):
            X = layer(X)
            rows.append((type(layer).__name__, tuple(X.shape)))
    return rows


def every_module(net, X):  # net.modules() starts with the network itself
    rows = []
    for layer in net.modules():
        X = layer(X)
        rows.append((type(layer).__name__, tuple(X.shape)))
    return rows


def input_shapes(net, X):
    rows = []
    for blk in net:
        rows.append((type(blk).__name__, tuple(X.shape)))
        X = blk(X)
    return rows


def without_batch(net, X):
    rows = []
    for blk in net:
        X = blk(X)
        rows.append((type(blk).__name__, tuple(X.shape[1:])))
    return rows


def x_not_passed_on(net, X):
    rows = []
    for blk in net:
        Y = blk(X)
        rows.append((type(blk).__name__, tuple(Y.shape)))
    return rows


def blocks_only(net, X):
    rows = []
    for blk in net:
        if isinstance(blk, nn.Flatten):
            break
        X = blk(X)
        rows.append((type(blk).__name__, tuple(X.shape)))
    return rows


def class_objects(net, X):
    rows = []
    for blk in net:
        X = blk(X)
        rows.append((type(blk), tuple(X.shape)))
    return rows


def printed_lines(net, X):
    rows = []
    for blk in net:
        X = blk(X)
        rows.append(f"{type(blk).__name__} output shape:\t{tuple(X.shape)}")
    return rows


def size_method(net, X):
    rows = []
    for blk in net:
        X = blk(X)
        rows.append((type(blk).__name__, X.size))
    return rows


def shapes_only(net, X):
    rows = []
    for blk in net:
        X = blk(X)
        rows.append(tuple(X.shape))
    return rows


def whole_network(net, X):
    return [(type(blk).__name__, tuple(net(X).shape)) for blk in net]


def hard_coded(net, X):  # the names of VGG-11's layers, typed in
    names = ["Sequential"] * 5 + ["Flatten"] + ["Linear", "ReLU", "Dropout"] * 2 + ["Linear"]
    rows = []
    for name, blk in zip(names, net):
        X = blk(X)
        rows.append((name, tuple(X.shape)))
    return rows


def reprs(net, X):
    rows = []
    for blk in net:
        X = blk(X)
        rows.append((str(blk), tuple(X.shape)))
    return rows


def not_a_list(net, X):
    return len(net)


WRONG_TRACES = [
    (printing_only, "只打印不够"),
    (numbered, "编号"),
    (into_the_blocks, "只遍历顶层"),
    (every_module, "net.modules() 的第一项是网络本身"),
    (input_shapes, "输入形状"),
    (without_batch, "少了批量维度"),
    (x_not_passed_on, "X = blk(X)"),
    (blocks_only, "从第 6 行（Flatten）起漏掉了"),
    (class_objects, "type(blk).__name__"),
    (printed_lines, "是字符串"),
    (size_method, "X.size 本身"),
    (shapes_only, "少了层的类名"),
    (whole_network, "整个网络的输出"),
    (hard_coded, "不要写死"),
    (reprs, "完整描述"),
    (not_a_list, "应返回 (类名, 形状) 的列表"),
]


def test_the_reference_and_a_right_trace_pass(capsys):
    for fn in (check_trace.reference, right):
        ok, out = verdict(capsys, check_trace, fn)
        assert ok is True and out.startswith("✔"), out
        assert out.count("\n") == 1  # what the reader's function printed is not shown


@pytest.mark.parametrize("fn,phrase", WRONG_TRACES, ids=lambda x: getattr(x, "__name__", ""))
def test_a_wrong_trace_is_named(fn, phrase, capsys):
    ok, out = verdict(capsys, check_trace, fn)
    assert ok is False and out.startswith("✘"), out
    assert phrase in out, out
    assert out.count("\n") == 1, "one line, also when the reader's code raises"


def test_placeholders_only_say_not_answered(capsys):
    def my_trace(net, X):
        ...  # 你的代码
    for answer in (None, ..., my_trace):
        ok, out = verdict(capsys, check_trace, answer)
        assert ok is None and out == PLACEHOLDER + "\n"


def test_check_trace_is_exported_with_its_reference():
    assert "check_trace" in exercises.trace.__all__ and check_trace.reference is anatomy.trace
    assert exercises.check_trace is check_trace


def _solution_after(cell_source_start: str) -> str:
    return solution_after(NOTEBOOK, cell_source_start)


def test_the_notebooks_solution_passes(capsys):
    namespace = {}
    exec(_solution_after("def my_trace("), namespace)
    ok, out = verdict(capsys, check_trace, namespace["my_trace"])
    assert ok is True, out


def test_the_checker_leaves_the_notebooks_random_numbers_and_threads_alone():
    threads = torch.get_num_threads()
    torch.manual_seed(1)
    want = torch.rand(3)
    torch.manual_seed(1)
    check_trace(check_trace.reference)   # the VGG's Dropout layers draw random numbers
    check_trace(every_module)            # also when the reader's code raises
    assert torch.equal(torch.rand(3), want) and torch.get_num_threads() == threads
