"""bench/bench.py (the d2l reference vs. the fast path, its switches, the fresh-process yardstick), checked
on the CPU with a few images; and the package's precision wrappers that the fast path is built on."""
import copy
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vggbook.data import load_fashion_mnist
from vggbook.runs import CHAPTER, make_model
from vggbook.train import Autocast, ScaledOptimizer, fast, keep_freed_memory, precision_for

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench  # noqa: E402  (a script beside the package, not part of it)

pytestmark = pytest.mark.slow  # the full tier only (make test); make test-fast leaves it out

TINY = replace(CHAPTER, resize=32, epochs=1, train_limit=256, test_limit=256)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data():
    return load_fashion_mnist()  # VGGBOOK_DATA, or the usual places


def test_switches_name_what_differs_from_the_fast_path():
    assert bench.Switches().label() == ""
    assert bench.Switches(precision="fp32", compile="reduce-overhead").label() == "fp32, compile=reduce-overhead"
    assert bench.VARIANTS["sync"].label() == "host sync every batch"
    assert bench.VARIANTS["nchw"].label() == "NCHW"
    with pytest.raises(ValueError, match="unknown compile mode 'fast'.*reduce-overhead"):
        bench.Switches(compile="fast")
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        bench.Switches(precision="fp8")


def test_pool_before_relu_changes_nothing_but_the_order():
    """max and ReLU commute: the swapped network gives the same outputs and the same gradients."""
    net = make_model(replace(CHAPTER, resize=32))
    swapped = bench.pool_before_relu(copy.deepcopy(net))
    assert [type(m).__name__ for m in swapped[0]] == ["Conv2d", "MaxPool2d", "ReLU"]
    X, y = torch.randn(4, 1, 32, 32), torch.tensor([0, 1, 2, 3])
    outs = []
    for n in (net, swapped):
        n.eval()
        out = n(X)
        torch.nn.functional.cross_entropy(out, y).backward()
        outs.append((out, [p.grad for p in n.parameters()]))
    assert torch.equal(outs[0][0], outs[1][0])
    assert all(torch.equal(a, b) for a, b in zip(outs[0][1], outs[1][1]))


def test_sync_variant_waits_once_per_training_batch(data, monkeypatch):
    waits = []
    monkeypatch.setattr(bench, "wait_for", lambda device: waits.append(device))
    h = bench.train_fast(TINY, CPU, data=data)
    assert waits == [] and len(h.epochs) == 1 and h.precision == precision_for(CPU)  # it never waits
    bench.train_fast(TINY, CPU, bench.VARIANTS["sync"], data=data)
    assert len(waits) == 2  # 256 images in batches of 128; the test batches do not wait


def test_switched_restores_what_it_changes(monkeypatch):
    waits = []
    monkeypatch.setattr(bench, "wait_for", waits.append)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)  # a CPU run turns it off inside
    net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    with bench.switched(net, sgd, CPU, bench.VARIANTS["sync"]) as (model, opt, precision):
        assert opt is sgd and precision == precision_for(CPU)
        assert torch.backends.cudnn.benchmark is False
        model(torch.zeros(1, 2))
    assert torch.backends.cudnn.benchmark is True and len(waits) == 1
    net(torch.zeros(1, 2))  # the sync hook went with the variant
    assert len(waits) == 1


def test_ablation_runs_each_variant_and_writes_json(tmp_path):
    out = tmp_path / "ablation.json"
    r = bench.ablation(2, ("fast", "pool-first", "sync"), device="cpu", limit=128, resize=32, out=out)
    assert list(r["variants"]) == ["fast", "pool-first", "sync"]
    assert r["variants"]["sync"]["speed"] == "host sync every batch"
    assert all(len(v["epoch_s"]) == 2 and v["steady_epoch_s"] > 0 for v in r["variants"].values())
    assert json.loads(out.read_text())["variants"] == json.loads(json.dumps(r["variants"]))
    assert "vs fast" in bench.format_ablation(r) and "128 images only" in bench.format_ablation(r)


def test_ablation_refuses_before_training_what_cannot_run():
    with pytest.raises(ValueError, match="unknown variant.*turbo.*choose from"):
        bench.ablation(2, ("fast", "turbo"), device="cpu")
    with pytest.raises(ValueError, match="at least 2 epochs"):
        bench.ablation(1, ("fast",), device="cpu")
    with pytest.raises(ValueError, match="variant fp16: fp16 精度需要 CUDA GPU"):
        bench.ablation(2, ("fast", "fp16"), device="cpu")


