"""The repository as a fresh clone gets it: no symbolic links, nothing tracked that .gitignore ignores
(a tracked .venv link made the README's first command fail on every new machine)."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None,
                                reason="not a git checkout")


def git(*args: str) -> list[str]:
    out = subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def test_no_symbolic_link_is_tracked():
    links = [line.split("\t", 1)[1] for line in git("ls-files", "-s") if line.startswith("120000 ")]
    assert not links, f"tracked symbolic links (they dangle on another machine): {links}"


def test_nothing_tracked_is_ignored():
    ignored = git("ls-files", "--cached", "--ignored", "--exclude-standard")
    assert not ignored, f"tracked, yet .gitignore ignores them: {ignored}"


@pytest.mark.parametrize("kind", ["folder", "link"])
def test_a_local_venv_is_ignored_as_a_folder_or_a_link(kind):
    assert git("check-ignore", "--no-index", ".venv" + ("/" if kind == "folder" else "")), \
        f".gitignore does not ignore a .venv {kind}"
