"""What the exercise tests of every notebook share: a checker's verdict and a wrong answer's hint."""
from vggbook.exercises import check, reference


def verdict(capsys, fn, *args):
    """(what fn returned, what it printed)."""
    result = fn(*args)
    return result, capsys.readouterr().out


def assert_wrong_with_hint(capsys, key, answer, phrase):
    """`answer` is refused with a hint that contains `phrase` and never gives the answer away."""
    ok, out = verdict(capsys, check, key, answer)
    assert ok is False and out.startswith("✘"), out
    assert phrase in out, out
    expected = reference(key)
    if isinstance(expected, int):
        assert str(expected) not in out and f"{expected:,}" not in out
    elif isinstance(expected, float):
        assert f"{expected:.2f}" not in out
    elif isinstance(expected, tuple):
        assert str(expected) not in out
