"""The exercises in the notebooks, end to end: as committed (placeholders) each check says only "not
answered yet"; with the reference answers filled in, every check passes. The wrong-answer tables of
each notebook's checkers are in tests/test_exercises_<module>.py."""
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from vggbook import exercises

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHAPTERS = ["01_vgg_block", "02_vgg_network", "03_shape_trace", "04_training", "05_exercises", "08_claims_measured"]
PREDICT = re.compile(r'^(\s*)check\("([^"]+)",\s*(\w+)\)', re.M)
WRITE = re.compile(r"^(\s*)(check_\w+)\((\w+)\)", re.M)


def _checks(nb):
    """(predict items, write-it-yourself checks) in the notebook's code cells."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return PREDICT.findall(code), WRITE.findall(code)


def _with_references(nb):
    """The notebook with each answer replaced by the reference answer, just before its check."""
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        c.source = PREDICT.sub(lambda m: f'{m[1]}{m[3]} = __import__("vggbook.exercises", fromlist=["x"])'
                                         f'.reference("{m[2]}")\n{m[0]}', c.source)
        c.source = WRITE.sub(lambda m: f"{m[1]}{m[3]} = {m[2]}.reference\n{m[0]}", c.source)
    return nb


def _run(nb):
    env = dict(os.environ, VGGBOOK_RETRAIN="0")  # the recorded runs: the exercises are about the lesson
    old = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_asks_the_reader_to_predict(name):
    predict, write = _checks(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4))
    assert len(predict) >= 3, f"{name}: {len(predict)} predict-then-check items, want at least 3"
    assert all(key in exercises.ITEMS for _, key, _ in predict)


def test_enough_write_it_yourself_tasks():
    tasks = [w for name in CHAPTERS for w in _checks(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4))[1]]
    assert len(tasks) >= 5 and all(hasattr(getattr(exercises, f, None), "reference") for _, f, _ in tasks)


@pytest.mark.parametrize("name", CHAPTERS)
def test_committed_answers_are_placeholders(name):
    """The stored outputs (what the book shows, what nbval compares) say "not answered", never a verdict."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    outputs = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    predict, write = _checks(nb)
    assert outputs.count(exercises.PLACEHOLDER) >= len(predict) + len(write)
    assert "✔" not in outputs and "✘" not in outputs


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_reference_answers_pass_every_check(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    predict, write = _checks(nb)
    out = _run(_with_references(nb))
    assert "✘" not in out and exercises.PLACEHOLDER not in out, out[-3000:]
    assert out.count("✔") == len(predict) + len(write)
