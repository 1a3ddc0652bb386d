"""The chapter's `vgg_block`, as defined in notebooks/01_vgg_block.ipynb, agrees with vggbook's.

The notebook teaches the d2l-zh definition and then switches to `vggbook.vgg_block`; this test takes
the function's source out of the notebook JSON, runs it, and checks that both build the same layers
with the same parameter counts, so the switch changes nothing the reader has learnt.
"""
import ast
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from vggbook.models import vgg_block

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_vgg_block.ipynb"


def _notebook_vgg_block():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if source.lstrip().startswith("def vgg_block("):
            tree = ast.parse(source)
            assert [type(node) for node in tree.body] == [ast.FunctionDef], \
                "the notebook's vgg_block cell should hold only the function"
            namespace = {"nn": nn}
            exec(compile(tree, str(NOTEBOOK), "exec"), namespace)
            return namespace["vgg_block"]
    pytest.fail(f"no cell starting with 'def vgg_block(' in {NOTEBOOK.name}")


def _structure(block: nn.Sequential):
    return [repr(layer) for layer in block]


def _count(block: nn.Module) -> int:
    return sum(p.numel() for p in block.parameters())


@pytest.mark.parametrize("args", [(1, 1, 64), (2, 1, 64), (2, 64, 128), (3, 128, 256), (4, 256, 512),
                                  (1, 3, 16)])
def test_same_layers_and_parameters(args):
    chapter = _notebook_vgg_block()(*args)
    ours = vgg_block(*args)
    assert _structure(chapter) == _structure(ours)
    assert _count(chapter) == _count(ours)
    expected = sum(9 * c_in * args[2] + args[2] for c_in in [args[1]] + [args[2]] * (args[0] - 1))
    assert _count(ours) == expected


def test_same_output_for_the_same_weights():
    torch.manual_seed(0)
    chapter = _notebook_vgg_block()(2, 3, 8)
    ours = vgg_block(2, 3, 8)
    ours.load_state_dict(chapter.state_dict())
    X = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(chapter(X), ours(X))
