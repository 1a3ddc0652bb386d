"""The exercises of 05_exercises (vggbook.exercises.table1): the right answers pass, the typical wrong
answers get the hint that names their mistake, and placeholders only say "not answered yet"."""
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from vggbook import models
from vggbook.exercises import ITEMS, PLACEHOLDER, check, check_vgg16, check_vgg19, reference, table1

D = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))  # what the reader writes, from the paper
E = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
KEYS = ["05-hidden-convs", "05-quiz-why-slow", "05-params-saved-96", "05-vgg16-params"]
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05_exercises.ipynb"


def _verdict(capsys, fn, answer):
    result = fn(answer)
    return result, capsys.readouterr().out


# --- the items: computed answers -------------------------------------------------------------------

def test_the_items_are_registered():
    assert all(key in ITEMS and key in table1.__doc__ for key in KEYS)
    for key in KEYS:
        reference(key)  # computes without error


def test_the_computed_answers_are_the_books():
    """The answers come from the package; here they are checked against the chapter and torchvision."""
    with torch.device("meta"):
        tv16 = torchvision.models.vgg16(weights=None)
    assert reference("05-hidden-convs") == tuple(i for i, (n, _) in enumerate(models.VGG11_ARCH, 1) if n > 1) == (3, 4, 5)
    assert reference("05-params-saved-96") == 128 * (7 * 7 - 3 * 3) * 4096
    assert reference("05-vgg16-params") == sum(p.numel() for p in tv16.parameters())


@pytest.mark.parametrize("key", KEYS)
def test_reference_passes_and_placeholder_only_says_not_answered(capsys, key):
    assert check(key, reference(key)) is True
    assert capsys.readouterr().out.startswith("✔")
    for placeholder in (..., None):
        assert check(key, placeholder) is None
        out = capsys.readouterr().out
        assert out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out


WRONG = [  # (key, wrong answer, a phrase of the hint the reader should get)
    ("05-hidden-convs", 3, "元组"),
    ("05-hidden-convs", "3, 4, 5", "元组"),
    ("05-hidden-convs", (2, 3, 4), "编号从 1 数起"),
    ("05-hidden-convs", (1, 2, 3, 4, 5), "第 1 个块只有 1 个卷积层"),
    ("05-hidden-convs", (3, 4), "还漏了块"),
    ("05-hidden-convs", (3, 4, 5, 6, 7, 8), "只有 5 个块"),
    ("05-hidden-convs", (3.0, 4.0), "整数"),
    ("05-quiz-why-slow", "A", "显存随激活增长"),
    ("05-quiz-why-slow", "c", "作用在多大的特征图上"),
    ("05-quiz-why-slow", "D", "几乎不产生激活"),
    ("05-quiz-why-slow", "E", "一个字母"),
    ("05-quiz-why-slow", 2, "一个字母"),
    ("05-params-saved-96", 0, "第一个全连接层的输入个数"),
    ("05-params-saved-96", -128 * 40 * 4096, "正数"),
    ("05-params-saved-96", 22_121_802, "96 像素时的参数总数"),
    ("05-params-saved-96", 128 * 9 * 4096 + 4096, "96 像素时第一个全连接层"),
    ("05-params-saved-96", 128 * 49 * 4096 + 4096, "224 像素时第一个全连接层"),
    ("05-params-saved-96", 512 * 40 * 4096, "完整宽度"),
    ("05-params-saved-96", 128 * 4 * 4096, "边长要平方"),
    ("05-params-saved-96", 10 ** 9, "偏大"),
    ("05-params-saved-96", "20M", "写一个整数"),
    ("05-vgg16-params", 138_000_000, "精确到个"),
    ("05-vgg16-params", 1.38e8, "精确到个"),
    ("05-vgg16-params", 138_357_544 - 13_416, "漏掉了偏置"),
    ("05-vgg16-params", 138_357_544 - 2 * 64 * 9, "1 个输入通道"),
    ("05-vgg16-params", 134_301_514, "10 类"),
    ("05-vgg16-params", 14_714_688, "只算了卷积部分"),
    ("05-vgg16-params", 123_642_856, "只算了 3 个全连接层"),
    ("05-vgg16-params", 10 ** 9, "偏大"),
    ("05-vgg16-params", "138M", "写一个整数"),
]


