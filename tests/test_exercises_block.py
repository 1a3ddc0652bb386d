"""The exercises of notebook 01_vgg_block (vggbook.exercises.block): the right answers, the hints for
wrong ones (which never give the answer away), check_vgg_block on right and wrong code, the self-check
answers' figures, and the notebook asking before it shows."""
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

from vggbook import models
from vggbook.exercises import PLACEHOLDER, check, check_vgg_block, reference
from vggbook.exercises import block as ex

from exercise_helpers import (assert_asked_before_answered, assert_check_leaves_the_random_numbers_alone,
                              assert_self_check_is_folded, notebook_markdown,
                              assert_task_between_the_code_and_the_self_check)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_vgg_block.ipynb"
KEYS = ["block-param-count", "two-3x3-receptive-field", "two-3x3-vs-5x5-weights"]


def _verdict(capsys, key, answer):
    result = check(key, answer)
    return result, capsys.readouterr().out


# ---------------------------------------------------------------- predict, then check

def test_the_answers_are_the_ones_the_notebook_teaches():
    assert reference("block-param-count") == 9 * 1 * 64 + 64 + 9 * 64 * 64 + 64 == 37_568
    assert reference("two-3x3-receptive-field") == 5
    assert reference("two-3x3-vs-5x5-weights") == pytest.approx(18 / 25)


@pytest.mark.parametrize("key,answer", [
    ("block-param-count", 37568), ("block-param-count", 37568.0),
    ("two-3x3-receptive-field", 5), ("two-3x3-receptive-field", 5.0),
    ("two-3x3-vs-5x5-weights", 0.72), ("two-3x3-vs-5x5-weights", 18 / 25)])
def test_right_answers_in_any_reasonable_form(capsys, key, answer):
    ok, out = _verdict(capsys, key, answer)
    assert ok is True and out.startswith("✔") and out.count("✔") == 1


WRONG = [
    ("block-param-count", "37568", "整数"),
    ("block-param-count", 576 + 36864, "只数了权重"),
    ("block-param-count", 640, "两个都要数"),
    ("block-param-count", 36928, "两个都要数"),
    ("block-param-count", 2 * (9 * 64 * 64 + 64), "in_channels = 1"),
    ("block-param-count", 64 + 64 + 64 * 64 + 64, "9 个权重"),
    ("block-param-count", 50_000, "没有参数"),
    ("block-param-count", 1_000, "分别算出来"),
    ("two-3x3-receptive-field", (5, 5), "整数"),
    ("two-3x3-receptive-field", "5×5", "整数"),
    ("two-3x3-receptive-field", 25, "面积"),
    ("two-3x3-receptive-field", 3, "合在一起"),
    ("two-3x3-receptive-field", 6, "重叠"),
    ("two-3x3-receptive-field", 9, "重叠"),
    ("two-3x3-receptive-field", 1, "已经是 3×3"),
    ("two-3x3-receptive-field", 7, "一圈"),
    ("two-3x3-vs-5x5-weights", 72, "百分数"),
    ("two-3x3-vs-5x5-weights", 25 / 18, "比反了"),
    ("two-3x3-vs-5x5-weights", 9 / 25, "两个 3×3 层，不是一个"),
    ("two-3x3-vs-5x5-weights", (2 * 9 * 64 * 64 + 128) / (25 * 64 * 64 + 64), "不算偏置"),
    ("two-3x3-vs-5x5-weights", 0.7, "很接近"),
    ("two-3x3-vs-5x5-weights", 0.5, "k²·C²"),
    ("two-3x3-vs-5x5-weights", -1, "正数"),
    ("two-3x3-vs-5x5-weights", "0.72", "小数"),
]


@pytest.mark.parametrize("key,answer,hint", WRONG, ids=[f"{k}={a!r}" for k, a, _ in WRONG])
def test_a_wrong_answer_gets_a_hint_not_the_answer(capsys, key, answer, hint):
    ok, out = _verdict(capsys, key, answer)
    assert ok is False and out.startswith("✘ 还不对："), out
    assert hint in out, out
    expected = reference(key)
    shown = {"block-param-count": ["37568", "37 568", "37,568"],
             "two-3x3-receptive-field": ["5×5", "边长是 5", " 5 "], "two-3x3-vs-5x5-weights": ["0.72", "18/25"]}[key]
    assert not any(s in out for s in shown), f"the hint gives the answer {expected!r} away: {out}"


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("placeholder", [..., None])
def test_a_placeholder_is_not_answered_yet(capsys, key, placeholder):
    ok, out = _verdict(capsys, key, placeholder)
    assert ok is None and out.startswith(PLACEHOLDER) and out.count("\n") == 1
    assert "✔" not in out and "✘" not in out


