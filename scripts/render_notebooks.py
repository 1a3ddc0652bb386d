"""Re-render the committed notebooks in place: each notebooks/*.ipynb, in sorted order, on a fresh kernel.

The outputs stored in the notebooks are what the book shows and what nbval compares against, so they
must come from the recorded full-profile runs: VGGBOOK_RETRAIN is removed from the environment, and
the training cells load the recorded results shipped in vggbook/results/ instead of training.

Every figure's PNG records, in its metadata, the smallest font it was drawn with and its dpi
(`vggbook-smallest-font-pt`, `vggbook-dpi`), so that tests/test_figures.py can check from the stored
notebooks that its text stays readable on a phone. The kernels get that stamp from an IPython startup
file (FIGURE_STAMP below): the notebooks and the package know nothing of it.

Usage (from the repository root):  .venv/bin/python scripts/render_notebooks.py [NOTEBOOK ...]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT_S = 3600  # per cell: generous, so a slow machine still finishes (training is loaded, not run)

# Runs in each kernel before the notebook: before a figure is written as PNG, draw it once and note
# the font sizes of the text actually drawn; the smallest goes into the PNG's text metadata.
FIGURE_STAMP = """
import matplotlib.backend_bases, matplotlib.text
_drawn = []
_text_draw = matplotlib.text.Text.draw
def _draw(self, renderer):
    if _drawn and self.get_visible() and self.get_text().strip():
        _drawn[-1].append(self.get_fontsize())
    return _text_draw(self, renderer)
matplotlib.text.Text.draw = _draw
_print_figure = matplotlib.backend_bases.FigureCanvasBase.print_figure
def _stamped(self, filename, *args, **kwargs):
    if kwargs.get("format") == "png":
        _drawn.append([])
        try:
            self.figure.canvas.draw()
        finally:
            sizes = _drawn.pop()
        dpi = kwargs.get("dpi") or self.figure.dpi
        kwargs["metadata"] = {**(kwargs.get("metadata") or {}), "vggbook-dpi": f"{float(dpi):g}",
                              "vggbook-smallest-font-pt": f"{min(sizes):g}" if sizes else "none"}
    return _print_figure(self, filename, *args, **kwargs)
matplotlib.backend_bases.FigureCanvasBase.print_figure = _stamped
"""


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
    ipython_dir = tempfile.mkdtemp(prefix="vggbook-render-")  # the kernels' IPython profile: the stamp
    startup = Path(ipython_dir) / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-figure-stamp.py").write_text(FIGURE_STAMP)
    os.environ["IPYTHONDIR"] = ipython_dir
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
