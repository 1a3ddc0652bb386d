"""The training loop and the run layer: it learns, it stops cleanly, and run() loads or trains."""
import math

import pytest
import torch

from vggbook import loader, runs
from vggbook.runs import ALEXNET, CHAPTER, DEPTH_BN, Config, History
from vggbook.train import fit, precision_for


@pytest.fixture(scope="module")
def learned():
    # Small but real: 1,024 images at 32 px, 3 epochs, a recipe that learns quickly.
    cfg = Config(resize=32, epochs=3, batch_norm=True, momentum=0.9, train_limit=1024, test_limit=512)
    return runs.train(cfg, profile="full", device="cpu", progress=False)[0]


def _tiny(fmnist, batch=64):
    return loader.loaders(batch, 32, train_limit=256, test_limit=128, data=fmnist)


def test_training_lowers_the_loss(learned):
    losses = [e["loss"] for e in learned.epochs]
    assert len(losses) == 3 and losses[-1] < losses[0] - 0.2
    assert learned.test_acc > 0.5  # 10 classes: chance is 0.1
    assert learned.profile == "full" and learned.device.startswith("cpu")
    assert learned.precision == precision_for(torch.device("cpu"))  # bf16 where the CPU has it


def test_history_round_trips_through_json(learned, tmp_path):
    assert History.load(learned.save(tmp_path / "h.json")) == learned


def test_profiles_shrink_a_run_but_never_below_what_the_network_needs(monkeypatch):
    assert runs.sized(CHAPTER, "full") == CHAPTER
    cpu = runs.sized(CHAPTER, "cpu")
    assert (cpu.resize, cpu.epochs, cpu.train_limit) == (96, 6, None)
    smoke = runs.sized(CHAPTER, "smoke")
    assert (smoke.resize, smoke.epochs, smoke.train_limit, smoke.test_limit) == (96, 1, 256, 256)
    # what the reader chose is trained as chosen; the profile shrinks only what was left at the chapter's
    assert runs.sized(Config(resize=64), "cpu") == Config(resize=64, epochs=6)
    assert runs.sized(Config(epochs=2, train_limit=512), "cpu") == Config(resize=96, epochs=2, train_limit=512)
    # a profile of 32 px images: VGG takes them, AlexNet gets the 65 px its stride-4 conv and 3 pools need
    monkeypatch.setitem(runs.PROFILES, "cpu", {"epochs": 6, "resize": 32})
    assert runs.sized(CHAPTER, "cpu").resize == 32 and runs.sized(ALEXNET, "cpu").resize == 65
    runs.make_model(runs.sized(ALEXNET, "cpu"))      # ... and builds there
    # smoke too (CI's profile) keeps what the reader chose, and caps only the number of images
    assert runs.sized(Config(resize=64, epochs=2, lr=0.5), "smoke") == Config(
        resize=64, epochs=2, lr=0.5, train_limit=256, test_limit=256)


def test_record_names_say_what_differs_from_the_chapter():
    assert CHAPTER.name() == "vgg11"
    assert DEPTH_BN.name() == "vgg16-bn-96px"
    assert runs.sized(CHAPTER, "cpu").name() == "vgg11-96px-e6"
    assert runs.sized(runs.CPU_FP32, "cpu").name() == "vgg11-96px-e6-fp32"
    assert Config(arch="alexnet", lr=0.01).name() == "alexnet-lr0.01"
    assert Config(arch="vgg16", init="he", resize=32).name() == "vgg16-he-32px"
    names = [runs.sized(c, p).name() for p, cs in runs.RECORDED.items() for c in cs]
    assert len(set(names)) == len(names)