# ---------------------------------------------------------------- check_vgg_block

def _chapter(num_convs, in_channels, out_channels):
    layers = []
    for _ in range(num_convs):
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        layers.append(nn.ReLU())
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def _variant(conv=None, relu=nn.ReLU, pool=lambda: nn.MaxPool2d(kernel_size=2, stride=2), update=True,
             extra=0, nested=False):
    """The chapter's block with one thing changed."""
    conv = conv or (lambda i, o: nn.Conv2d(i, o, kernel_size=3, padding=1))

    def my_vgg_block(num_convs, in_channels, out_channels):
        layers = []
        for _ in range(num_convs + extra):
            pair = [conv(in_channels, out_channels)] + ([relu()] if relu else [])
            layers += [nn.Sequential(*pair)] if nested else pair
            if update:
                in_channels = out_channels
        if pool:
            layers.append(pool())
        return nn.Sequential(*layers)
    return my_vgg_block


class _SkipsRelu(nn.Sequential):
    def forward(self, x):
        for layer in self:
            if not isinstance(layer, nn.ReLU):
                x = layer(x)
        return x


def _skips_relu(num_convs, in_channels, out_channels):
    return _SkipsRelu(*_chapter(num_convs, in_channels, out_channels))


def _named(num_convs, in_channels, out_channels):
    layers = OrderedDict()
    for i in range(num_convs):
        layers[f"conv{i}"] = nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1)
        layers[f"relu{i}"] = nn.ReLU(inplace=True)
    layers["pool"] = nn.MaxPool2d(2)
    return nn.Sequential(layers)


def _run(capsys, fn):
    result = check_vgg_block(fn)
    return result, capsys.readouterr().out


@pytest.mark.parametrize("fn", [
    models.vgg_block, _chapter, _named,
    _variant(relu=lambda: nn.ReLU(inplace=True)),
    _variant(conv=lambda i, o: nn.Conv2d(i, o, 3, padding="same")),
    _variant(conv=lambda i, o: nn.Conv2d(i, o, (3, 3), stride=1, padding=(1, 1))),
    _variant(pool=lambda: nn.MaxPool2d(2)),
    _variant(nested=True),
], ids=["package", "chapter", "named-layers", "inplace-relu", "padding-same", "tuples", "pool-default-stride",
        "nested"])
def test_right_code_passes(capsys, fn):
    ok, out = _run(capsys, fn)
    assert ok is True and out.count("✔") == 1 and "✘" not in out, out


BUGGY = [
    ("in-channels-not-updated", _variant(update=False), ["my_vgg_block(2, 1, 64)", "第 3 层", "Conv2d(64 → 64",
                                                          "更新 in_channels"]),
    ("kernel-5", _variant(conv=lambda i, o: nn.Conv2d(i, o, 5, padding=2)), ["5×5", "只用 3×3"]),
    ("no-padding", _variant(conv=lambda i, o: nn.Conv2d(i, o, 3)), ["填充 0", "填充为 1"]),
    ("conv-stride-2", _variant(conv=lambda i, o: nn.Conv2d(i, o, 3, stride=2, padding=1)), ["步幅为 1"]),
    ("no-bias", _variant(conv=lambda i, o: nn.Conv2d(i, o, 3, padding=1, bias=False)), ["无偏置", "bias=True"]),
    ("no-relu", _variant(relu=None), ["应是 ReLU", "紧跟一个 ReLU"]),
    ("avg-pool", _variant(pool=lambda: nn.AvgPool2d(2, 2)), ["AvgPool2d", "最大汇聚"]),
    ("pool-stride-1", _variant(pool=lambda: nn.MaxPool2d(2, stride=1)), ["步幅 1", "减半"]),
    ("no-pool", _variant(pool=None), ["少了层", "MaxPool2d(2×2, 步幅 2)"]),
    ("one-conv-too-many", _variant(extra=1), ["my_vgg_block(1, 1, 64)", "卷积层多了"]),
    ("one-conv-too-few", _variant(extra=-1), ["卷积层少了"]),
    ("extra-layer", lambda *a: nn.Sequential(*_chapter(*a), nn.ReLU()), ["多了层"]),
    ("custom-forward", _skips_relu, ["输出却不同", "forward"]),
    ("raises", lambda *a: 1 / 0, ["出错", "ZeroDivisionError"]),
    ("returns-a-list", lambda *a: list(_chapter(*a)), ["list", "nn.Sequential"]),
    ("forgets-return-later", lambda n, i, o: _chapter(n, i, o) if n == 1 else None, ["my_vgg_block(2, 1, 64)",
                                                                                     "返回了 None"]),
    ("not-callable", 42, ["函数"]),
]


