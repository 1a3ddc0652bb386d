"""Chinese text in the pages and markdown cells has no hard line breaks between two Chinese characters:
markdown turns such a break into a space, which shows up in the middle of a Chinese sentence."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
BREAK = re.compile(rf"{CJK}\n[ \t]*{CJK}")


def _texts():
    for page in sorted((ROOT / "book").glob("*.md")):
        yield page.relative_to(ROOT).as_posix(), page.read_text(encoding="utf-8")
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                yield f"{nb.relative_to(ROOT).as_posix()} cell {i}", "".join(cell["source"])


@pytest.mark.parametrize("where,text", list(_texts()), ids=lambda x: x if isinstance(x, str) and len(x) < 80 else "")
def test_no_break_between_chinese_characters(where, text):
    hits = [text[max(m.start() - 12, 0):m.end() + 12].replace("\n", "⏎") for m in BREAK.finditer(text)]
    assert not hits, f"{where}: a line break between Chinese characters shows as a space: {hits[:3]}"


def test_the_check_catches_a_break():
    assert BREAK.search("一个块\n由卷积层组成") and not BREAK.search("一个块由卷积层组成\n\n下一段")
