"""The exercises of 05_exercises (vggbook.exercises.table1): the right answers pass, the typical wrong
answers get the hint that names their mistake, and placeholders only say "not answered yet"."""
import pytest
import torch
import torchvision
from torch import nn

from vggbook import models
from vggbook.exercises import ITEMS, PLACEHOLDER, check, check_vgg16, check_vgg19, reference, table1

D = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))  # what the reader writes, from the paper
E = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
KEYS = ["05-vgg11-convs", "05-side-96", "05-in-features-96", "05-e-weight-layers", "05-vgg16-params",
        "05-quiz-why-slow", "05-quiz-min-size", "05-quiz-depth"]


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
    assert reference("05-vgg11-convs") == sum(n for n, _ in models.VGG11_ARCH) == 8
    assert reference("05-side-96") == 96 // 2 ** 5
    assert reference("05-in-features-96") == 128 * 3 * 3
    assert reference("05-e-weight-layers") == 19
    assert reference("05-vgg16-params") == sum(p.numel() for p in tv16.parameters())
    assert reference("05-quiz-min-size") == 2 ** 6


@pytest.mark.parametrize("key", KEYS)
def test_reference_passes_and_placeholder_only_says_not_answered(capsys, key):
    assert check(key, reference(key)) is True
    assert capsys.readouterr().out.startswith("✔")
    for placeholder in (..., None):
        assert check(key, placeholder) is None
        out = capsys.readouterr().out
        assert out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out


WRONG = [  # (key, wrong answer, a phrase of the hint the reader should get)
    ("05-vgg11-convs", 11, "3 个全连接层"),
    ("05-vgg11-convs", 5, "块的个数"),
    ("05-vgg11-convs", 3, "全部卷积层"),
    ("05-vgg11-convs", 13, "顶层形状追踪打印的行数"),
    ("05-vgg11-convs", 20, "偏大"),
    ("05-vgg11-convs", "8", "写一个整数"),
    ("05-side-96", 6, "减半 4 次"),
    ("05-side-96", 96, "输入的边长"),
    ("05-side-96", 7, "224 像素时的边长"),
    ("05-side-96", 1, "只有每个块末尾的汇聚层"),
    ("05-side-96", (3, 3), "只写边长"),
    ("05-side-96", 19, "偏大"),
    ("05-in-features-96", 512 * 3 * 3, "完整宽度"),
    ("05-in-features-96", 128 * 7 * 7, "224 像素时的值"),
    ("05-in-features-96", 512 * 7 * 7, "完整宽度的 VGG-11 在 224 像素"),
    ("05-in-features-96", 4096, "输出个数"),
    ("05-in-features-96", 128 * 3, "边长要平方"),
    ("05-in-features-96", 9, "乘上通道数"),
    ("05-in-features-96", 128, "特征图的面积"),
    ("05-in-features-96", 2000, "偏大"),
    ("05-e-weight-layers", 16, "3 个全连接层也带权重"),
    ("05-e-weight-layers", 3, "只是全连接层"),
    ("05-e-weight-layers", 5, "块的个数"),
    ("05-e-weight-layers", 24, "汇聚层没有权重"),
    ("05-e-weight-layers", 11, "配置 A"),
    ("05-e-weight-layers", 13, "配置 B"),
    ("05-e-weight-layers", 30, "偏大"),
    ("05-vgg16-params", 138_000_000, "精确到个"),
    ("05-vgg16-params", 1.38e8, "精确到个"),
    ("05-vgg16-params", 138_357_544 - 13_416, "漏掉了偏置"),
    ("05-vgg16-params", 138_357_544 - 2 * 64 * 9, "1 个输入通道"),
    ("05-vgg16-params", 134_301_514, "10 类"),
    ("05-vgg16-params", 14_714_688, "只算了卷积部分"),
    ("05-vgg16-params", 123_642_856, "只算了 3 个全连接层"),
    ("05-vgg16-params", 10 ** 9, "偏大"),
    ("05-vgg16-params", "138M", "写一个整数"),
    ("05-quiz-why-slow", "A", "显存随激活增长"),
    ("05-quiz-why-slow", "c", "作用在多大的特征图上"),
    ("05-quiz-why-slow", "D", "几乎不产生激活"),
    ("05-quiz-why-slow", "E", "一个字母"),
    ("05-quiz-why-slow", 2, "一个字母"),
    ("05-quiz-min-size", 32, "5 个块的下限"),
    ("05-quiz-min-size", 12, "2 的幂"),
    ("05-quiz-min-size", 128, "7 个块"),
    ("05-quiz-min-size", 48, "偏小"),
    ("05-quiz-depth", "A", "还没开始学"),
    ("05-quiz-depth", "B", "3×3"),
    ("05-quiz-depth", "D", "同样的 10 个迭代周期"),
    ("05-quiz-depth", "", "一个字母"),
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

