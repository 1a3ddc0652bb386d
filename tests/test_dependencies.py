"""One list of what the package needs: pyproject.toml's dependencies. requirements.txt (which `make setup`
installs, with the package itself installed --no-deps) and environment.yml (which installs
requirements.txt) must carry each of them with the same version bounds."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _requirement(line: str) -> tuple[str, str]:
    """('name', 'specifier') of a requirement line, comments and environment markers left out."""
    line = line.split("#")[0].split(";")[0].strip()
    name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", line).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_requirements_carry_the_package_dependencies():
    package = dict(map(_requirement, tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]))
    lines = [l for l in (ROOT / "requirements.txt").read_text().splitlines() if l.split("#")[0].strip()]
    installed = dict(map(_requirement, lines))
    missing = {name: spec for name, spec in package.items() if installed.get(name) != spec}
    assert not missing, f"requirements.txt lacks (or bounds differently) pyproject's {missing}"


def test_the_conda_environment_installs_the_requirements():
    env = (ROOT / "environment.yml").read_text()
    assert "-r requirements.txt" in env and "-e ." in env