def test_the_environment_is_read_when_asked(monkeypatch):
    monkeypatch.setenv("VGGBOOK_PROFILE", " Smoke")
    assert runs.current_profile() == "smoke"
    monkeypatch.setenv("VGGBOOK_PROFILE", "fast")
    with pytest.raises(ValueError, match="VGGBOOK_PROFILE='fast' 不是一个运行配置：可选 full, cpu, smoke"):
        runs.current_profile()
    for value, wanted in (("on", True), ("0", False), ("", False)):
        monkeypatch.setenv("VGGBOOK_RETRAIN", value)
        assert runs.should_train(False) is wanted and runs.should_train(True) is True
    monkeypatch.setenv("VGGBOOK_RETRAIN", "maybe")
    with pytest.raises(ValueError, match="既不是“是”也不是“否”.*%env VGGBOOK_RETRAIN=1"):
        runs.should_train()


def test_ctrl_c_keeps_the_finished_epochs(fmnist):
    train_iter, test_iter = _tiny(fmnist)
    net = runs.make_model(Config(resize=32))
    calls, original = {"n": 0}, net.forward

    def forward(x):
        calls["n"] += 1
        if calls["n"] == 8:  # 4 training + 2 test batches per epoch: this is in epoch 2
            raise KeyboardInterrupt
        return original(x)
    net.forward = forward
    rows = fit(net, train_iter, test_iter, 5, torch.optim.SGD(net.parameters(), lr=0.05))
    assert len(rows) == 1 and math.isfinite(rows[0]["loss"])
    h = History.of_run(Config(resize=32, epochs=5), rows, torch.device("cpu"), profile="cpu")
    assert h.interrupted and "中断" in h.summary()


def test_a_cpu_run_of_alexnet_trains_at_the_size_it_needs(fmnist, monkeypatch):
    """04 and 05 retrained on a CPU with a 32 px profile: AlexNet gets 65 px, not the 32 px VGG gets."""
    from vggbook import data
    small = data.FashionMNIST(fmnist.train_images[:128], fmnist.train_labels[:128],
                              fmnist.test_images[:64], fmnist.test_labels[:64], fmnist.folder)
    monkeypatch.setattr(runs, "load_fashion_mnist", lambda *a, **k: small)
    monkeypatch.setitem(runs.PROFILES, "cpu", {"epochs": 1, "resize": 32})
    h, _ = runs.train(ALEXNET, profile="cpu", device="cpu", progress=False)
    assert h.config.resize == 65 and len(h.epochs) == 1 and h.label == "alexnet @65px, 1 ep [CPU]"


def test_nan_is_caught_within_check_every_steps(fmnist):
    """A loss that turns NaN mid-epoch stops the run at the next check, not at the epoch's end."""
    train_iter, test_iter = loader.loaders(16, 32, train_limit=256, test_limit=16, data=fmnist)
    net = runs.make_model(Config(resize=32))
    seen, original = {"n": 0}, net.forward

    def forward(x):
        seen["n"] += 1
        out = original(x)
        return out * float("nan") if seen["n"] >= 3 else out
    net.forward = forward
    with pytest.raises(FloatingPointError, match="第 1 个迭代周期的第 4 步"):
        fit(net, train_iter, test_iter, 1, torch.optim.SGD(net.parameters(), lr=0.01), check_every=4)
    assert seen["n"] == 4  # 16 batches in the epoch: stopped after 4


def test_nan_in_a_short_epoch_is_caught_at_its_end(fmnist):
    train_iter, test_iter = _tiny(fmnist)
    net = runs.make_model(Config(resize=32))
    with torch.no_grad():
        net[-1].weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="在第 1 个迭代周期变成了"):
        fit(net, train_iter, test_iter, 3, torch.optim.SGD(net.parameters(), lr=0.05))


def test_fit_takes_d2l_style_cpu_batches(fmnist):
    """fit moves each batch to the net's device, as d2l.train_ch6 does: any iterable of (X, y) works."""
    train_iter, test_iter = _tiny(fmnist)
    net = runs.make_model(Config(resize=32))
    rows = fit(net, list(train_iter), list(test_iter), 1, torch.optim.SGD(net.parameters(), lr=0.05))
    assert len(rows) == 1 and 0 <= rows[0]["test_acc"] <= 1


