"""Every stored figure's smallest text is at least 9 px tall when the book is read on a phone.

scripts/render_notebooks.py stamps each figure's PNG with the smallest font size drawn in it and the
dpi it was drawn at. A figure W px wide is shown at its own size where the column is wider, and
scaled down to the column where it is not. On a phone 412 px wide the book's column is
PHONE_COLUMN_PX wide, and a figure inside a folded solution (05's solution-start ... solution-end)
gets SOLUTION_COLUMN_PX (both measured in headless Chromium, device scale 1, with the book's theme).
So the smallest text on a phone is  pt * dpi / 72 * min(1, column / W)  pixels high (the em box).
"""
import base64
import json
import struct
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PHONE_COLUMN_PX = 364      # the article column at a 412 px wide viewport (see the module docstring)
SOLUTION_COLUMN_PX = 297   # ... inside a solution box there
SMALLEST_PX = 9.0


def png_info(data: bytes) -> tuple[int, dict[str, str]]:
    """(width in px, the PNG's tEXt/zTXt/iTXt metadata) of a PNG file's bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, width, text = 8, None, {}
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", body[:4])[0]
        elif kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            text[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            flag, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\0")   # language tag
            _, _, value = rest.partition(b"\0")  # translated keyword
            text[key.decode("utf-8")] = (zlib.decompress(value) if flag else value).decode("utf-8")
        pos += 12 + length
    return width, text


def phone_px(font_pt: float, dpi: float, width: int, column: int = PHONE_COLUMN_PX) -> float:
    """How tall text of `font_pt` drawn at `dpi` is on a phone, in a figure `width` px wide."""
    return font_pt * dpi / 72 * min(1.0, column / width)


def _figures():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        in_solution = False
        for i, cell in enumerate(cells):
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                in_solution = ("{solution-start}" in text or in_solution) and "{solution-end}" not in text
            for out in cell.get("outputs", []):
                png = out.get("data", {}).get("image/png")
                if png:
                    column = SOLUTION_COLUMN_PX if in_solution else PHONE_COLUMN_PX
                    yield f"{path.stem} cell {i}", base64.b64decode(png), column


FIGURES = list(_figures())


def test_the_notebooks_have_figures():
    assert len(FIGURES) > 20


@pytest.mark.parametrize("where,png,column", FIGURES, ids=[w for w, _, _ in FIGURES])
def test_figure_text_is_readable_on_a_phone(where, png, column):
    width, meta = png_info(png)
    assert "vggbook-smallest-font-pt" in meta, (
        f"{where}: the figure has no font stamp: re-render it with scripts/render_notebooks.py")
    if meta["vggbook-smallest-font-pt"] == "none":
        return  # no text in it
    pt, dpi = float(meta["vggbook-smallest-font-pt"]), float(meta["vggbook-dpi"])
    px = phone_px(pt, dpi, width, column)
    assert px >= SMALLEST_PX, (
        f"{where}: its smallest text ({pt:g} pt at {dpi:g} dpi in a {width} px wide figure, shown {column} px "
        f"wide) is {px:.1f} px on a phone, under {SMALLEST_PX:g} px: use a larger font or a narrower figure")


def test_the_rule_reads_the_stamp():
    import io
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3), dpi=100)
    ax.set_title("t", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"vggbook-smallest-font-pt": "8", "vggbook-dpi": "100"})
    plt.close(fig)
    width, meta = png_info(buf.getvalue())
    assert width == 700 and meta["vggbook-smallest-font-pt"] == "8"
    assert phone_px(8, 100, 700) < SMALLEST_PX <= phone_px(12, 100, 600)
    assert phone_px(12, 100, 600, SOLUTION_COLUMN_PX) < SMALLEST_PX  # a solution box is narrower
