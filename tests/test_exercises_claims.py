"""The exercises of 08_claims_measured (vggbook.exercises.claims): the answers are the package's and the
records', right answers pass, typical wrong answers get the hint that names the mistake, placeholders
only say "not answered", and `check_gap_head` names the first problem of a wrong `my_gap_head`."""
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from vggbook import models, runs
from vggbook.exercises import PLACEHOLDER, check, check_gap_head, reference, winner

from exercise_helpers import (assert_asked_before_answered, assert_check_leaves_the_random_numbers_alone,
                              assert_self_check_is_folded, assert_wrong_with_hint, solution_after, verdict)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08_claims_measured.ipynb"
KEYS = ["08-guess-5x5", "08-side-28-3pools", "08-fc1-params-28", "08-gap-params"]


def test_the_answers_are_the_packages_and_the_records():
    net = models.build("vgg11", ratio=4, input_size=28, pools=3)
    with torch.no_grad():
        assert reference("08-side-28-3pools") == net[:5](torch.zeros(1, 1, 28, 28)).shape[-1] == 3
    assert reference("08-fc1-params-28") == 128 * 3 * 3 * 4096 + 4096
    assert reference("08-gap-params") == 128 * 10 + 10
    acc = {a: [runs.recorded(replace(runs.ARMS[a], seed=s), "cpu").test_acc for s in runs.SEEDS]
           for a in ("B", "B-5x5")}
    expected = ("B" if min(acc["B"]) > max(acc["B-5x5"]) else
                "B-5x5" if min(acc["B-5x5"]) > max(acc["B"]) else "差不多")
    assert reference("08-guess-5x5") == winner("B", "B-5x5") == expected


@pytest.mark.parametrize("key", KEYS)
def test_the_right_answer_passes(key, capsys):
    ok, out = verdict(capsys, check, key, reference(key))
    assert ok is True and out.startswith("✔")


@pytest.mark.parametrize("key", KEYS)
def test_a_placeholder_only_says_not_answered(key, capsys):
    ok, out = verdict(capsys, check, key, ...)
    assert ok is None and out.startswith(PLACEHOLDER) and "✔" not in out and "✘" not in out


def test_a_wrong_guess_is_told_to_look_at_the_measurement(capsys):
    wrong = next(a for a in ("B", "B-5x5", "差不多") if a != reference("08-guess-5x5"))
    assert_wrong_with_hint(capsys, "08-guess-5x5", wrong, "先把理由记下来")
    assert_wrong_with_hint(capsys, "08-guess-5x5", "the 3x3 one", "请填")


WRONG = [
    ("08-side-28-3pools", 4, "向下取整"),
    ("08-side-28-3pools", 7, "减半三次"),
    ("08-side-28-3pools", 1, "后两个块只做卷积"),
    ("08-side-28-3pools", 28, "偏大"),
    ("08-side-28-3pools", "3", "整数"),
    ("08-fc1-params-28", 128 * 9 * 4096, "偏置"),
    ("08-fc1-params-28", 128 * 49 * 4096 + 4096, "不是 7"),
    ("08-fc1-params-28", 512 * 9 * 4096 + 4096, "完整宽度"),
    ("08-fc1-params-28", 1000, "偏小"),
    ("08-gap-params", 1280, "偏置"),
    ("08-gap-params", 128 * 9 * 10 + 10, "与边长无关"),
    ("08-gap-params", 10, "偏小"),
]


@pytest.mark.parametrize("key,answer,phrase", WRONG)
def test_a_wrong_answer_gets_the_hint_for_its_mistake(key, answer, phrase, capsys):
    assert_wrong_with_hint(capsys, key, answer, phrase)


# --- write it yourself: my_gap_head -----------------------------------------------------------

def _max_head(c, k):
    return nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(c, k))


def _flat_head(c, k):
    return nn.Sequential(nn.Flatten(), nn.Linear(c * 9, k))


def _no_flatten(c, k):
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Linear(c, k))


def _two_layers(c, k):
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 64), nn.ReLU(), nn.Linear(64, k))


def _forgot_return(c, k):
    nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, k))


HEADS = [
    (_max_head, "最大值"),
    (_flat_head, "应是 128 → 10"),
    (_no_flatten, "展平"),
    (_two_layers, "有 2 个全连接层"),
    (lambda c, k: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(k, c)), "应是 128 → 10"),
    (lambda c, k: 1 / 0, "ZeroDivisionError"),
    (lambda c, k: [nn.Linear(c, k)], "nn.Module"),
]


@pytest.mark.parametrize("head,phrase", HEADS)
def test_a_wrong_head_is_named(head, phrase, capsys):
    ok, out = verdict(capsys, check_gap_head, head)
    assert ok is False and out.startswith("✘") and phrase in out, out


def test_the_reference_head_and_a_hand_written_one_pass(capsys):
    ok, out = verdict(capsys, check_gap_head, check_gap_head.reference)
    assert ok is True

    def mine(channels, num_classes):
        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(channels, num_classes)

            def forward(self, X):
                return self.fc(X.mean(dim=(2, 3)))
        return Head()
    ok, out = verdict(capsys, check_gap_head, mine)
    assert ok is True, out


def test_an_unwritten_head_only_says_not_answered(capsys):
    for answer in (..., None, _forgot_return):
        ok, out = verdict(capsys, check_gap_head, answer)
        assert ok is None and out.startswith(PLACEHOLDER) and "return" in out


def test_the_check_leaves_the_random_numbers_alone():
    assert_check_leaves_the_random_numbers_alone("08-fc1-params-28")
    state = torch.random.get_rng_state()
    check_gap_head(check_gap_head.reference)
    assert torch.equal(state, torch.random.get_rng_state())


# --- the notebook -----------------------------------------------------------------------------

def test_each_question_is_asked_before_the_notebook_answers_it():
    assert_asked_before_answered(NOTEBOOK, {
        "08-guess-5x5": ["两者的范围不重叠，B-5x5 高"],
        "08-side-28-3pools": ["28→14→7→3"],
        "08-fc1-params-28": ["4,722,688"],
        "08-gap-params": ["1,290 个参数"],
    })


def test_the_self_check_is_folded():
    assert_self_check_is_folded(NOTEBOOK)


def test_the_folded_solution_passes(capsys):
    namespace = {"nn": nn}
    exec(solution_after(NOTEBOOK, "check_gap_head(my_gap_head)"), namespace)
    ok, out = verdict(capsys, check_gap_head, namespace["my_gap_head"])
    assert ok is True, out