def test_summary_tells_smoke_stuck_and_finished_runs_apart():
    stuck = [{"epoch": i, "loss": 2.3, "train_acc": 0.1, "test_acc": 0.1, "seconds": 1.0} for i in (1, 2, 3)]
    def h(profile):
        return History(Config(epochs=3), profile, "cpu", "2026-01-01", "x", epochs=[dict(e) for e in stuck])
    assert "smoke 配置" in h("smoke").summary() and "随机猜测" not in h("smoke").summary()
    assert "3 个迭代周期后仍停在随机猜测的水平" in h("cpu").summary()
    learning = h("cpu")
    learning.epochs[2].update(test_acc=0.6, loss=1.0)
    assert "随机猜测" not in learning.summary() and "中断" not in learning.summary()
    assert "没有完成任何迭代周期" in History(Config(), "cpu", "cpu", "2026-01-01", "x").summary()


def test_run_loads_the_record_unless_asked_to_retrain(monkeypatch, capsys):
    monkeypatch.setenv("VGGBOOK_RETRAIN", "0")
    h = runs.run(CHAPTER)
    assert h == runs.recorded(CHAPTER) and h.device.startswith("NVIDIA")
    assert "载入本书记录的运行：NVIDIA" in capsys.readouterr().out
    trained = []
    monkeypatch.setattr(runs, "train", lambda cfg, **kw: trained.append((cfg, kw["profile"])) or (h, None))
    monkeypatch.setenv("VGGBOOK_PROFILE", "smoke")
    runs.run(CHAPTER, retrain=True)
    runs.run(Config(resize=40), retrain=True)
    assert trained == [(CHAPTER, "smoke"), (Config(resize=40), "smoke")]
    with pytest.raises(ValueError, match="本书没有 vgg11/4 @40px, 10 ep 的记录：设 RETRAIN = True"):
        runs.run(Config(resize=40))  # no record, and not asked: nothing trains
    assert len(trained) == 2


def test_run_writes_what_it_trains_to_the_runs_dir_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("VGGBOOK_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("VGGBOOK_PROFILE", "smoke")
    cfg = Config(resize=32, epochs=1)
    h = runs.run(cfg, retrain=True, progress=False)
    saved = History.load(tmp_path / "smoke" / f"{runs.sized(cfg, 'smoke').name()}.json")
    assert saved == h and saved.profile == "smoke"
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("trained a run the folder holds"))
    assert runs.run(cfg, retrain=True) == h  # a second notebook asking for it gets that run


