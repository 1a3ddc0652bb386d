"""The chapter's code as the notebooks show it is the code the package runs.

01 defines `vgg_block`, 02 `vgg`, 04 `evaluate_accuracy` and `fit`, each in a cell of its own. This
test takes each definition out of the notebook JSON and checks that it is, statement for statement,
the package's function (docstrings, comments and line breaks aside), runs the notebook's vgg_block
against the package's, and checks that 04 trains with the `fit` it defines: a reader who edits it
sees the change.
"""
import ast
import inspect
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from vggbook import models, train

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SHOWN = [("01_vgg_block", models.vgg_block), ("02_vgg_network", models.vgg),
         ("04_training", train.evaluate_accuracy), ("04_training", train.fit)]


def _cell_defining(notebook: str, name: str) -> str:
    cells = json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    found = [("".join(c["source"])) for c in cells if c["cell_type"] == "code"
             and "".join(c["source"]).lstrip().startswith(f"def {name}(")]
    if len(found) != 1:
        pytest.fail(f"{notebook}: expected one code cell starting with 'def {name}(', found {len(found)}")
    tree = ast.parse(found[0])
    assert [type(node) for node in tree.body] == [ast.FunctionDef], \
        f"{notebook}: the cell defining {name} should hold only the function"
    return found[0]


def _normalised(source: str) -> str:
    """The function's AST without its docstring: what it does, not how it is laid out."""
    fn = ast.parse(inspect.cleandoc(source) if source.startswith(" ") else source).body[0]
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        fn.body = body[1:]
    return ast.dump(fn, annotate_fields=True, include_attributes=False)


@pytest.mark.parametrize("notebook,function", SHOWN, ids=lambda x: getattr(x, "__name__", x))
def test_notebook_shows_the_package_code(notebook, function):
    shown = _cell_defining(notebook, function.__name__)
    assert _normalised(shown) == _normalised(inspect.getsource(function)), (
        f"{notebook} shows a {function.__name__} that differs from vggbook's "
        f"({function.__module__}): copy the package's function into the notebook cell")


def test_a_changed_definition_is_caught():
    source = inspect.getsource(models.vgg_block).replace("kernel_size=3, padding=1", "kernel_size=5, padding=2")
    assert _normalised(source) != _normalised(inspect.getsource(models.vgg_block))


def _notebook_vgg_block():
    namespace = {"nn": nn}
    exec(compile(_cell_defining("01_vgg_block", "vgg_block"), "01_vgg_block", "exec"), namespace)
    return namespace["vgg_block"]


@pytest.mark.parametrize("args", [(1, 1, 64), (2, 1, 64), (2, 64, 128), (3, 128, 256), (4, 256, 512),
                                  (1, 3, 16)])
def test_same_layers_and_parameters(args):
    chapter = _notebook_vgg_block()(*args)
    ours = models.vgg_block(*args)
    assert [repr(layer) for layer in chapter] == [repr(layer) for layer in ours]
    expected = sum(9 * c_in * args[2] + args[2] for c_in in [args[1]] + [args[2]] * (args[0] - 1))
    assert sum(p.numel() for p in ours.parameters()) == expected


def test_same_output_for_the_same_weights():
    torch.manual_seed(0)
    chapter = _notebook_vgg_block()(2, 3, 8)
    ours = models.vgg_block(2, 3, 8)
    ours.load_state_dict(chapter.state_dict())
    X = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(chapter(X), ours(X))


@pytest.mark.slow
def test_04_trains_with_the_fit_it_defines(tmp_path):
    """Run 04's cells up to its training cell with an edited copy of its own `fit`: the edit shows."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(NOTEBOOKS / "04_training.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    fit_cell = next(c for c in code if c.source.lstrip().startswith("def fit("))
    fit_cell.source = fit_cell.source.replace(
        "    return rows", "    rows.append({'edited by the reader': True})\n    return rows")
    assert "edited by the reader" in fit_cell.source
    train_cell = next(i for i, c in enumerate(nb.cells) if "rows = fit(model" in c.source)
    nb.cells = [c for c in nb.cells[:train_cell + 1] if c.cell_type == "code" and "google.colab" not in c.source]
    nb.cells.append(nbformat.v4.new_code_cell("print('LAST ROW', rows[-1])"))
    for c in nb.cells:
        c.outputs = []
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "LAST ROW {'edited by the reader': True}" in out, out
