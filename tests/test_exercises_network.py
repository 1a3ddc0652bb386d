"""The exercises of notebook 02_vgg_network (vggbook.exercises.network): the right answers, the hints
for wrong ones (which never give the answer away), check_vgg on right and wrong code (a hard-coded 7x7
is named at 96 px), the self-check answers' figures, and the notebook asking before it shows."""
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from vggbook import models
from vggbook.exercises import PLACEHOLDER, check, check_vgg, reference
from vggbook.exercises import network as ex
from vggbook.models import VGG11_ARCH, count_parameters, feature_size, narrow, vgg, vgg_block

from exercise_helpers import (assert_asked_before_answered, assert_check_leaves_the_random_numbers_alone,
                              assert_self_check_is_folded, notebook_markdown, solution_after,
                              assert_task_between_the_code_and_the_self_check)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02_vgg_network.ipynb"
KEYS = ["vgg11-last-side-224", "vgg11-first-linear-share", "vgg11-min-input"]


def _verdict(capsys, key, answer):
    result = check(key, answer)
    return result, capsys.readouterr().out


def _first_linear(net):
    return next(m for m in net.modules() if isinstance(m, nn.Linear))


# ---------------------------------------------------------------- predict, then check

def test_the_answers_are_the_ones_the_notebook_shows():
    assert reference("vgg11-last-side-224") == 7 and reference("vgg11-min-input") == 2 ** 5 == 32
    assert feature_size(VGG11_ARCH, 32) == 1
    with pytest.raises(ValueError):
        feature_size(VGG11_ARCH, 31)
    assert reference("vgg11-first-linear-share") == pytest.approx((25088 * 4096 + 4096) / 128_806_154)


@pytest.mark.parametrize("key,answer", [
    ("vgg11-last-side-224", 7), ("vgg11-last-side-224", 7.0), ("vgg11-min-input", 32), ("vgg11-min-input", 32.0),
    ("vgg11-first-linear-share", 0.798),
    ("vgg11-first-linear-share", 0.7978), ("vgg11-first-linear-share", 25088 * 4096 / 128_806_154)])
def test_right_answers_in_any_reasonable_form(capsys, key, answer):
    ok, out = _verdict(capsys, key, answer)
    assert ok is True and out.startswith("✔") and out.count("✔") == 1


WRONG = [
    ("vgg11-last-side-224", (7, 7), "整数"),
    ("vgg11-last-side-224", "7", "整数"),
    ("vgg11-last-side-224", 14, "减半了 4 次"),
    ("vgg11-last-side-224", 3.5, "减半了 6 次"),
    ("vgg11-last-side-224", 0, "不是卷积层"),
    ("vgg11-last-side-224", 512, "不是通道数"),
    ("vgg11-last-side-224", 25088, "展平后的元素个数"),
    ("vgg11-last-side-224", 5, "向下取整"),
    ("vgg11-first-linear-share", 79.8, "百分数"),
    ("vgg11-first-linear-share", 7, "0 到 1"),
    ("vgg11-first-linear-share", 0.928, "三个全连接层合计"),
    ("vgg11-first-linear-share", 0.0716, "卷积部分"),
    ("vgg11-first-linear-share", 0.8, "很接近"),
    ("vgg11-first-linear-share", 0.5, "in_features × 4096"),
    ("vgg11-first-linear-share", "0.8", "小数"),
    ("vgg11-min-input", 28, "Fashion-MNIST"),
    ("vgg11-min-input", 224, "不是最小的"),
    ("vgg11-min-input", 2 ** 8, "不是卷积层"),
    ("vgg11-min-input", 16, "减半 4 次"),
    ("vgg11-min-input", 64, "减半 6 次"),
    ("vgg11-min-input", 31, "太小了"),
    ("vgg11-min-input", 0, "太小了"),
    ("vgg11-min-input", 33, "还可以更小"),
    ("vgg11-min-input", (32, 32), "整数"),
    ("vgg11-min-input", "32", "整数"),
]


