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


def notebook_cells(path):
    """(source, printed outputs) of every cell of the notebook at `path`."""
    import json
    from pathlib import Path
    for c in json.loads(Path(path).read_text(encoding="utf-8"))["cells"]:
        outputs = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                          for o in c.get("outputs", []))
        yield "".join(c["source"]), outputs


def assert_asked_before_answered(path, giveaways):
    """Every `check("key", ...)` of the notebook is asked before any of the strings in giveaways[key]
    (the answer written out) appears, and the answer does appear after it."""
    import re
    cells = list(notebook_cells(path))
    asked = {}
    for i, (source, _) in enumerate(cells):
        for key in re.findall(r'^check\("([^"]+)",', source, re.M):
            asked[key] = i
    assert sorted(asked) == sorted(giveaways), asked
    for key, i in asked.items():
        before = "\n".join(s + o for s, o in cells[:i])
        shown = [g for g in giveaways[key] if g in before]
        assert not shown, f"{key}: the notebook shows {shown} before it asks"
        after = "\n".join(s + o for s, o in cells[i + 1:])
        assert any(g in after for g in giveaways[key]), f"{key}: the notebook never shows the answer"


def assert_task_between_the_code_and_the_self_check(path, task_call, task_def, chapter_def):
    """The writing task (`task_call`, right after the learner's `task_def` stub) comes after the
    chapter's `chapter_def` and before the self-check quiz."""
    cells = [s for s, _ in notebook_cells(path)]
    task = next(i for i, s in enumerate(cells) if s.startswith(task_call))
    assert cells[task - 1].startswith(task_def) and "..." in cells[task - 1]
    assert task > next(i for i, s in enumerate(cells) if s.startswith(chapter_def))
    assert task < next(i for i, s in enumerate(cells) if s.startswith("## 自测题"))


def assert_check_leaves_the_random_numbers_alone(key):
    """The notebook's later cells draw the same random numbers whether or not the reader answered."""
    import torch
    for answer in (reference(key), 0):
        torch.manual_seed(7)
        before = torch.get_rng_state()
        check(key, answer)
        assert torch.equal(torch.get_rng_state(), before)


def notebook_markdown(path) -> str:
    """All markdown cells of the notebook at `path`, joined."""
    import json
    from pathlib import Path
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def assert_self_check_is_folded(path):
    """The self-check questions are unnumbered exercises (:nonumber:, so that sphinx-exercise's book-wide
    numbers still give 05_exercises the d2l exercise numbers its headings use), each with a dropdown
    solution, and they come after the summary."""
    import re
    text = notebook_markdown(path)
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)\n:nonumber:\n", text)
    assert 2 <= len(labels) <= 3 and len(labels) == text.count("```{exercise}")
    for label in labels:
        assert re.search(rf"```{{solution}} {label}\n:class: dropdown\n", text), label
    assert text.rindex("## 自测题") > text.rindex("## 小结")


def solution_after(path, cell_source_start: str) -> str:
    """The ```python block of the folded solution right after the code cell that starts so."""
    import json
    import re
    from pathlib import Path
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    i = next(k for k, c in enumerate(cells) if "".join(c["source"]).startswith(cell_source_start))
    solution = "".join(cells[i + 1]["source"])
    assert solution.startswith("<details>")
    return re.search(r"```python\n(.*?)```", solution, re.S)[1]
