"""The checking machinery shared by every notebook's exercises: items, `check`, and how it answers."""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

PLACEHOLDER = "还没有作答：把 ... 换成你的答案，再运行这个单元。"


@dataclass(frozen=True)
class Item:
    """One predict-then-check question."""
    question: str                          # the question, one line in Chinese (printed with "not answered")
    expected: Callable[[], object]         # computes the right answer from the package
    hint: Callable[[object, object], str]  # (answer, expected) -> a hint in Chinese for a wrong answer


ITEMS: dict[str, Item] = {}


def register(key: str, question: str, expected: Callable[[], object],
             hint: Callable[[object, object], str]) -> None:
    """Add an item (each notebook's module registers its own when the package is imported)."""
    if key in ITEMS:
        raise ValueError(f"exercise item {key!r} is registered twice")
    ITEMS[key] = Item(question, expected, hint)


def not_answered(answer) -> bool:
    return answer is None or answer is Ellipsis


def report(ok: bool, message: str = "") -> bool:
    """Print the verdict in one line: '✔ 正确' (and `message`), or '✘ 还不对：' and the hint."""
    print(f"✔ 正确。{message}" if ok else f"✘ 还不对：{message}")
    return ok


def same(answer, expected) -> bool:
    """Equal as the learner means it: shapes as tuples; counts exactly (a float such as 57.8e6 for a
    count of 10,000 or more: to 0.1 %); other numbers to 0.1 %; text without case or spaces."""
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.replace(" ", "").lower() == expected.replace(" ", "").lower()
    if isinstance(expected, (tuple, list)) or hasattr(expected, "__len__"):
        try:
            return tuple(answer) == tuple(expected)
        except TypeError:
            return False
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return False
    if isinstance(expected, int) and (isinstance(answer, int) or abs(expected) < 10_000):
        return float(answer).is_integer() and int(answer) == expected  # a count, exactly
    # a large count written as a float (57.8e6 FLOPs): right to 0.1 %
    return math.isclose(answer, expected, rel_tol=1e-3)


def check(key: str, answer) -> bool | None:
    """Check a prediction: True if right, False with a hint if not, None (one line) if not answered."""
    try:
        item = ITEMS[key]
    except KeyError:
        raise KeyError(f"no exercise item {key!r}: the items are {', '.join(ITEMS)}") from None
    if not_answered(answer):
        print(f"{PLACEHOLDER}（{item.question}）")
        return None
    expected = item.expected()
    if same(answer, expected):
        return report(True)
    return report(False, item.hint(answer, expected))


def reference(key: str):
    """The right answer of an item (for the tests, and for a reader who wants to compare)."""
    return ITEMS[key].expected()


def task(reference: Callable):
    """Mark a write-it-yourself checker with its reference solution (`checker.reference`), which the
    tests hand to the checker in place of the reader's code."""
    def mark(checker):
        checker.reference = reference
        return checker
    return mark


@contextlib.contextmanager
def small_work():
    """For the checker's tiny networks: one CPU thread (faster than several, even more so on a busy
    machine) and the notebook's random numbers left as they were. Both are restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.set_num_threads(threads)


def off(answer, expected, idea: str) -> str:
    """The fallback hint for a wrong number: '偏大' or '偏小', then the idea to go back to."""
    return f"{'偏大' if answer > expected else '偏小'}。{idea}"


def as_number(answer):
    """The answer as a float, or None if it is not a number."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return None
    return float(answer)
