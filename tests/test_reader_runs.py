"""A learner's own run, in a real kernel: 04 trains (and records) the settings the learner typed, and every
notebook that trains runs to its end when a training is stopped before its first epoch."""
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow  # the full tier only (make test); make test-fast leaves it out

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ["04_training", "05_exercises", "06_inside_vgg", "07_vgg_wont_learn", "08_claims_measured"]

# Ctrl-C as a learner presses it, before the first step of every training: every training of the book
# goes through a `fit` (04's own, or vggbook.train.fit), whose steps call zero_grad; other callers
# (the exercise checkers) are left alone.
STOP_EVERY_TRAINING = """\
import sys, torch
_zero_grad = torch.optim.Optimizer.zero_grad
def _ctrl_c_in_fit(self, *args, **kwargs):
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "fit":
            raise KeyboardInterrupt
        frame = frame.f_back
    return _zero_grad(self, *args, **kwargs)
torch.optim.Optimizer.zero_grad = _ctrl_c_in_fit
"""


def execute(nb, folder: Path, **env):
    """Run `nb` on a fresh kernel in `folder` with the CI's smoke profile, retraining, and `env`."""
    saved = dict(os.environ)
    os.environ.update({"VGGBOOK_PROFILE": "smoke", "VGGBOOK_RETRAIN": "1",
                       "MPLBACKEND": "module://matplotlib_inline.backend_inline", **env})
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def errors(nb) -> list[str]:
    return [f"cell {i}: {o['ename']}: {o['evalue']}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def test_04_trains_and_records_what_the_learner_typed(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / "04_training.ipynb", as_version=4)
    settings = next(c for c in nb.cells if c.source.startswith("lr, num_epochs, batch_size, resize ="))
    settings.source = "lr, num_epochs, batch_size, resize = 0.02, 2, 64, 64"
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json; print('RECORD', json.dumps({**history.config.__dict__, 'label': history.label}))"))
    (tmp_path / "reader").mkdir()
    execute(nb, tmp_path / "reader")
    assert not errors(nb), errors(nb)
    record = json.loads(text(nb.cells[-1]).split("RECORD ", 1)[1])
    assert (record["resize"], record["epochs"], record["lr"], record["batch_size"]) == (64, 2, 0.02, 64)
    assert record["label"].endswith("[CPU, smoke]")
    trained = next(text(c) for c in nb.cells if "runs.announce(" in c.source)
    assert "vgg11/4 @64px, 2 ep" in trained and "粗估约" in trained  # what, where and how long, first
    assert not (tmp_path / "data").exists(), "04 wrote d2l's data although RUN_D2L is False"


@pytest.mark.parametrize("name", TRAINING)
def test_a_training_stopped_before_its_first_epoch_breaks_no_later_cell(name, tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(STOP_EVERY_TRAINING))
    cache = tmp_path / "home"
    cache.mkdir()
    execute(nb, tmp_path, HOME=str(cache))
    assert not errors(nb), errors(nb)
    stopped = sum("训练被中断" in text(c) for c in nb.cells)
    assert stopped, "no training was stopped: the notebook trains nothing under smoke and RETRAIN"
    assert not list(cache.rglob("*.safetensors")), "a stopped run's network was cached as a finished one"
