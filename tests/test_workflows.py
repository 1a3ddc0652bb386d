"""The GitHub Actions workflows lint clean with actionlint (shellcheck off: not installed here)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> str:
    exe = Path(sys.executable).parent / "actionlint"
    found = str(exe) if exe.exists() else shutil.which("actionlint")
    if not found:
        pytest.fail("actionlint is not installed: `make setup` installs it from requirements.txt")
    return found


def test_there_are_workflows():
    assert WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_clean(path):
    proc = subprocess.run([_actionlint(), "-shellcheck=", "-pyflakes=", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_errors(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n")
    proc = subprocess.run([_actionlint(), "-shellcheck=", "-pyflakes=", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0


def test_gpu_job_runs_full_profile_nbval_and_compares():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    gpu = wf["jobs"]["gpu"]
    assert "self-hosted" in gpu["runs-on"] and "gpu" in gpu["runs-on"]
    steps = " ".join(s.get("run", "") for s in gpu["steps"])
    assert "bash tools/gpu_job.sh" in steps
    script = (ROOT / "tools" / "gpu_job.sh").read_text()
    assert "VGGBOOK_PROFILE=full" in script and "VGGBOOK_RETRAIN=1" in script
    assert "pytest notebooks --nbval" in script and "-m vggbook compare" in script
    labels = (ROOT / "README.md").read_text()
    assert all(label in labels for label in gpu["runs-on"])


@pytest.mark.parametrize("script", sorted((ROOT / "tools").glob("*.sh")), ids=lambda p: p.name)
def test_tool_scripts_parse(script):
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_gpu_session_rejects_an_unknown_part_before_running_anything(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "tools" / "gpu_session.sh"), "job", "benchh"],
                          capture_output=True, text=True, env={"OUT": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "unknown part 'benchh'" in proc.stderr
    assert not list(tmp_path.iterdir())