@pytest.mark.parametrize("key,answer,hint", WRONG, ids=[f"{k}={a!r}" for k, a, _ in WRONG])
def test_a_wrong_answer_gets_a_hint_not_the_answer(capsys, key, answer, hint):
    ok, out = _verdict(capsys, key, answer)
    assert ok is False and out.startswith("✘ 还不对："), out
    assert hint in out, out
    shown = {"vgg11-last-side-224": ["7×7", "是 7", " 7 "], "vgg11-min-input": ["32", "2^5", "2⁵", "2 ** 5"],
             "vgg11-first-linear-share": ["0.79", "0.80", "80%", "79.8 %"]}[key]
    assert not any(s in out for s in shown), f"the hint gives the answer {reference(key)!r} away: {out}"


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("placeholder", [..., None])
def test_a_placeholder_is_not_answered_yet(capsys, key, placeholder):
    ok, out = _verdict(capsys, key, placeholder)
    assert ok is None and out.startswith(PLACEHOLDER) and out.count("\n") == 1
    assert "✔" not in out and "✘" not in out


# ---------------------------------------------------------------- check_vgg

def _head(in_features, *, dropout=0.5, classes=10, relu=True, shared=False):
    one = nn.ReLU()
    act = (lambda: [one if shared else nn.ReLU()]) if relu else (lambda: [])
    return [nn.Flatten(),
            nn.Linear(in_features, 4096), *act(), nn.Dropout(dropout),
            nn.Linear(4096, 4096), *act(), nn.Dropout(dropout),
            nn.Linear(4096, classes)]


def _reader(side=lambda conv_arch, input_size: input_size // 2 ** len(conv_arch), update=True, flatten=True,
            guard=True, **head):
    """A reader's my_vgg: the chapter's code with the side computed by `side`, and one thing changed."""
    def my_vgg(conv_arch, input_size=224):
        if guard and input_size // 2 ** len(conv_arch) == 0:
            raise ValueError(f"{len(conv_arch)} blocks need at least {2 ** len(conv_arch)} px")
        blocks, in_channels = [], 1
        for num_convs, out_channels in conv_arch:
            blocks.append(vgg_block(num_convs, in_channels, out_channels))
            if update:
                in_channels = out_channels
        s = side(conv_arch, input_size)
        layers = _head(out_channels * s * s, **head)
        return nn.Sequential(*blocks, *(layers if flatten else layers[1:]))
    return my_vgg


