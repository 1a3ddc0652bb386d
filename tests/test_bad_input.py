"""Bad input and interruptions, through the CLI: each gets one line that names the problem and the fix,
before any data is loaded where no data is needed, and nothing already on disk is lost."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vggbook import data, runs
from vggbook.__main__ import main
from vggbook.runs import History

pytestmark = pytest.mark.slow  # the full tier only (make test); make test-fast leaves it out

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ["train", "--resize", "32", "--profile", "smoke", "--device", "cpu"]

# (CLI arguments, environment changes, what the one-line error must say)
CASES = [
    (SMOKE + ["--arch", "vgg12"], {}, "没有名为 'vgg12' 的网络：可选 vgg11"),
    (["train", "--resize", "16", "--profile", "smoke", "--device", "cpu"], {},
     "要求输入至少 32×32 像素（现在是 16×16）：把图像放大到至少 32"),
    (["train", "--arch", "alexnet", "--resize", "64", "--profile", "smoke", "--device", "cpu"], {},
     "AlexNet 的步幅 4 卷积和三个 3×3、步幅 2 的汇聚层要求输入至少 65×65 像素"),
    (SMOKE[:-1] + ["gpu"], {}, "--device 'gpu' 不是一个设备：用 cuda 或 cpu"),
    (SMOKE[:-1] + ["cuda"], {}, "--device cuda，但 torch 在这里看不到 CUDA GPU：用 --device cpu"),
    (SMOKE + ["--precision", "fp16"], {}, "fp16 精度需要 CUDA GPU：在 CPU 上用 bf16、fp32 或 auto"),
    (["train", "--device", "cpu"], {"VGGBOOK_PROFILE": "fast"}, "VGGBOOK_PROFILE='fast' 不是一个运行配置"),
    (SMOKE, {"VGGBOOK_DATA": "/nonexistent/fmnist"}, "你指定的文件夹 /nonexistent/fmnist（参数或 VGGBOOK_DATA）中没有 Fashion-MNIST"),
    (SMOKE + ["--out", "/proc/nope/run.json"], {}, "文件夹 /proc/nope 不存在：先创建它"),
    (SMOKE + ["--out", "/proc/run.json"], {}, "不能在 /proc 中写文件"),
    (["record"], {}, "torch 在这里看不到 GPU"),
    (["record", "--cpu", "vgg99"], {}, "本书没有名为 vgg99 的运行：可选 vgg11-96px-e6"),
    (["compare", "/nonexistent/runs"], {}, "/nonexistent/runs/full/ 中没有 full 配置的运行"),
]
NEEDS_NO_DATA = [c for c in CASES if "VGGBOOK_DATA" not in c[1] and c[0][0] == "train"]


@pytest.mark.parametrize("argv,env,message", CASES, ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_bad_input_gets_one_clear_line(argv, env, message, monkeypatch, capsys):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 2


@pytest.mark.parametrize("argv,env,message", NEEDS_NO_DATA, ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_checks_that_need_no_data_come_before_the_data(argv, env, message, monkeypatch, capsys):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(runs, "load_fashion_mnist", lambda *a, **k: pytest.fail("loaded the data first"))
    assert main(argv) != 0 and message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [SMOKE + ["--epochs", "0"], SMOKE + ["--epochs", "-1"],
                                  SMOKE + ["--resize", "0"], SMOKE + ["--batch-size", "x"]])
def test_non_positive_numbers_are_refused_by_argparse(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and "应是不小于 1 的整数" in capsys.readouterr().err


# argparse's own refusals, in Chinese; an abbreviation is a mistake, not a shortcut (--epoch is not --epochs)
@pytest.mark.parametrize("argv,message", [
    (["train", "--epoch", "1"], "不认识的参数：--epoch 1"),
    (["train", "--lr", "abc"], "参数 --lr：应是一个数，如 0.05，却是 'abc'"),
    (["trian"], "无效的选择 'trian'"),
    (["train", "--profile", "gpu"], "参数 --profile：无效的选择 'gpu'"),
    (["compare"], "缺少这些参数：retrained"),
])
def test_argparse_refuses_in_chinese_and_takes_no_abbreviation(argv, message, monkeypatch, capsys):
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and "用法：python -m vggbook" in err, err


def test_help_is_in_chinese(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "用法：" in out and "显示这段帮助并退出" in out and "迭代周期数（默认 10）" in out
    assert "show this help" not in out and "usage:" not in out


@pytest.mark.parametrize("delay", [0.2, 0.8, 1.5])
def test_ctrl_c_during_start_up_exits_130_with_one_line(delay):
    """Ctrl-C while `python -m vggbook` is still loading torch (a few seconds): one line, exit 130."""
    import time
    p = subprocess.Popen([sys.executable, "-m", "vggbook", "data"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,  # Ctrl-C reaches it even if this runs in the background
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    if p.returncode == 0:
        pytest.skip("start-up finished before the signal")  # a fast machine: nothing left to interrupt
    assert p.returncode == 130 and err.strip() == "已停止（Ctrl-C）。", err


@pytest.mark.parametrize("arch", ["VGG16", "a-lrn", "AlexNet"])
def test_arch_names_are_not_case_sensitive(arch, capsys):
    assert main(["train", "--arch", arch, "--resize", "16", "--profile", "smoke", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "没有名为" not in err and "16×16" in err  # accepted; the size is what is wrong


@pytest.mark.parametrize("where", ["first", "last"])
def test_traceback_works_anywhere_on_the_line(where):
    argv = ["compare", "x"]
    argv = ["--traceback", *argv] if where == "first" else [*argv, "--traceback"]
    quiet = subprocess.run([sys.executable, "-m", "vggbook", "compare", "x"], capture_output=True, text=True, cwd=ROOT)
    assert quiet.returncode == 1 and quiet.stderr.startswith("错误：x/full/ 中没有 full 配置的运行")
    loud = subprocess.run([sys.executable, "-m", "vggbook", *argv], capture_output=True, text=True, cwd=ROOT)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


def test_out_that_cannot_be_written_fails_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("trained before checking --out"))
    folder = tmp_path / "outdir"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    assert main(SMOKE + ["--out", str(folder)]) == 1
    assert "是一个文件夹：给一个文件名" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]
    assert main(SMOKE + ["--out", str(folder / "mine.txt" / "run.json")]) == 1
    assert f"文件夹 {folder / 'mine.txt'} 不存在" in capsys.readouterr().err


@pytest.fixture
def few_images(fmnist, monkeypatch):
    """256 training and 64 test images: 2 + 1 batches an epoch, so a 3-epoch run takes seconds."""
    small = data.FashionMNIST(fmnist.train_images[:256], fmnist.train_labels[:256],
                              fmnist.test_images[:64], fmnist.test_labels[:64], fmnist.folder)
    monkeypatch.setattr(runs, "load_fashion_mnist", lambda *a, **k: small)


def _stop_at_forward(monkeypatch, n, stop):
    """Every network built from now on calls `stop()` at its n-th forward pass."""
    build = runs.build

    def stopping(*args, **kwargs):
        net, calls = build(*args, **kwargs), {"n": 0}
        original = net.forward

        def forward(x):
            calls["n"] += x.device.type != "meta"  # the FLOPs count of the first estimate runs no step
            if calls["n"] == n:
                stop()
            return original(x)
        net.forward = forward
        return net
    monkeypatch.setattr(runs, "build", stopping)


def _ctrl_c():
    raise KeyboardInterrupt


def _sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


FULL3 = ["train", "--resize", "32", "--epochs", "3", "--profile", "full", "--device", "cpu"]


@pytest.mark.parametrize("stop", [_ctrl_c, _sigterm], ids=["ctrl-c", "sigterm"])
def test_interrupt_keeps_the_finished_epochs_and_the_complete_out_file(stop, tmp_path, few_images, monkeypatch,
                                                                       capsys):
    out = tmp_path / "run.json"
    out.write_text('{"complete": true}')
    _stop_at_forward(monkeypatch, 5, stop)  # 3 forwards an epoch: this is in epoch 2
    assert main(FULL3 + ["--out", str(out)]) == 130
    assert json.loads(out.read_text()) == {"complete": True}  # untouched
    partial = History.load(tmp_path / "run.interrupted.json")
    assert partial.interrupted and len(partial.epochs) == 1
    assert "中断的运行不写进 --out 指定的文件" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the CLI put the handler back


def test_an_interrupted_run_never_takes_the_name_of_a_finished_one(tmp_path, few_images, monkeypatch, capsys):
    out = tmp_path / "run.json"  # nothing there yet: still, the name is kept for a finished run
    _stop_at_forward(monkeypatch, 5, _ctrl_c)
    assert main(FULL3 + ["--out", str(out)]) == 130
    assert not out.exists()
    partial = History.load(tmp_path / "run.interrupted.json")
    assert partial.interrupted and len(partial.epochs) == 1
    assert "（在 3 个迭代周期中的第 1 个之后中断。）" in partial.summary()


def test_interrupt_before_any_epoch_writes_nothing(tmp_path, few_images, monkeypatch, capsys):
    out = tmp_path / "run.json"
    _stop_at_forward(monkeypatch, 1, _ctrl_c)
    assert main(FULL3 + ["--out", str(out)]) == 130
    assert not out.exists() and "没有完成任何迭代周期：没有写" in capsys.readouterr().out


def test_a_loss_that_becomes_nan_stops_with_one_line(few_images, monkeypatch, capsys):
    build = runs.build

    def broken(*args, **kwargs):
        net = build(*args, **kwargs)
        with torch.no_grad():
            net[-1].bias.fill_(float("nan"))  # init_weights re-draws the weights, not the biases
        return net
    monkeypatch.setattr(runs, "build", broken)
    assert main(FULL3) == 1
    assert "错误：训练损失在第 1 个迭代周期变成了 nan：运行已停止" in capsys.readouterr().err


def test_gpu_job_never_deletes_what_it_did_not_write(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    fake_py = tmp_path / "fakepy"
    fake_py.write_text("#!/bin/sh\necho fake python \"$@\"\n")
    fake_py.chmod(0o755)
    env = {**os.environ, "VGGBOOK_RUNS_DIR": str(folder)}
    job = ["bash", "scripts/gpu_job.sh"]
    no_gpu = subprocess.run(job, env={**env, "PY": sys.executable}, cwd=ROOT, capture_output=True, text=True)
    assert no_gpu.returncode != 0 and "needs a CUDA GPU" in no_gpu.stderr
    refused = subprocess.run(job, env={**env, "PY": str(fake_py)}, cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2 and "nothing was deleted" in refused.stderr
    assert (folder / "mine.txt").read_text() == "keep me"
    # An earlier job's folder (marked, runs only) is emptied of its runs and reused.
    (folder / "mine.txt").unlink()
    (folder / ".vggbook-gpu-job").touch()
    (folder / "full").mkdir()
    (folder / "full" / "old-run.json").write_text("{}")
    reused = subprocess.run(job, env={**env, "PY": str(fake_py)}, cwd=ROOT, capture_output=True, text=True)
    assert reused.returncode == 0, reused.stderr
    assert not (folder / "full" / "old-run.json").exists() and "fake python -m vggbook compare" in reused.stdout