@pytest.mark.parametrize("name,fn,fragments", BUGGY, ids=[b[0] for b in BUGGY])
def test_wrong_code_gets_the_first_difference(capsys, name, fn, fragments):
    ok, out = _run(capsys, fn)
    assert ok is False and out.startswith("✘ 还不对：") and out.count("\n") == 1, out
    for fragment in fragments:
        assert fragment in out, f"{name}: {fragment!r} not in {out!r}"


def _placeholder(num_convs, in_channels, out_channels):
    """num_convs x (3x3 conv with padding 1, ReLU), then a 2x2 max-pool with stride 2."""
    ...


@pytest.mark.parametrize("fn", [_placeholder, ..., None], ids=["function-body-...", "...", "None"])
def test_a_placeholder_is_not_answered_yet_for_the_task(capsys, fn):
    ok, out = _run(capsys, fn)
    assert ok is None and out.startswith(PLACEHOLDER) and out.count("\n") == 1 and "my_vgg_block" in out


def test_the_checker_leaves_the_readers_random_numbers_alone(capsys):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    check_vgg_block(models.vgg_block)
    assert torch.equal(torch.get_rng_state(), before)


def test_the_checker_is_marked_with_the_package_reference():
    assert check_vgg_block.reference is models.vgg_block


def test_several_argument_triples_with_different_wiring():
    cases = ex.VGG_BLOCK_CASES
    assert len(cases) >= 3 and len({n for n, _, _ in cases}) >= 3
    assert any(i != o for _, i, o in cases) and any(i == o for _, i, o in cases)


# ---------------------------------------------------------------- the self-check answers

def _markdown() -> str:
    return notebook_markdown(NOTEBOOK)


def test_self_check_padding():
    text = _markdown()
    no_pad = nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2, 2))
    shape = tuple(no_pad(torch.zeros(1, 1, 224, 224)).shape)
    assert shape == (1, 64, 110, 110) and f"输出形状为 {shape}" in text
    assert models.count_parameters(no_pad) == models.count_parameters(models.vgg_block(2, 1, 64)) == 37_568
    assert "仍是 37 568" in text


def test_self_check_stacked_3x3():
    text = _markdown()
    for n in range(1, 7):
        assert ex.receptive_field(models.conv_block((3,) * n, 1, 1)[:-1]) == 2 * n + 1
    assert ex.receptive_field(models.conv_block((3,) * 5, 1, 1)[:-1]) == \
        ex.receptive_field(models.conv_block((11,), 1, 1)[:-1]) == 11
    C = 8
    five = sum(p.numel() for n, p in models.conv_block((3,) * 5, C, C).named_parameters() if n.endswith("weight"))
    one = sum(p.numel() for n, p in models.conv_block((11,), C, C).named_parameters() if n.endswith("weight"))
    assert (five, one) == (45 * C * C, 121 * C * C) and f"约是前者的 {one / five:.1f} 倍" in text


def test_self_check_formula():
    text = _markdown()

    def formula(n, c_in, c_out):
        return (9 * c_in * c_out + c_out) + (n - 1) * (9 * c_out ** 2 + c_out)
    for args in [(1, 1, 64), (2, 1, 64), (3, 128, 256), (4, 3, 7)]:
        assert models.count_parameters(models.vgg_block(*args)) == formula(*args)
    assert formula(3, 128, 256) == 1_475_328 and "共 $1\\,475\\,328$ 个" in text
    assert "295\\,168" in text and "590\\,080" in text


def test_self_check_questions_are_exercises_with_folded_solutions():
    assert_self_check_is_folded(NOTEBOOK)


# ---------------------------------------------------------------- the notebook asks before it shows

# For each item: text that gives its answer away, which no cell (source or output) before its check may hold.
GIVEAWAYS = {
    "block-param-count": ["37568", "37 568", "37,568", "36\\,928", "36928"],
    "two-3x3-receptive-field": ["感受野是 5×5", "感受野都是 5×5", "同样大的输入区域"],
    "two-3x3-vs-5x5-weights": ["18C^2", "18C²", "0.72", "18/25"],
}


def test_every_item_is_asked_before_the_notebook_shows_its_answer():
    assert_asked_before_answered(NOTEBOOK, GIVEAWAYS)


def test_the_task_comes_after_the_chapters_code_and_before_the_self_check():
    assert_task_between_the_code_and_the_self_check(NOTEBOOK, "check_vgg_block(my_vgg_block)", "def my_vgg_block(", "def vgg_block(")


@pytest.mark.parametrize("key", KEYS)
def test_checking_an_answer_leaves_the_random_numbers_alone(key):
    assert_check_leaves_the_random_numbers_alone(key)
