"""The core (01-05) stays a two-hour sitting: a budget on what the notebooks ask a learner to read and do.

The counts follow one simple model, the same for every notebook: Han characters of the markdown cells,
split into what a reader sees and what sits folded in a solution; a check cell is a code cell that calls
check(...) or a quiz; a task is a code cell that calls a check_<name>(...) checker. Minutes are
visible/200 + folded/400 + 2.5 per check + 10 per task. Text added to the core has to be paid for by
text taken out.
"""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CORE = ["01_vgg_block", "02_vgg_network", "03_shape_trace", "04_training", "05_exercises"]
EXTENSIONS = ["06_inside_vgg", "07_vgg_wont_learn", "08_claims_measured"]
HAN = re.compile(r"[\u4e00-\u9fff]")
FOLDED = re.compile(r"```\{solution-start\}.*?```\{solution-end\}\s*```|<details>.*?</details>"
                    r"|:::\{solution[^\n]*\n.*?\n:::|```\{solution[^\n]*\n.*?\n```", re.S)
CHECK = re.compile(r"\bcheck\(|display_quiz\(|\bquiz\(")
TASK = re.compile(r"\bcheck_\w+\(")


def load(name: str) -> dict:
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    folded = sum(len(HAN.findall(m.group(0))) for m in FOLDED.finditer(text))
    load = {"visible": len(HAN.findall(text)) - folded, "folded": folded, "code_cells": len(code),
            "checks": sum(1 for c in code if CHECK.search(c)), "tasks": sum(1 for c in code if TASK.search(c))}
    load["minutes"] = load["visible"] / 200 + load["folded"] / 400 + 2.5 * load["checks"] + 10 * load["tasks"]
    return load


def test_the_core_fits_two_hours():
    loads = {name: load(name) for name in CORE}
    total = {key: sum(r[key] for r in loads.values()) for key in ("visible", "folded", "minutes", "checks", "tasks")}
    table = "\n".join(f"{n}: {r}" for n, r in loads.items())
    assert total["visible"] <= 7_000, table
    assert total["folded"] <= 4_000, table
    assert total["minutes"] <= 140, table
    assert total["checks"] + total["tasks"] >= 15, f"the core should keep at least 15 items\n{table}"


def test_training_keeps_to_its_lesson():
    r = load("04_training")
    assert r["visible"] <= 2_500 and r["code_cells"] <= 25, r


@pytest.mark.parametrize("name", EXTENSIONS)
def test_every_extension_asks_before_it_tells(name):
    assert load(name)["checks"] >= 2, f"{name}: want at least two predict-then-check items"