def test_bench_script_side_by_side_end_to_end(tmp_path):
    """`python bench/bench.py` in a new process: both paths, the table, and the JSON file."""
    out = tmp_path / "benchmark.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench.py"), "--device", "cpu", "--limit", "640",
                           "--epochs", "2", "--reference-epochs", "1", "--resize", "32", "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "640 images only" in proc.stdout and "estimated" in proc.stdout and "32 px" in proc.stdout
    r = json.loads(out.read_text())
    ref, fast = r["reference"], r["fast"]
    assert ref["epochs_run"] == 1 and r["reference_wall_is_estimate"] and len(fast["epoch_s"]) == 2
    assert r["speedup_wall"] == pytest.approx(r["reference_wall_s_for_epochs"] / fast["wall_s"])
    assert r["reference_wall_s_for_epochs"] > ref["wall_s"]  # one more (estimated) epoch than it ran
    assert fast["speed"] == "defaults" and fast["precision"] == precision_for(CPU)
    assert fast["history"]["config"]["train_limit"] == 640 and 0 <= ref["test_acc"] <= 1
    assert any(line.startswith("loss") for line in ref["d2l_printed"])  # what train_ch6 printed


def test_bench_script_says_what_is_wrong_in_one_line(capsys):
    assert bench.main(["--device", "cpu", "--limit", "128"]) == 1
    assert "at least 5 batches of 128" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--compile", "fastest"])
    assert "invalid choice: 'fastest'" in capsys.readouterr().err


def test_fresh_processes_yardstick_on_a_few_images(tmp_path):
    """Each path in its own process (this script with --one), all epochs run, the ratio over the median."""
    out = tmp_path / "fresh.json"
    r = bench.fresh(1, 1, device="cpu", limit=640, resize=32, out=out)
    runs = [r["reference"], *r["fast_runs"]]
    assert [x["path"] for x in runs] == ["reference", "fast"]
    assert all(x["epochs_run"] == 1 and x["process_wall_s"] > x["wall_s"] for x in runs)
    assert r["speedup_wall"] == pytest.approx(r["reference_wall_s"] / r["fast_wall_s_median"])
    assert json.loads(out.read_text())["method"] == "fresh processes"


# The package's precision wrappers, which the fast path stands on.
def test_precision_follows_the_gpu(monkeypatch):
    """bf16 from compute capability 8.0 (A100, H100), fp16 below (T4, V100, GTX 1660 Ti)."""
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what a T4 answers
    for capability, expected in (((7, 5), "fp16"), ((7, 0), "fp16"), ((8, 0), "bf16"), ((9, 0), "bf16")):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None, c=capability: c)
        assert precision_for(cuda) == expected
    assert precision_for(cuda, "fp32") == "fp32" and precision_for(cuda, "bf16") == "bf16"  # overridable
    with pytest.raises(ValueError, match="需要 CUDA GPU"):
        precision_for(CPU, "fp16")
    with pytest.raises(ValueError, match="没有名为 'fp8' 的精度"):
        precision_for(CPU, "fp8")


@pytest.mark.parametrize("native", [True, False], ids=["bf16-cpu", "cpu-without-bf16"])
def test_precision_follows_the_cpu(monkeypatch, native):
    """bf16 on a CPU with bf16 instructions (AVX512_BF16 or AMX), fp32 on one without (faked here)."""
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert precision_for(CPU) == ("bf16" if native else "fp32")
    assert precision_for(CPU, "fp32") == "fp32" and precision_for(CPU, "bf16") == "bf16"  # overridable
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    model, opt, chosen = fast(net, sgd, CPU)
    assert opt is sgd and chosen == precision_for(CPU)
    out = model(torch.rand(2, 1, 4, 4))
    assert out.dtype == torch.float32 and out.shape == (2, 3)
    if native:  # the convs and the matmuls ran in bf16, with the weights channels_last
        assert isinstance(model, Autocast) and model.device_type == "cpu"
        assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    else:
        assert model is net


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fast_and_fit_leave_the_process_allocator_alone(monkeypatch, precision):
    """Keeping freed memory changes the whole process: the caller chooses it, fast and fit never do."""
    import ctypes
    from vggbook import train

    class NoMallopt:
        def __getattr__(self, name):
            raise AssertionError(f"{name} called from fast or fit")

    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: NoMallopt())
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    model, opt, _ = fast(net, sgd, CPU, precision)
    data = [(torch.rand(4, 1, 4, 4), torch.randint(0, 3, (4,)))]
    rows = train.fit(model, data, data, 1, opt)
    assert len(rows) == 1
    with pytest.raises(AssertionError, match="mallopt"):
        keep_freed_memory()  # the guard above works: the explicit call does reach mallopt