def test_run_never_keeps_a_stopped_run_as_the_finished_one(tmp_path, monkeypatch):
    monkeypatch.setenv("VGGBOOK_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("VGGBOOK_PROFILE", "smoke")
    cfg = runs.sized(Config(resize=32, epochs=2), "smoke")
    row = {"epoch": 1, "loss": 2.0, "train_acc": 0.3, "test_acc": 0.3, "seconds": 1.0}
    stopped = History(cfg, "smoke", "cpu", "2026-12-07", torch.__version__, epochs=[row])
    finished = History(cfg, "smoke", "cpu", "2026-12-07", torch.__version__, epochs=[row, {**row, "epoch": 2}])
    monkeypatch.setattr(runs, "train", lambda *a, **k: (stopped, None))
    runs.run(cfg, retrain=True)
    assert not (tmp_path / "smoke" / f"{cfg.name()}.json").exists()
    assert History.load(tmp_path / "smoke" / f"{cfg.name()}.interrupted.json") == stopped
    monkeypatch.setattr(runs, "train", lambda *a, **k: (finished, None))
    assert runs.run(cfg, retrain=True) == finished  # trained again: the stopped run is not reused


def _gpu_copy(h: History, **changes) -> History:
    return History(**{**h.__dict__, "device": "NVIDIA test GPU", "profile": "full", **changes})


def test_compare_flags_disagreement_cpu_runs_and_missing_records(tmp_path, monkeypatch, learned):
    rec = tmp_path / "results"
    monkeypatch.setattr(runs, "RESULTS", rec)
    other = Config(**{**learned.config.__dict__, "lr": 0.1})
    _gpu_copy(learned).save(runs.record_path(learned.config, "full", rec))
    _gpu_copy(learned, config=other).save(runs.record_path(other, "full", rec))
    new = tmp_path / "new"
    _gpu_copy(learned).save(runs.record_path(learned.config, "full", new))
    assert runs.compare(new, require_all=False) == []
    assert runs.compare(new) == [f"{other.name()}：有记录，但没有重新训练"]
    worse = _gpu_copy(learned, epochs=[dict(e) for e in learned.epochs])
    worse.epochs[-1]["test_acc"] -= 0.05
    worse.save(runs.record_path(learned.config, "full", new))
    assert "相差超过 0.015" in runs.compare(new, require_all=False)[0]
    learned.save(runs.record_path(learned.config, "full", new))  # a CPU run
    assert "只能对照在 CUDA GPU 上完成的运行" in runs.compare(new, require_all=False)[0]
    with pytest.raises(ValueError, match="中没有 full 配置的运行"):
        runs.compare(tmp_path / "nothing")


@pytest.mark.slow
def test_live_curves_update_in_place(fmnist, monkeypatch):
    import IPython.display
    from vggbook.plots import LiveCurves
    shown, updated = [], []

    class Handle:
        def update(self, fig):
            updated.append(fig)

    def display(fig, display_id=None):
        shown.append(fig)
        return Handle()
    monkeypatch.setattr(IPython.display, "display", display)
    train_iter, test_iter = _tiny(fmnist)
    net = runs.make_model(Config(resize=32))
    live = LiveCurves(2)
    rows = fit(net, train_iter, test_iter, 2, torch.optim.SGD(net.parameters(), lr=0.05), on_epoch=live)
    assert len(rows) == 2 and len(shown) == 1 and updated == [shown[0]]  # one figure, redrawn
    assert live.epochs == rows


def test_the_claims_arms_differ_from_their_partner_in_one_thing_only():
    """08 compares pairs of arms: each pair is the same recipe with one change (seeds apart)."""
    pairs = {("A", "A-LRN"): {"arch"}, ("B", "B-5x5"): {"arch"}, ("C", "D"): {"arch"},
             ("A", "28px-3pools"): {"resize", "pools"}, ("28px-3pools", "28px-2pools"): {"pools"}, ("A", "96px"): {"resize"},
             ("28px-3pools", "28px-3pools-gap"): {"head"}, ("B", "B-e6"): {"epochs"},
             ("B-5x5", "B-5x5-e6"): {"epochs"}, ("B-e6", "B-5x5-e6"): {"arch"}}
    for (a, b), what in pairs.items():
        x, y = runs.ARMS[a].__dict__, runs.ARMS[b].__dict__
        assert {k for k in x if x[k] != y[k]} == what
    assert runs.sized(runs.ARMS["28px-3pools-gap"], "cpu").name() == "vgg11-he-p3-gap-28px-e3-onecycle"
    assert len(runs.CLAIMS) == 3 * len(runs.ARMS) and {c.seed for c in runs.CLAIMS} == set(runs.SEEDS)
    # the cpu profile trains them as configured: 3 epochs, their own sizes
    assert all(runs.sized(c, "cpu") == c for c in runs.CLAIMS)


def test_a_config_refuses_pools_and_heads_it_cannot_build():
    with pytest.raises(ValueError, match="unknown head 'avg'"):
        Config(head="avg")
    with pytest.raises(ValueError, match="应在 0 到 5（块的个数）之间"):
        runs.make_model(Config(pools=7))
    with pytest.raises(ValueError, match="VGG networks only"):
        Config(arch="alexnet", pools=3)
    # a profile never shrinks images below what the pools need
    assert runs.sized(Config(pools=3, resize=224), "cpu").resize == 96
    assert runs.min_size("vgg11", 3) == 8 and runs.min_size("vgg11") == 32
