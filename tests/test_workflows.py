"""The GitHub Actions workflows lint clean with actionlint (shellcheck off: not installed here), and the
GPU scripts in scripts/ call what the workflow and the project expect."""
import json
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
    assert "bash scripts/gpu_job.sh" in steps
    script = (ROOT / "scripts" / "gpu_job.sh").read_text()
    assert "VGGBOOK_PROFILE=full" in script and "VGGBOOK_RETRAIN=1" in script
    assert "pytest notebooks --nbval" in script and "-m vggbook compare" in script
    labels = (ROOT / "README.md").read_text()
    assert all(label in labels for label in gpu["runs-on"])


SCRIPTS = sorted((ROOT / "scripts").glob("*.sh"))


def test_there_are_scripts():
    assert {p.name for p in SCRIPTS} >= {"gpu_job.sh", "gpu_session.sh"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse(script):
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_gpu_session_calls_the_benchmark_script_and_the_record_command():
    script = (ROOT / "scripts" / "gpu_session.sh").read_text()
    for call in ('bench/bench.py --fresh', 'bench/bench.py --reference-epochs', 'bench/bench.py --ablation',
                 '-m vggbook record', 'bash scripts/gpu_job.sh', 'vggbook/results/full/'):
        assert call in script, call
    for gone in ("-m vggbook bench", "--missing", "--pending", "--only", "--results-dir", "tools/"):
        assert gone not in script.replace("../shared/tools/", ""), gone
    assert (ROOT / "bench" / "bench.py").is_file()


def test_gpu_session_rejects_an_unknown_part_before_running_anything(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_session.sh"), "job", "benchh"],
                          capture_output=True, text=True, env={"OUT": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "unknown part 'benchh'" in proc.stderr
    assert not list(tmp_path.iterdir())


def _gpu_job(runs_dir: Path) -> subprocess.CompletedProcess:
    """scripts/gpu_job.sh with PY=true: its folder checks and clean-up, no Python, no GPU, no training."""
    return subprocess.run(["bash", str(ROOT / "scripts" / "gpu_job.sh")], capture_output=True, text=True,
                          cwd=ROOT, env={"PY": "true", "VGGBOOK_RUNS_DIR": str(runs_dir), "PATH": "/usr/bin:/bin"})


def test_gpu_job_clears_an_earlier_jobs_runs_and_only_those(tmp_path):
    runs = tmp_path / "retrained"
    (runs / "full").mkdir(parents=True)
    (runs / ".vggbook-gpu-job").touch()
    for name in ("vgg11", "alexnet-lr0.01"):
        (runs / "full" / f"{name}.json").write_text("{}")
    proc = _gpu_job(runs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in runs.rglob("*")) == [".vggbook-gpu-job", "full"]


@pytest.mark.parametrize("stray", ["notes.txt", "full/keep.txt", "full/sub/x.json", "other/x.json"])
def test_gpu_job_deletes_nothing_in_a_folder_that_is_not_an_earlier_jobs(tmp_path, stray):
    runs = tmp_path / "retrained"
    (runs / "full").mkdir(parents=True)
    (runs / ".vggbook-gpu-job").touch()
    (runs / "full" / "vgg11.json").write_text("{}")
    (runs / stray).parent.mkdir(parents=True, exist_ok=True)
    (runs / stray).write_text("mine")
    proc = _gpu_job(runs)
    assert proc.returncode == 2 and "nothing was deleted" in proc.stderr
    assert (runs / "full" / "vgg11.json").exists() and (runs / stray).read_text() == "mine"


def test_gpu_job_deletes_nothing_without_its_mark(tmp_path):
    runs = tmp_path / "retrained"
    (runs / "full").mkdir(parents=True)
    (runs / "full" / "vgg11.json").write_text("{}")
    proc = _gpu_job(runs)
    assert proc.returncode == 2 and (runs / "full" / "vgg11.json").exists()


@pytest.mark.slow
def test_gpu_smoke_dry_runs_on_the_cpu(tmp_path):
    """The first script of a GPU session, run here on the CPU (fp32 only): it must not fail there first."""
    out = tmp_path / "smoke.json"
    proc = subprocess.run([sys.executable, "scripts/gpu_smoke.py", "--device", "cpu", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {c["check"]: c["passed"] for c in json.loads(out.read_text())["checks"]}
    assert checks == {"train fp32": True, "Ctrl-C keeps the finished epoch": True,
                      "a record reads back as the same run": True}
