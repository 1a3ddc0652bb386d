"""Bad input and interruptions, through the CLI and the API: each gets a message that names the problem
and the fix, a non-zero exit (a traceback only with --traceback), and loses nothing already on disk."""
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vggbook.__main__ import main
from vggbook.runs import History, Settings, TrainConfig, TrainingDiverged, records, trainer
from vggbook.runs.history import RecordError

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ["train", "--arch", "vgg11", "--resize", "32", "--profile", "smoke", "--device", "cpu"]

# (CLI arguments, environment changes, what the one-line error must say)
CLI_CASES = [
    (SMOKE + ["--lr", "nan"], {}, "lr must be a finite number"),
    (SMOKE + ["--lr", "0"], {}, "lr must be positive (the chapter's is 0.05)"),
    (SMOKE + ["--lr", "-1"], {}, "lr must be a finite number >= 0, got -1"),
    (SMOKE + ["--arch", "vgg12"], {}, "unknown arch 'vgg12': choose one of vgg11"),
    (SMOKE[:3] + ["--resize", "16", "--profile", "smoke", "--device", "cpu"], {},
     "must be at least 32x32 px (got 16x16): resize the images to >= 32"),
    (["train", "--profile", "full", "--device", "cpu"], {}, "hours on this CPU"),
    (SMOKE, {"VGGBOOK_PROFILE": "fast"}, "VGGBOOK_PROFILE='fast' is not a run profile: use one of full, cpu, smoke"),
    (SMOKE, {"VGGBOOK_RETRAIN": "maybe"}, "VGGBOOK_RETRAIN='maybe' is neither yes nor no"),
    (SMOKE, {"VGGBOOK_DATA": "/nonexistent/fmnist"}, "the folder you named, /nonexistent/fmnist"),
    (["record"], {}, "this machine has none"),
    (["compare", "/nonexistent/runs"], {}, "no result files in /nonexistent/runs"),
]


