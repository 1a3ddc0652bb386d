"""A reader's copy: notebook 04 alone in an empty folder, with vggbook installed from a wheel (not the
checkout) and nothing set but the local data folder and the CI profile. Slow-ish (about 30 s)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow  # the full tier only (make test); make test-fast leaves it out

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"  # build from a copy: setuptools writes build/ next to the sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "vggbook", src / "vggbook", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp / "wheel"), str(src)], check=True, capture_output=True)
    wheel = next((tmp / "wheel").glob("vggbook-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp / "site"),
                    str(wheel)], check=True, capture_output=True)
    return tmp / "site"


def test_wheel_ships_the_records(installed):
    pkg = installed / "vggbook"
    assert (pkg / "runs.py").is_file() and not (pkg / "tools").exists()  # the benchmark stays out
    assert len(list((pkg / "results" / "full").glob("*.json"))) >= 10
    assert list((pkg / "results" / "cpu").glob("*.json")), "the CPU records are not in the wheel"
    assert list((pkg / "results" / "cpu").glob("*.safetensors")), "the recorded weights are not in the wheel"


def test_notebook_04_runs_from_an_empty_folder(installed, tmp_path):
    folder = tmp_path / "reader"
    folder.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "04_training.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import vggbook; print('VGGBOOK_FROM', vggbook.__file__)"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VGGBOOK_")}
    env.update(PYTHONPATH=str(installed), VGGBOOK_DATA=os.environ["VGGBOOK_DATA"], VGGBOOK_PROFILE="smoke",
               VGGBOOK_RETRAIN="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this environment
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert f"VGGBOOK_FROM {installed}" in last, last
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
