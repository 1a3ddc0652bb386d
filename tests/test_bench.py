"""The speed switches (speed.Speed) and the side-by-side benchmark, checked on the CPU with a few images."""
import json

import pytest
import torch

from vggbook.__main__ import main
from vggbook.runs import History, TrainConfig, train
from vggbook.speed import Speed
from vggbook.tools import bench

TINY = TrainConfig(resize=32, epochs=1, train_limit=256, test_limit=256)


def test_speed_label_names_what_differs_from_the_fast_path():
    assert Speed().label() == ""
    assert Speed(precision="fp32", compile="reduce-overhead").label() == "fp32, compile=reduce-overhead"
    old = Speed.from_dict({"bf16": False, "channels_last": True, "compile": None})  # a file from before `precision`
    assert old.precision == "fp32" and old.label() == "fp32"
    assert Speed(precision="fp16").label() == "fp16"
    with pytest.raises(ValueError, match="unknown compile mode 'fast'.*reduce-overhead"):
        Speed(compile="fast")


def test_history_records_its_speed_settings(fmnist, tmp_path):
    h = train(TINY, profile="full", device="cpu", data=fmnist, speed=Speed(channels_last=False),
              progress=False)
    assert h.speed["channels_last"] is False and h.speed["compile"] is None
    assert History.load(h.save(tmp_path / "h.json")).speed == h.speed
    assert "NCHW" in h.summary()


def test_sync_every_batch_waits_once_per_training_batch(fmnist, monkeypatch):
    waits = []
    monkeypatch.setattr("vggbook.speed._wait_for", lambda device: waits.append(device))
    train(TINY, profile="full", device="cpu", data=fmnist, progress=False)
    assert waits == []  # the fast path never waits for the device inside the epoch
    train(TINY, profile="full", device="cpu", data=fmnist, speed=Speed(sync_every_batch=True), progress=False)
    assert len(waits) == 2  # 256 images in batches of 128; the test batches do not wait


def test_accelerated_restores_what_it_changes():
    from vggbook.speed import accelerated
    torch.backends.cudnn.benchmark = True  # a CPU run turns it off inside; it must come back on
    net = torch.nn.Linear(2, 2)
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    with accelerated(net, sgd, torch.device("cpu"), Speed(sync_every_batch=True)) as (model, opt):
        assert model is net and opt is sgd and len(net._forward_pre_hooks) == 1
        assert torch.backends.cudnn.benchmark is False
    assert torch.backends.cudnn.benchmark is True and len(net._forward_pre_hooks) == 0
    torch.backends.cudnn.benchmark = False


def test_compiled_run_goes_through_torch_compile_and_learns_like_eager(fmnist, monkeypatch):
    modes = []
    real_compile = torch.compile

    def spy(model, **kwargs):
        modes.append(kwargs.get("mode"))
        return real_compile(model, **kwargs)

    monkeypatch.setattr(torch, "compile", spy)
    eager = train(TINY, profile="full", device="cpu", data=fmnist, progress=False)
    assert modes == []
    h = train(TINY, profile="full", device="cpu", data=fmnist, speed=Speed(compile="default"),
              progress=False)
    assert modes == ["default"] and h.speed["compile"] == "default"
    # Same recipe, same seed: a compiled step may round differently, not learn differently.
    assert h.final["loss"] == pytest.approx(eager.final["loss"], abs=0.05)


def test_ablation_runs_each_variant_and_writes_json(fmnist, tmp_path, monkeypatch):
    monkeypatch.setattr("vggbook.data.load_fashion_mnist", lambda root=None, **kw: fmnist)
    out = tmp_path / "ablation.json"
    r = bench.ablation(2, ("fast", "sync"), device="cpu", limit=128, resize=32, out=out)
    assert list(r["variants"]) == ["fast", "sync"]
    assert r["variants"]["sync"]["speed"] == "host sync every batch"
    assert all(len(v["epoch_s"]) == 2 for v in r["variants"].values())
    assert json.loads(out.read_text())["variants"]["fast"]["steady_epoch_s"] > 0
    assert "vs fast" in bench.format_ablation(r)
    with pytest.raises(ValueError, match="unknown variant.*choose from"):
        bench.ablation(2, ("fast", "turbo"), device="cpu")
    with pytest.raises(ValueError, match="at least 2 epochs"):
        bench.ablation(1, ("fast",), device="cpu")


def test_benchmark_side_by_side_on_a_few_images(tmp_path, monkeypatch, fmnist, settings):
    # d2l's own loader (PIL resize in 4 worker processes) reads ../data: give it a folder of its own.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr("vggbook.data.load_fashion_mnist", lambda root=None, **kw: fmnist)
    out = tmp_path / "benchmark.json"
    with pytest.raises(ValueError, match="at least 5 batches of 128"):
        bench.benchmark(2, 1, device="cpu", limit=128)
    r = bench.benchmark(2, 1, device="cpu", limit=640, resize=32, out=out, data_dir=settings.data_dir)
    assert r["reference_wall_is_estimate"] and r["reference"]["epochs_run"] == 1
    assert len(r["fast"]["epoch_s"]) == 2
    assert r["speedup_wall"] == pytest.approx(r["reference_wall_s_for_epochs"] / r["fast"]["wall_s"])
    assert json.loads(out.read_text())["fast"]["speed"] == "defaults"
    text = bench.format_result(r)
    assert "estimated" in text and "640 images only" in text and "32 px" in text