def test_the_cpu_allocator_keeps_freed_blocks():
    """glibc's mallopt accepts both settings (False only where the C library has no mallopt)."""
    import ctypes.util
    assert keep_freed_memory() is (ctypes.util.find_library("c") is not None and sys.platform == "linux")


@pytest.mark.filterwarnings("ignore:.*Disabling autocast")  # no GPU: autocast is off
def test_gradient_scaling_changes_the_gradient_not_the_step():
    """The fp16 path's wrappers: logits unchanged, gradients scaled, the optimizer step the same."""
    torch.manual_seed(0)
    plain_net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten())
    scaled_net = copy.deepcopy(plain_net)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    plain, scaled = Autocast(plain_net, torch.float16), Autocast(scaled_net, torch.float16, scaler)
    X, y = torch.randn(16, 1, 3, 3), torch.randint(0, 4, (16,))
    out_plain, out_scaled = plain(X), scaled(X)
    assert torch.equal(out_plain, out_scaled) and out_scaled.dtype == torch.float32
    torch.nn.functional.cross_entropy(out_plain, y).backward()
    torch.nn.functional.cross_entropy(out_scaled, y).backward()
    assert torch.allclose(scaled_net[0].weight.grad, 1024 * plain_net[0].weight.grad)
    sgd_plain = torch.optim.SGD(plain_net.parameters(), lr=0.1)
    sgd_scaled = ScaledOptimizer(torch.optim.SGD(scaled_net.parameters(), lr=0.1), scaler)
    sgd_plain.step()
    sgd_scaled.step()
    assert torch.allclose(plain_net[0].weight, scaled_net[0].weight, atol=1e-6)


# bench/cpu_steps.py: one training step per variant of the CPU fast path.
import cpu_steps  # noqa: E402  (beside bench.py)


@pytest.mark.parametrize("variant", ["fp32", "fast+fp32-head", "bf16-nchw"])
def test_cpu_step_variants_train_one_step(variant):
    r = cpu_steps.one(variant, 32, steps=1)
    assert r["variant"] == variant and r["resize"] == 32 and len(r["step_ms_all"]) == 1 and r["step_ms"] > 0


def test_cpu_steps_names_an_unknown_variant():
    with pytest.raises(ValueError, match="unknown variant 'turbo'"):
        cpu_steps.one("turbo", 32, steps=1)


def test_cpu_yardstick_on_a_few_images(tmp_path):
    """d2l's recipe, the plain fp32 loop and the fast path, each in its own process; the two ratios."""
    r = bench.cpu_yardstick(1, (32,), limit=640, out=tmp_path / "cpu.json")
    assert [x["path"] for x in r["runs"]] == ["reference", "plain", "fast"]
    wall = {x["path"]: x["process_wall_s"] for x in r["runs"]}
    assert r["ratios"]["32px"] == {"vs_d2l": pytest.approx(wall["reference"] / wall["fast"]),
                                   "vs_fp32": pytest.approx(wall["plain"] / wall["fast"])}
    plain, fast_run = r["runs"][1], r["runs"][2]
    assert plain["precision"] == "fp32" and fast_run["precision"] == precision_for(CPU)
    assert json.loads((tmp_path / "cpu.json").read_text())["ratios"].keys() == {"32px"}


def test_the_recorded_cpu_yardstick_ran_the_whole_recipe():
    r = json.loads(bench.CPU_BENCHMARK.read_text())
    assert r["limit"] is None and r["epochs"] >= 2 and set(r["ratios"]) == {"32px", "96px"}
    for size in (32, 96):
        ran = [x for x in r["runs"] if x["resize"] == size]
        assert [x["path"] for x in ran] == ["reference", "plain", "fast"]
        assert all(x["epochs_run"] == r["epochs"] and len(x["test_acc_per_epoch"]) == r["epochs"] for x in ran)
        wall = {x["path"]: x["process_wall_s"] for x in ran}
        assert r["ratios"][f"{size}px"]["vs_d2l"] == pytest.approx(wall["reference"] / wall["fast"])
        assert r["ratios"][f"{size}px"]["vs_fp32"] == pytest.approx(wall["plain"] / wall["fast"])