@pytest.mark.parametrize("key,answer,phrase", WRONG, ids=lambda x: str(x)[:30])
def test_wrong_answers_get_their_hint(capsys, key, answer, phrase):
    assert check(key, answer) is False
    out = capsys.readouterr().out
    assert out.startswith("✘") and phrase in out, out
    expected = reference(key)
    if isinstance(expected, int) and expected >= 100:
        assert f"{expected:,}" not in out and str(expected) not in out, "the hint gives the answer"


def test_the_vgg16_hints_recognise_computed_mistakes(capsys):
    """The numbers above for 'forgot the biases' and '3x3 counted as 3' are the model's, not guesses."""
    with torch.device("meta"):
        net = models.build("vgg16", in_channels=3, num_classes=1000)
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert sum(m.bias.numel() for m in layers) == 13_416
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    as_3 = sum(m.weight.numel() // 3 + m.bias.numel() for m in convs) + sum(
        models.count_parameters(m) for m in layers if isinstance(m, nn.Linear))
    assert check("05-vgg16-params", as_3) is False
    assert "9 个权重" in capsys.readouterr().out


# --- write it yourself: VGG-16 and VGG-19 -----------------------------------------------------------

def test_the_references_are_table1_and_torchvision():
    assert check_vgg16.reference == D and check_vgg19.reference == E
    for arch, builder in ((D, torchvision.models.vgg16), (E, torchvision.models.vgg19)):
        with torch.device("meta"):
            ours, theirs = models.vgg(arch, in_channels=3, num_classes=1000), builder(weights=None)
        assert models.count_parameters(ours) == models.count_parameters(theirs)


@pytest.mark.parametrize("checker", [check_vgg16, check_vgg19])
def test_the_reference_passes(capsys, checker):
    assert checker(checker.reference) is True
    out = capsys.readouterr().out
    assert out.startswith("✔") and "逐层相同" in out


@pytest.mark.parametrize("checker", [check_vgg16, check_vgg19])
def test_a_list_of_lists_passes_too(capsys, checker):
    assert checker([list(pair) for pair in checker.reference]) is True


@pytest.mark.parametrize("checker", [check_vgg16, check_vgg19])
@pytest.mark.parametrize("placeholder", [..., None])
def test_placeholders_say_not_answered(capsys, checker, placeholder):
    assert checker(placeholder) is None
    out = capsys.readouterr().out
    assert out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out


WRONG_16 = [  # (the reader's vgg16_arch, a phrase of what the checker says)
    (models.VGG11_ARCH, "第 1 个块有 1 个卷积层，表 1 的 D 有 2 个（你写的是配置 A，即 VGG-11）"),
    (E, "第 3 个块有 4 个卷积层，表 1 的 D 有 3 个（你写的是配置 E，即 VGG-19）"),
    (((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)), "第 3 个块有 2 个卷积层，表 1 的 D 有 3 个（你写的是配置 B"),
    (((2, 64), (2, 128), (2, 256), (3, 512), (3, 512)), "第 3 个块有 2 个卷积层，表 1 的 D 有 3 个。"),
    (D[:4], "你写了 4 个块，表 1 的 D 有 5 个块"),
    (D + ((3, 512),), "你写了 6 个块"),
    (tuple(models.narrow(D, 4)), "第 1 个块的输出通道数是 16，表 1 的 D 是 64（这是本章窄版"),
    (D[:4] + ((3, 256),), "第 5 个块的输出通道数是 256，表 1 的 D 是 512。"),
    (tuple((w, n) for n, w in D), "顺序写反了"),
    (tuple(models.TABLE1["D"]), "卷积核大小"),
    (((2, 64.0),) + D[1:], "都应是整数"),
    (((0, 64),) + D[1:], "第 1 个块有 0 个卷积层"),
    ("vgg16", "你给的是 'vgg16'"),
    (16, "对组成的元组"),
    ((2, 64, 2, 128), "第 1 项 2 不是"),
    (((2, 64, 3),) + D[1:], "不是 (卷积层数, 输出通道数) 这样的一对数"),
]

