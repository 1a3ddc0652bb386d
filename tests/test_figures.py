"""Every stored figure's smallest text is at least 9 px tall when the book is read on a phone.

scripts/render_notebooks.py stamps each figure's PNG with the smallest font size drawn in it and the
dpi it was drawn at. A figure W px wide is shown at its own size where the column is wider, and
scaled down to the column where it is not: on a phone 412 px wide the book's column is
PHONE_COLUMN_PX wide (measured in Chromium with the book's theme). So the smallest text on a phone
is  pt * dpi / 72 * min(1, PHONE_COLUMN_PX / W)  pixels high (font size in px: the em box).
"""
import base64
import json
import struct
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PHONE_COLUMN_PX = 380      # the article column at a 412 px wide viewport (see the module docstring)
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


def phone_px(font_pt: float, dpi: float, width: int) -> float:
    """How tall text of `font_pt` drawn at `dpi` is on a phone, in a figure `width` px wide."""
    return font_pt * dpi / 72 * min(1.0, PHONE_COLUMN_PX / width)


def _figures():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            for out in cell.get("outputs", []):
                png = out.get("data", {}).get("image/png")
                if png:
                    yield f"{path.stem} cell {i}", base64.b64decode(png)


FIGURES = list(_figures())


def test_the_notebooks_have_figures():
    assert len(FIGURES) > 20


@pytest.mark.parametrize("where,png", FIGURES, ids=[w for w, _ in FIGURES])
def test_figure_text_is_readable_on_a_phone(where, png):
    width, meta = png_info(png)
    assert "vggbook-smallest-font-pt" in meta, (
        f"{where}: the figure has no font stamp: re-render it with scripts/render_notebooks.py")
    if meta["vggbook-smallest-font-pt"] == "none":
        return  # no text in it
    pt, dpi = float(meta["vggbook-smallest-font-pt"]), float(meta["vggbook-dpi"])
    px = phone_px(pt, dpi, width)
    assert px >= SMALLEST_PX, (
        f"{where}: its smallest text ({pt:g} pt at {dpi:g} dpi in a {width} px wide figure) is {px:.1f} px "
        f"on a phone, under {SMALLEST_PX:g} px: use a larger font or a narrower figure (figsize)")


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
