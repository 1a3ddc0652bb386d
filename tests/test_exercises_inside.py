"""The exercises of 06_inside_vgg (vggbook.exercises.inside): the answers are the record's and the network's,
right answers pass, typical wrong answers get the hint that names the mistake, placeholders only say
"not answered", the notebook asks before it shows, and its committed outputs show only placeholders."""
import json
from pathlib import Path

import pytest
import torch

from vggbook import data, models, runs
from vggbook.exercises import PLACEHOLDER, check, reference
from vggbook.exercises.inside import receptive_fields

from exercise_helpers import (assert_asked_before_answered, assert_check_leaves_the_random_numbers_alone,
                              assert_wrong_with_hint, verdict)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06_inside_vgg.ipynb"
KEYS = ["06-worst-class", "06-rf-block3"]


def test_the_worst_class_is_the_records(fmnist):
    preds = torch.tensor(runs.recorded(runs.INSIDE, "cpu").predictions)
    labels = fmnist.test_labels
    recall = torch.stack([(preds[labels == c] == c).float().mean() for c in range(10)])
    assert reference("06-worst-class") == data.CLASSES[recall.argmin()]


def test_the_receptive_fields_are_the_measured_ones():
    """The rule's sides are where the gradient of a block's centre unit is nonzero (the recorded weights,
    on 64 test-sized inputs of 64 px: large enough for block 3's field)."""
    assert receptive_fields()[:3] == [4, 10, reference("06-rf-block3")]
    features = runs.load_weights(runs.INSIDE, "cpu", "features")
    torch.manual_seed(0)
    X = torch.rand(64, 1, 64, 64, requires_grad=True)
    out = features[:3](X)
    h, w = out.shape[-2:]
    out[:, :, h // 2, w // 2].sum().backward()
    rows, cols = X.grad.abs().sum(dim=(0, 1)).nonzero(as_tuple=True)
    assert (rows.max() - rows.min() + 1).item() == (cols.max() - cols.min() + 1).item() == reference("06-rf-block3")


@pytest.mark.parametrize("key", KEYS)
def test_the_right_answer_passes(key, capsys):
    ok, out = verdict(capsys, check, key, reference(key))
    assert ok is True and out.startswith("✔")


@pytest.mark.parametrize("key", KEYS)
def test_a_placeholder_only_says_not_answered(key, capsys):
    for answer in (..., None):
        ok, out = verdict(capsys, check, key, answer)
        assert ok is None and out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out


WRONG = [
    ("06-worst-class", "bag", "外形独特"),
    ("06-worst-class", "trouser", "外形独特"),
    ("06-worst-class", "coat", "还有一个类别更糟"),
    ("06-worst-class", "t-shirt", "还有一个类别更糟"),
    ("06-worst-class", "衬衫", "英文类名"),
    ("06-worst-class", "jacket", "data.CLASSES"),
    ("06-worst-class", 6, "data.CLASSES"),
    ("06-rf-block3", 12, "j 要翻倍"),
    ("06-rf-block3", 9, "只数卷积层不够"),
    ("06-rf-block3", 10, "第 2 块"),
    ("06-rf-block3", 26, "汇聚层也算"),
    ("06-rf-block3", 22, "两个 3×3 卷积层"),
    ("06-rf-block3", 23, "别忘了汇聚层"),
    ("06-rf-block3", 32, "与输入的大小"),
    ("06-rf-block3", 150, "偏大"),
    ("06-rf-block3", 5, "偏小"),
    ("06-rf-block3", "30", "整数"),
]


@pytest.mark.parametrize("key,answer,phrase", WRONG)
def test_a_wrong_answer_gets_the_hint_for_its_mistake(key, answer, phrase, capsys):
    assert_wrong_with_hint(capsys, key, answer, phrase)


def test_a_check_leaves_the_random_numbers_alone():
    for key in KEYS:
        assert_check_leaves_the_random_numbers_alone(key)


def test_06_asks_before_it_shows_the_answer():
    assert_asked_before_answered(NOTEBOOK, {
        "06-worst-class": ["衬衫的召回率最低", "0.633"],
        "06-rf-block3": ["[4, 10, 30, 70, 150]", "4、10、30、70、150"],
    })


def test_06_is_committed_with_placeholders_only():
    """What the book shows and nbval compares: "not answered" under each check, never a verdict."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    checks = [c for c in cells if c["cell_type"] == "code" and "check(" in "".join(c["source"])]
    assert len(checks) == len(KEYS)
    for c in checks:
        out = "".join("".join(o.get("text", "")) for o in c["outputs"])
        assert out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out, out
