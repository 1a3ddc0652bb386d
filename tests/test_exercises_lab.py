"""The exercises of 07_vgg_wont_learn (vggbook.exercises.lab): the answers are the package's, computed the way
the notebook measures; right answers pass, typical wrong answers get the hint that names the mistake,
placeholders only say "not answered", and the notebook asks each before it shows the answer."""
import json
import re
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from vggbook import exercises, loader
from vggbook.exercises import PLACEHOLDER, check, lab, reference
from vggbook.runs import LAB_BN, LAB_HE, LAB_XAVIER, make_model

from exercise_helpers import (assert_asked_before_answered, assert_check_leaves_the_random_numbers_alone,
                              assert_wrong_with_hint, notebook_markdown, verdict)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_vgg_wont_learn.ipynb"
KEYS = ["07-xavier-12-layers", "07-init-signal"]


def _code_cells():
    return ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "code"]


def test_the_items_are_registered_and_documented():
    assert all(key in exercises.ITEMS and key in lab.__doc__ for key in KEYS)


def test_the_theory_is_the_networks():
    """(1/sqrt 2) per layer, over the layers between the first and the last conv of 07's narrow VGG-16."""
    convs = [m for m in make_model(LAB_XAVIER).modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 13
    assert reference("07-xavier-12-layers") == pytest.approx(0.5 ** ((len(convs) - 1) / 2)) == 1 / 64


@pytest.mark.slow
def test_the_largest_signal_is_the_notebooks_measurement(fmnist):
    """The item measures conv13 the way the notebook's own `layer_stats` does (taken out of the notebook)."""
    source = next(s for s in _code_cells() if s.startswith("def layer_stats("))
    namespace = {"nn": nn, "pd": pd, "torch": torch}
    exec(compile(source, str(NOTEBOOK), "exec"), namespace)
    X, y = loader.resize_batch(fmnist.train_images[:128], 32), fmnist.train_labels[:128]
    measured = {name: namespace["layer_stats"](make_model(cfg), X, y).loc["conv13", "signal"]
                for name, cfg in {"Xavier": LAB_XAVIER, "He": LAB_HE, "Xavier + BN": LAB_BN}.items()}
    for name, cfg in lab.STARTS.items():
        assert lab.conv13_signal(cfg) == pytest.approx(measured[name], rel=1e-4)
    assert reference("07-init-signal") == max(measured, key=measured.get) == "Xavier + BN"


@pytest.mark.parametrize("key", KEYS)
def test_the_right_answer_passes(key, capsys):
    ok, out = verdict(capsys, check, key, reference(key))
    assert ok is True and out.startswith("✔")


def test_the_answer_can_be_written_as_the_reader_would(capsys):
    for answer in (2 ** -6, (0.5 ** 0.5) ** 12, 1 / 64):
        assert verdict(capsys, check, "07-xavier-12-layers", answer)[0] is True
    for answer in ("xavier+bn", "Xavier+BN", " xavier + bn "):
        assert verdict(capsys, check, "07-init-signal", answer)[0] is True


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("placeholder", [..., None])
def test_a_placeholder_only_says_not_answered(key, placeholder, capsys):
    ok, out = verdict(capsys, check, key, placeholder)
    assert ok is None and out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out


WRONG = [
    ("07-xavier-12-layers", 1, "没有考虑 ReLU"),
    ("07-xavier-12-layers", 0.5 ** 12, "标准差只乘以"),
    ("07-xavier-12-layers", 0.5 ** 6.5, "隔着 12 层"),
    ("07-xavier-12-layers", 0.71, "这是一层的倍数"),
    ("07-xavier-12-layers", 0.5, "这是一层的倍数"),
    ("07-xavier-12-layers", 0.0156, "直接写出算式"),
    ("07-xavier-12-layers", 0.3, "偏大"),
    ("07-xavier-12-layers", 1e-9, "偏小"),
    ("07-xavier-12-layers", "1/64", "写一个数"),
    ("07-init-signal", "He", "零填充"),
    ("07-init-signal", "xavier", "没有考虑 ReLU"),
    ("07-init-signal", "BN", "请填"),
    ("07-init-signal", 2, "请填"),
]


@pytest.mark.parametrize("key,answer,phrase", WRONG, ids=lambda x: str(x)[:30])
def test_a_wrong_answer_gets_the_hint_for_its_mistake(key, answer, phrase, capsys):
    assert_wrong_with_hint(capsys, key, answer, phrase)


def test_the_checks_leave_the_random_numbers_alone():
    for key in KEYS:
        assert_check_leaves_the_random_numbers_alone(key)


# --- the notebook -----------------------------------------------------------------------------

def test_each_question_is_asked_before_the_notebook_answers_it():
    assert_asked_before_answered(NOTEBOOK, {
        "07-xavier-12-layers": [f"只剩 {Fraction(reference('07-xavier-12-layers')).limit_denominator()}"],
        "07-init-signal": ["信号从 conv2 起保持在"],
    })


def test_the_predictions_come_before_the_measurement():
    code = _code_cells()
    asked = [i for i, s in enumerate(code) if re.search(r'^check\("07-', s, re.M)]
    measured = next(i for i, s in enumerate(code) if s.startswith("LAB = {"))
    assert len(asked) == 2 and max(asked) < measured


def test_the_stored_outputs_say_not_answered():
    """What the book shows (and nbval compares) is the placeholder line, never a verdict."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    outputs = "\n".join("".join(o.get("text", "")) for c in cells if c["cell_type"] == "code"
                        for o in c.get("outputs", []))
    assert outputs.count(PLACEHOLDER) == 2 and "✔" not in outputs and "✘" not in outputs
    assert "1/64" in notebook_markdown(NOTEBOOK)