WRONG_19 = [
    (D, "第 3 个块有 3 个卷积层，表 1 的 E 有 4 个（你写的是配置 D，即 VGG-16）"),
    (models.VGG11_ARCH, "第 1 个块有 1 个卷积层，表 1 的 E 有 2 个（你写的是配置 A，即 VGG-11）"),
    (((2, 64), (2, 128), (4, 256), (4, 512), (3, 512)), "第 5 个块有 3 个卷积层，表 1 的 E 有 4 个。"),
    (((4, 64), (4, 128), (4, 256), (4, 512), (4, 512)), "第 1 个块有 4 个卷积层，表 1 的 E 有 2 个。"),
    (E[:4], "你写了 4 个块，表 1 的 E 有 5 个块"),
    (tuple(models.narrow(E, 4)), "窄版"),
    (((2, 64), (2, 128), (4, 128), (4, 512), (4, 512)), "第 3 个块的输出通道数是 128，表 1 的 E 是 256"),
    (tuple((w, n) for n, w in E), "顺序写反了"),
    (tuple(models.TABLE1["E"]), "卷积核大小"),
]


@pytest.mark.parametrize("arch,phrase", WRONG_16, ids=lambda x: str(x)[:40])
def test_vgg16_names_the_first_difference(capsys, arch, phrase):
    assert check_vgg16(arch) is False
    out = capsys.readouterr().out
    assert out.startswith("✘") and phrase in out, out
    assert out.count("\n") == 1, "one line"


@pytest.mark.parametrize("arch,phrase", WRONG_19, ids=lambda x: str(x)[:40])
def test_vgg19_names_the_first_difference(capsys, arch, phrase):
    assert check_vgg19(arch) is False
    out = capsys.readouterr().out
    assert out.startswith("✘") and phrase in out, out


def test_an_error_in_building_is_reported_in_one_line(capsys, monkeypatch):
    """Whatever vgg() raises on the reader's arch is caught and named, not a traceback."""
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(models, "vgg", broken)
    assert check_vgg16(D) is False
    out = capsys.readouterr().out
    assert out.startswith("✘") and "构建网络时出错：RuntimeError: boom" in out and out.count("\n") == 1


def test_a_layer_difference_after_the_blocks_is_named(capsys, monkeypatch):
    """If the blocks agree but a layer differs (here: 5x5 convs), the checker names that layer."""
    real = models.vgg_block

    def five(num_convs, in_channels, out_channels):
        block = real(num_convs, in_channels, out_channels)
        block[0] = nn.Conv2d(in_channels, out_channels, kernel_size=5, padding=2)
        return block
    monkeypatch.setattr(models, "vgg_block", five)
    assert check_vgg16(D) is False
    out = capsys.readouterr().out
    assert "卷积部分的第 1 层" in out and "kernel_size=(5, 5)" in out, out



# --- the notebook ----------------------------------------------------------------------------------

def test_each_exercise_is_asked_before_the_notebook_answers_it():
    """One prediction per exercise of the chapter, each before the solution that gives it away."""
    from exercise_helpers import assert_asked_before_answered
    assert_asked_before_answered(NOTEBOOK, {
        "05-hidden-convs": ["第 3、4、5 个块中的第二个卷积层"],
        "05-quiz-why-slow": ["激活却是 3.08 倍"],
        "05-params-saved-96": ["20,971,520"],
        "05-vgg16-params": ["138,357,544"],
    })


def test_the_trace_line_count_the_prose_quotes():
    """05 says the top-level trace of PyTorch's VGG-11 prints 13 lines: one per top-level module."""
    from exercise_helpers import notebook_markdown
    assert len(models.vgg(models.VGG11_ARCH)) == 13
    assert "PyTorch 版本实际打印 13 行" in notebook_markdown(NOTEBOOK)
