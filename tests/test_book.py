"""Build the Jupyter Book with warnings as errors and read the HTML like a reader would.

Slow (about a minute): select or skip it with `-m book` / `-m "not book"`. The book is built into a
temporary folder, so the repository's own _build is left alone.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["01_vgg_block", "02_vgg_network", "03_shape_trace", "04_training", "05_exercises", "06_inside_vgg",
             "07_vgg_wont_learn", "08_claims_measured", "09_faq"]
PAGES = ["book/intro", "book/summary", "book/performance", "book/engineering", "book/glossary", "book/references"] + [f"notebooks/{n}" for n in NOTEBOOKS]
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"

pytestmark = [pytest.mark.book, pytest.mark.slow]


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800)
    return proc, out / "_build" / "html"


def test_builds_without_warnings(build):
    proc, _ = build
    log = proc.stdout + proc.stderr
    warnings = [line for line in log.splitlines() if re.search(r"WARNING|ERROR", line)]
    assert proc.returncode == 0 and not warnings, "\n".join(warnings) or log[-3000:]


@pytest.mark.parametrize("page", PAGES)
def test_page_exists(build, page):
    _, html = build
    assert (html / f"{page}.html").is_file(), f"{page}.html was not built"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_page(build, name):
    _, html = build
    text = (html / "notebooks" / f"{name}.html").read_text(encoding="utf-8")
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    stored = sum("image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", []))
    assert text.count("<img") >= stored, f"{name}: {stored} figures stored, {text.count('<img')} on the page"
    assert "colab.research.google.com" in text, f"{name}: no Colab launch button"
    assert "Traceback" not in text, f"{name}: a traceback is shown on the page"
    assert not re.search(r'class="[^"]*\b(output_error|traceback)\b', text), f"{name}: an error output"


def test_bibliography(build):
    _, html = build
    text = (html / "book" / "references.html").read_text(encoding="utf-8")
    for author in ("Simonyan", "Zhang", "Krizhevsky", "Xiao", "Glorot", "Ioffe"):
        assert author in text, f"{author} is missing from the references"


@pytest.mark.parametrize("term,page", [("卷积", "notebooks/02_vgg_network"), ("卷积层", "notebooks/01_vgg_block"),
                                       ("感受野", "notebooks/01_vgg_block"),
                                       ("汇聚层", "notebooks/02_vgg_network"), ("迭代周期", "notebooks/04_training"),
                                       ("术语表", "book/glossary")])
def test_chinese_search_finds_the_books_terms(build, term, page):
    """The search index holds Chinese words (split by jieba), so searching 卷积 or 感受野 finds pages."""
    import json
    _, html = build
    text = (html / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    docs = index["docnames"]
    hits = set()
    for where in ("terms", "titleterms"):
        found = index[where].get(term)
        if found is None:
            continue
        hits.update(docs[i] for i in ([found] if isinstance(found, int) else found))
    assert page in hits, f"searching {term!r} does not find {page} (found: {sorted(hits)})"


def test_pages_load_no_script_from_the_internet(build):
    """Offline readers (a classroom, a train) get every formula: MathJax comes from the book itself."""
    _, html = build
    for page in PAGES:
        text = (html / f"{page}.html").read_text(encoding="utf-8")
        assert not re.search(r'<script[^>]*src="https?://', text), f"{page} loads a script from the internet"
        assert "_static/mathjax/" in text or "$" not in text
