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


# Terms the book does not use in its prose, and what it writes instead: d2l-zh's term where d2l-zh has one
# (图像增广, not 数据增强), otherwise the wording the language review settled on for a calque.
BANNED_TERMS = {
    "数据增强": "图像增广",
    "运行档位": "运行配置（profile）",
    "档位": "配置（如 `cpu` 配置）",
    "配方": "训练方案",
    "版本钉": "依赖版本约束",
    "账本": "逐层统计",
    "总账": "合计",
    "核函数": "CUDA 内核（kernel）",
    "叶子层": "最底层模块",
}
# 配方 also occurs inside 分配方式, 分配方案, 搭配方法…: only the word itself is banned.
TERM = {term: re.compile(r"(?<![分搭支])配方" if term == "配方" else re.escape(term)) for term in BANNED_TERMS}


@pytest.mark.parametrize("where,text", list(_texts()), ids=lambda x: x if isinstance(x, str) and len(x) < 80 else "")
def test_terminology(where, text):
    hits = [f"「{term}」→「{BANNED_TERMS[term]}」: …{text[max(m.start() - 12, 0):m.end() + 12]}…".replace("\n", "⏎")
            for term, pattern in TERM.items() for m in pattern.finditer(text)]
    assert not hits, f"{where}: write the book's term instead: {hits[:5]}"


def test_the_terminology_check_catches_a_banned_term():
    assert TERM["配方"].search("本章的配方") and not TERM["配方"].search("显存的分配方式")
    assert TERM["数据增强"].search("不做数据增强") and not TERM["数据增强"].search("不做图像增广")