def _by_dummy_forward(conv_arch, input_size=224):
    """A reader who measures the side by running a dummy image through the conv part."""
    blocks, in_channels = [], 1
    for num_convs, out_channels in conv_arch:
        blocks.append(vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    features = nn.Sequential(*blocks)
    with torch.no_grad():
        n = features(torch.zeros(1, 1, input_size, input_size)).numel()
    return nn.Sequential(features, *_head(n))


def _needs_real_tensors(conv_arch, input_size=224):
    """A reader whose side computation does not run on the meta device (the checker builds it for real)."""
    side = int(torch.tensor(input_size) // 2 ** len(conv_arch))
    if side == 0:
        raise ValueError("input too small")
    return _reader(side=lambda *_: side)(conv_arch, input_size)


def _with_defaults(conv_arch, *, in_channels=1, num_classes=10, input_size=224):
    return models.vgg(conv_arch, in_channels=in_channels, num_classes=num_classes, input_size=input_size)


def _run(capsys, fn):
    result = check_vgg(fn)
    return result, capsys.readouterr().out


@pytest.mark.parametrize("fn", [models.vgg, _reader(), _reader(shared=True), _by_dummy_forward, _needs_real_tensors,
                                _with_defaults],
                         ids=["package", "chapter-with-side", "one-relu-used-twice", "dummy-forward", "real-tensors",
                              "keyword-defaults"])
def test_right_code_passes(capsys, fn):
    ok, out = _run(capsys, fn)
    assert ok is True and out.count("✔") == 1 and "✘" not in out, out


def _custom_forward(conv_arch, input_size=224):
    class SkipsTheFirstRelu(nn.Sequential):
        def forward(self, x):
            for i, layer in enumerate(self):
                if not (isinstance(layer, nn.ReLU) and i == len(conv_arch) + 2):
                    x = layer(x)
            return x
    return SkipsTheFirstRelu(*models.vgg(conv_arch, input_size=input_size))


BUGGY = [
    ("hard-coded-7x7", _reader(side=lambda *_: 7), ["my_vgg(conv_arch, input_size=96)", "Linear(4608 → 4096)",
                                                    "Linear(25088 → 4096)", "写死成了 7"]),
    ("five-halvings", _reader(side=lambda a, s: s // 32), ["((1, 8), (2, 16), (2, 32)), input_size=224",
                                                           "按 5 个块算", "28×28"]),
    ("side-not-squared", _reader(side=lambda a, s: s // 2 ** len(a) if s == 224 else 1),
     ["input_size=96", "512×3×3"]),
    ("in-channels-not-updated", _reader(update=False), ["Conv2d(64 → 128", "更新 in_channels"]),
    ("no-flatten", _reader(flatten=False), ["应是 Flatten"]),
    ("dropout-0.2", _reader(dropout=0.2), ["Dropout(0.5)", "Dropout(0.2)"]),
    ("1000-classes", _reader(classes=1000), ["Linear(4096 → 10)", "Linear(4096 → 1000)"]),
    ("no-relu-in-head", _reader(relu=False), ["应是 ReLU"]),
    ("custom-forward", _custom_forward, ["my_vgg(narrow(conv_arch, 4), input_size=32)", "输出却不同"]),
    ("no-error-when-too-small", _reader(guard=False), ["my_vgg(conv_arch, input_size=28)", "没有报错", "边长是 0",
                                                       "raise ValueError"]),
    ("no-input-size", lambda conv_arch: models.vgg(conv_arch), ["input_size", "def my_vgg(conv_arch, input_size=224)"]),
    ("raises", lambda conv_arch, input_size=224: {}["oops"], ["出错", "KeyError"]),
    ("returns-a-list", lambda conv_arch, input_size=224: list(models.vgg(conv_arch, input_size=input_size)),
     ["list", "nn.Sequential"]),
    ("forgets-return-later", lambda conv_arch, input_size=224: models.vgg(conv_arch) if input_size == 224 else None,
     ["input_size=96", "返回了 None"]),
    ("not-callable", "vgg", ["函数"]),
]


@pytest.mark.parametrize("name,fn,fragments", BUGGY, ids=[b[0] for b in BUGGY])
def test_wrong_code_gets_the_first_difference(capsys, name, fn, fragments):
    ok, out = _run(capsys, fn)
    assert ok is False and out.startswith("✘ 还不对：") and out.count("\n") == 1, out
    for fragment in fragments:
        assert fragment in out, f"{name}: {fragment!r} not in {out!r}"


def _placeholder(conv_arch, input_size=224):
    """VGG for 1-channel input_size x input_size images and 10 classes."""
    ...


@pytest.mark.parametrize("fn", [_placeholder, ..., None], ids=["function-body-...", "...", "None"])
def test_a_placeholder_is_not_answered_yet_for_the_task(capsys, fn):
    ok, out = _run(capsys, fn)
    assert ok is None and out.startswith(PLACEHOLDER) and out.count("\n") == 1 and "my_vgg" in out


def test_the_checker_covers_several_architectures_and_sizes():
    assert ex.VGG_SIZES == (224, 96, 32)
    archs = [a for _, a in ex.VGG_ARCHS]
    assert archs[0] == VGG11_ARCH and tuple(narrow(VGG11_ARCH, 4)) in archs
    assert len({len(a) for a in archs}) >= 2  # not only 5 blocks: a side of input_size // 32 is caught
    assert {label for label, _ in ex.VGG_FORWARD} <= {label for label, _ in ex.VGG_ARCHS}
    assert check_vgg.reference is models.vgg
    with pytest.raises(ValueError):  # the too-small case: the package's vgg refuses it too
        models.vgg(VGG11_ARCH, input_size=ex.TOO_SMALL)


def test_the_checker_leaves_the_readers_random_numbers_alone(capsys):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    check_vgg(models.vgg)
    assert torch.equal(torch.get_rng_state(), before)


# ---------------------------------------------------------------- the prose and the self-check answers

def _markdown() -> str:
    return notebook_markdown(NOTEBOOK)


def _convs(net):
    return sum(count_parameters(m) for m in net.modules() if isinstance(m, nn.Conv2d))


def test_the_share_quoted_in_the_prose():
    text, net = _markdown(), vgg(VGG11_ARCH)
    total, first, convs = count_parameters(net), count_parameters(_first_linear(net)), _convs(net)
    assert f"约 {round(100 * first / total)}% 的参数" in text and f"约 {round(100 * first / total)}% 在第一个全连接层" in text
    assert f"{convs:,}".replace(",", " ") + " 个，约 " + f"{round(100 * convs / total)}%" in text


def test_self_check_in_channels_not_updated():
    text = _markdown()
    forgets = _reader(update=False)(VGG11_ARCH)  # builds: each Conv2d only knows the channels it was given
    with pytest.raises(RuntimeError) as error:
        forgets(torch.zeros(1, 1, 224, 224))
    message = re.search(r"`(Given groups=1, weight of size[^`]*)`", text)
    assert message and message[1] in str(error.value), (str(error.value), message)
    assert "第 2 个块的第一个卷积层收到 64 个通道" in text


def test_self_check_rgb():
    text = _markdown()
    grey, rgb = vgg(VGG11_ARCH), vgg(VGG11_ARCH, in_channels=3)
    changed = [name for (name, p), (_, q) in zip(grey.named_parameters(), rgb.named_parameters()) if p.shape != q.shape]
    assert changed == ["0.0.weight"]
    extra = count_parameters(rgb) - count_parameters(grey)
    assert extra == 2 * 9 * 64 == 1152 and "1\\,152" in text
    assert f"从 {count_parameters(grey):,} 变为 {count_parameters(rgb):,}".replace(",", " ") in text


def test_the_folded_solution_does_what_the_task_asks(capsys):
    """W3: the solution has the task's signature, computes the side itself (no feature_size) and
    refuses an input too small for its blocks; the checker passes it."""
    code = solution_after(NOTEBOOK, "check_vgg(my_vgg)")
    assert "def my_vgg(conv_arch, input_size=224):" in code and "feature_size" not in code
    assert "input_size // 2 ** len(conv_arch)" in code
    namespace = {"nn": nn, "vgg_block": vgg_block}
    exec(code, namespace)
    my_vgg = namespace["my_vgg"]
    with pytest.raises(ValueError):
        my_vgg(VGG11_ARCH, input_size=31)
    for size in (32, 100, 224):
        assert my_vgg(VGG11_ARCH, input_size=size)[len(VGG11_ARCH) + 1].in_features == \
            512 * feature_size(VGG11_ARCH, size) ** 2
    assert check_vgg(my_vgg) is True, capsys.readouterr().out


def test_self_check_questions_are_exercises_with_folded_solutions():
    assert_self_check_is_folded(NOTEBOOK)


# ---------------------------------------------------------------- the notebook asks before it shows

GIVEAWAYS = {
    "vgg11-last-side-224": ["7×7", "* 7", "正是 7"],
    "vgg11-first-linear-share": ["0.798", "80%", "102,764,544"],
    "vgg11-min-input": ["至少要有 $2^5 = 32$", "32×32"],
}


def test_every_item_is_asked_before_the_notebook_shows_its_answer():
    assert_asked_before_answered(NOTEBOOK, GIVEAWAYS)


def test_the_task_comes_after_the_chapters_code_and_before_the_self_check():
    assert_task_between_the_code_and_the_self_check(NOTEBOOK, "check_vgg(my_vgg)", "def my_vgg(", "def vgg(")


@pytest.mark.parametrize("key", KEYS)
def test_checking_an_answer_leaves_the_random_numbers_alone(key):
    assert_check_leaves_the_random_numbers_alone(key)
