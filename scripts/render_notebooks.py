"""Re-render the committed notebooks in place: each notebooks/*.ipynb, in sorted order, on a fresh kernel.

The outputs stored in the notebooks are what the book shows and what nbval compares against, so they
must come from the recorded full-profile runs: VGGBOOK_RETRAIN is removed from the environment, and
the training cells load the recorded results shipped in vggbook/results/ instead of training.

Usage (from the repository root):  .venv/bin/python tools/render_notebooks.py [NOTEBOOK ...]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT_S = 3600  # per cell: generous, so a slow machine still finishes (training is loaded, not run)


def render(path: Path) -> float:
    """Execute one notebook on a fresh python3 kernel (cwd = notebooks/) and write it back in place."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    os.environ.pop("VGGBOOK_RETRAIN", None)    # the kernels inherit this environment
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures into outputs
    paths = [Path(a).resolve() for a in argv] or sorted(NOTEBOOKS.glob("*.ipynb"))
    total = 0.0
    for path in paths:
        print(f"{path.relative_to(ROOT)} ...", end=" ", flush=True)
        seconds = render(path)
        total += seconds
        print(f"{seconds:.1f} s", flush=True)
    print(f"rendered {len(paths)} notebook(s) in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