def test_cli_bench_rejects_an_unknown_compile_mode(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--compile", "fastest"])
    assert "invalid choice: 'fastest'" in capsys.readouterr().err


def test_precision_follows_the_gpu(monkeypatch):
    """bf16 from compute capability 8.0 (A100, H100), fp16 below (T4, V100, GTX 1660 Ti), fp32 on a CPU."""
    from vggbook.speed import precision_for
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what a T4 answers
    for capability, expected in (((7, 5), "fp16"), ((7, 0), "fp16"), ((8, 0), "bf16"), ((9, 0), "bf16")):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None, c=capability: c)
        assert precision_for(cuda) == expected
    assert precision_for(cuda, Speed(precision="fp32")) == "fp32"  # overridable
    assert precision_for(cuda, Speed(precision="bf16")) == "bf16"
    assert precision_for(torch.device("cpu"), Speed(precision="fp16")) == "fp32"
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        Speed(precision="fp8")


def test_history_records_the_precision_used(fmnist):
    h = train(TINY, profile="full", device="cpu", data=fmnist, progress=False)
    assert h.speed["precision"] == "fp32"


def test_gradient_scaling_changes_the_gradient_not_the_step():
    """The fp16 path's wrappers: logits unchanged, gradients scaled, the optimizer step the same."""
    from vggbook.speed import Autocast, ScaledOptimizer
    torch.manual_seed(0)
    plain_net = torch.nn.Linear(8, 4)
    scaled_net = torch.nn.Linear(8, 4)
    scaled_net.load_state_dict(plain_net.state_dict())
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    plain = Autocast(plain_net, "cpu", torch.bfloat16)
    scaled = Autocast(scaled_net, "cpu", torch.bfloat16, scaler)
    X, y = torch.randn(16, 8), torch.randint(0, 4, (16,))
    out_plain, out_scaled = plain(X), scaled(X)
    assert torch.equal(out_plain, out_scaled) and out_scaled.dtype == torch.float32
    torch.nn.functional.cross_entropy(out_plain, y).backward()
    torch.nn.functional.cross_entropy(out_scaled, y).backward()
    assert torch.allclose(scaled_net.weight.grad, 1024 * plain_net.weight.grad)
    sgd_plain = torch.optim.SGD(plain_net.parameters(), lr=0.1)
    sgd_scaled = ScaledOptimizer(torch.optim.SGD(scaled_net.parameters(), lr=0.1), scaler)
    sgd_plain.step()
    sgd_scaled.step()
    assert torch.allclose(plain_net.weight, scaled_net.weight, atol=1e-6)


def test_fresh_processes_yardstick_on_a_few_images(tmp_path, monkeypatch, settings):
    """Each path in its own process, all epochs run, the ratio over the fast path's median."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the reference's d2l loader reads ../data
    out = tmp_path / "fresh.json"
    r = bench.fresh(1, 2, device="cpu", limit=640, resize=32, out=out, data_dir=settings.data_dir)
    assert [x["path"] for x in [r["reference"], *r["fast_runs"]]] == ["reference", "fast", "fast"]
    assert all(x["epochs_run"] == 1 and x["process_wall_s"] > x["wall_s"] for x in [r["reference"], *r["fast_runs"]])
    assert r["speedup_wall"] == pytest.approx(r["reference_wall_s"] / r["fast_wall_s_median"])
    assert json.loads(out.read_text())["method"] == "fresh processes"


def test_pool_before_relu_changes_nothing_but_the_order():
    """max and ReLU commute: the swapped network gives the same outputs and the same gradients."""
    import copy
    from vggbook.runs import TrainConfig, make_model
    from vggbook.speed import pool_before_relu
    net = make_model(TrainConfig(resize=32))
    swapped = pool_before_relu(copy.deepcopy(net))
    assert [type(m).__name__ for m in swapped[0]] == ["Conv2d", "MaxPool2d", "ReLU"]
    X = torch.randn(4, 1, 32, 32)
    y = torch.tensor([0, 1, 2, 3])
    outs = []
    for n in (net, swapped):
        n.eval()
        n.zero_grad()
        out = n(X)
        torch.nn.functional.cross_entropy(out, y).backward()
        outs.append((out, [p.grad.clone() for p in n.parameters()]))
    assert torch.equal(outs[0][0], outs[1][0])
    assert all(torch.equal(a, b) for a, b in zip(outs[0][1], outs[1][1]))