@pytest.mark.parametrize("argv,env,message", CLI_CASES, ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_cli_bad_input_gets_one_clear_line(argv, env, message, monkeypatch, capsys):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code = main(argv)
    captured = capsys.readouterr()
    assert code != 0
    assert message in captured.err + captured.out
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("argv", [SMOKE + ["--epochs", "0"], SMOKE + ["--epochs", "-1"],
                                  SMOKE + ["--resize", "0"], SMOKE + ["--batch-size", "0"]])
def test_cli_rejects_non_positive_numbers_before_anything_runs(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_cli_error_is_one_line_in_a_real_process_and_traceback_on_request():
    env = {**os.environ, "VGGBOOK_PROFILE": "fast"}
    quiet = subprocess.run([sys.executable, "-m", "vggbook", "compare", "x"], env=env,
                           capture_output=True, text=True, cwd=ROOT)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert quiet.stderr.strip().splitlines()[0].startswith("error: VGGBOOK_PROFILE='fast'")
    loud = subprocess.run([sys.executable, "-m", "vggbook", "--traceback", "compare", "x"], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


def test_out_naming_a_folder_fails_before_training(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "outdir"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    monkeypatch.setattr(trainer, "train", lambda *a, **k: pytest.fail("trained before checking --out"))
    assert main(SMOKE + ["--out", str(folder)]) == 1
    assert "is a folder: give a file name" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["mine.txt"] and not list(tmp_path.glob("*.part"))


def _fit_then(stop):
    """A stand-in for the chapter's fit: one finished epoch, then `stop()`."""
    def fake_fit(net, train_iter, test_iter, num_epochs, optimizer, *, on_epoch=None, **kwargs):
        on_epoch({"epoch": 1, "loss": 2.0, "train_acc": 0.3, "test_acc": 0.3, "seconds": 1.0})
        stop()
    return fake_fit


def _interrupt():
    raise KeyboardInterrupt


def _sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("stop", [_interrupt, _sigterm], ids=["ctrl-c", "sigterm"])
def test_interrupt_keeps_the_complete_out_file(stop, tmp_path, fmnist, monkeypatch, capsys):
    out = tmp_path / "run.json"
    out.write_text('{"complete": true}')
    monkeypatch.setattr(trainer, "fit", _fit_then(stop))
    monkeypatch.setattr("vggbook.data.load_fashion_mnist", lambda root=None, **kw: fmnist)
    assert main(SMOKE + ["--out", str(out)]) == 130
    assert json.loads(out.read_text()) == {"complete": True}  # untouched
    partial = History.load(tmp_path / "run.interrupted.json")
    assert partial.interrupted and len(partial.epochs) == 1
    assert "is kept" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


def test_interrupt_before_any_epoch_writes_nothing(tmp_path, fmnist, monkeypatch, capsys):
    out = tmp_path / "run.json"
    monkeypatch.setattr(trainer, "fit", lambda *a, **k: _interrupt())
    monkeypatch.setattr("vggbook.data.load_fashion_mnist", lambda root=None, **kw: fmnist)
    assert main(SMOKE + ["--out", str(out)]) == 130
    assert not out.exists() and "nothing written" in capsys.readouterr().out


def test_divergence_still_writes_the_finished_epochs(tmp_path, fmnist, monkeypatch, capsys):
    out = tmp_path / "run.json"

    def nan():
        raise FloatingPointError("the training loss became nan at step 50 of epoch 2")
    monkeypatch.setattr(trainer, "fit", _fit_then(nan))
    monkeypatch.setattr("vggbook.data.load_fashion_mnist", lambda root=None, **kw: fmnist)
    assert main(SMOKE + ["--lr", "1000", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "became NaN or infinite in epoch 2" in err and "e.g. lr=0.05" in err and "lr=500" not in err
    h = History.load(out)
    assert h.diverged and len(h.epochs) == 1


def test_lower_lr_advice_is_sensible():
    assert trainer._lower_lr(1000) == "lr=0.05"
    assert trainer._lower_lr(0.2) == "lr=0.02"
    assert "positive number" in trainer._lower_lr(math.nan)


def test_a_run_stuck_at_chance_says_so():
    rows = [{"epoch": i, "loss": 4.9, "train_acc": 0.1, "test_acc": 0.1, "seconds": 1.0} for i in (1, 2, 3)]
    cfg = TrainConfig(lr=10, epochs=3).to_dict()
    h = History(config=cfg, run_config=cfg, profile="cpu", device="cpu", torch_version="x",
                date="2026-01-01", epochs=rows, train_images=10, test_images=10)
    assert "never left chance level" in h.summary()
    h.epochs[2].update(test_acc=0.6, loss=1.0)
    assert "first 2 epoch(s) stayed at chance level" in h.summary()


# ----- records: every way a record file can be wrong gets an error that names the file -------------
@pytest.fixture
def a_record(tmp_path):
    src = records.RESULTS_DIR / records.record_name(TrainConfig(resize=32))
    dst = tmp_path / src.name
    dst.write_text(src.read_text())
    return dst


def _edit(path: Path, change):
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))


@pytest.mark.parametrize("change,message", [
    (lambda p: p.write_text("{not json"), "is not a JSON run history"),
    (lambda p: p.write_text("[1, 2]"), "expected a JSON object"),
    (lambda p: _edit(p, lambda d: d.pop("epochs")), "'epochs' is missing"),
    (lambda p: _edit(p, lambda d: d["epochs"][0].update(loss="low")), "epoch row 1 should have"),
    (lambda p: _edit(p, lambda d: d["config"].update(arch="vgg12")), "a configuration this version cannot run"),
    (lambda p: _edit(p, lambda d: d["epochs"][-1].update(test_acc=0.99)), "does not match its digest"),
    (lambda p: _edit(p, lambda d: d.update(interrupted=True)), "interrupted"),
    (lambda p: _edit(p, lambda d: d.update(profile="smoke")), "smoke-profile run"),
    (lambda p: _edit(p, lambda d: d["epochs"].pop()), "9 epochs recorded for a finished run of 10"),
], ids=["json", "array", "schema", "epoch-type", "config", "edited", "interrupted", "smoke", "short"])
def test_bad_record_is_refused_by_name(a_record, change, message):
    change(a_record)
    with pytest.raises(RecordError) as e:
        records.find_record(TrainConfig(resize=32), a_record.parent)
    assert str(a_record) in str(e.value) and message in str(e.value)
    assert "git checkout" in str(e.value) or "Restore it" in str(e.value)


def test_untouched_record_is_served(a_record):
    h = records.find_record(TrainConfig(resize=32), a_record.parent)
    assert h.source == "recorded" and h.profile == "full"


def test_notebook_run_on_cpu_with_the_full_profile_warns_and_uses_cpu(monkeypatch, capsys):
    calls = {}

    def fake_train(cfg, *, profile, **kw):  # the decision only, not a 7-hour run
        calls["profile"] = profile
        return History(config=cfg.to_dict(), run_config=cfg.to_dict(), profile=profile, device="cpu",
                       torch_version="x", date="2026-01-01")
    monkeypatch.setattr(trainer, "train", fake_train)
    trainer.run(TrainConfig(), Settings(profile="full", retrain=True), device="cpu", verbose=False)
    assert calls["profile"] == "cpu" and "hours on this CPU" in capsys.readouterr().out
    trainer.run(TrainConfig(), Settings(profile="full", retrain=True), device="cpu", verbose=False,
                allow_slow=True)
    assert calls["profile"] == "full"


def test_gpu_job_never_deletes_what_it_did_not_write(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    fake_py = tmp_path / "fakepy"
    fake_py.write_text("#!/bin/sh\necho fake python \"$@\"\n")
    fake_py.chmod(0o755)
    env = {**os.environ, "VGGBOOK_RUNS_DIR": str(folder)}
    # No CUDA (the real Python here): stops first, touches nothing.
    no_gpu = subprocess.run(["bash", "tools/gpu_job.sh"], env={**env, "PY": sys.executable}, cwd=ROOT,
                            capture_output=True, text=True)
    assert no_gpu.returncode != 0 and "needs a CUDA GPU" in no_gpu.stderr
    # "CUDA" (a stand-in Python): a folder with someone's files is refused, nothing deleted.
    refused = subprocess.run(["bash", "tools/gpu_job.sh"], env={**env, "PY": str(fake_py)}, cwd=ROOT,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "nothing was deleted" in refused.stderr
    assert (folder / "mine.txt").read_text() == "keep me"
    # An earlier job's folder (marked, runs only) is emptied of its runs and reused.
    (folder / "mine.txt").unlink()
    (folder / ".vggbook-gpu-job").touch()
    (folder / "old-run.json").write_text("{}")
    reused = subprocess.run(["bash", "tools/gpu_job.sh"], env={**env, "PY": str(fake_py)}, cwd=ROOT,
                            capture_output=True, text=True)
    assert reused.returncode == 0, reused.stderr
    assert not (folder / "old-run.json").exists() and "fake python -m vggbook compare" in reused.stdout
