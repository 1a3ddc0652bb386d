import json
import math

import pytest
import torch

from vggbook import loader
from vggbook.runs import (PROFILES, History, OutOfMemory, Settings, TrainConfig, TrainingDiverged,
                          get_profile, make_model, records, train, train_net)
from vggbook.runs import run as run_cfg


@pytest.fixture(scope="module")
def learned(fmnist):
    # Small but real: 1,024 images at 32 px, 3 epochs, a recipe that learns quickly.
    cfg = TrainConfig(resize=32, epochs=3, batch_norm=True, momentum=0.9, lr=0.05,
                      train_limit=1024, test_limit=512)
    return train(cfg, profile="full", device="cpu", data=fmnist, progress=False)


def _as_gpu_run(h: History) -> History:
    """The CPU run dressed as a full GPU run, for the record-keeping tests."""
    return History.from_dict({**h.to_dict(), "profile": "full", "device": "NVIDIA test GPU",
                              "peak_memory_bytes": 2**30})


def test_smoke_training_lowers_loss(learned):
    losses = [e["loss"] for e in learned.epochs]
    assert len(losses) == 3 and losses[-1] < losses[0] - 0.2
    assert learned.test_acc > 0.5  # 10 classes: chance is 0.1
    assert learned.train_images == 1024 and learned.test_images == 512


def test_history_round_trips_through_json(learned, tmp_path):
    path = learned.save(tmp_path / "h.json")
    back = History.load(path)
    assert back == learned
    d = json.loads(path.read_text())
    for key in ("config", "run_config", "profile", "device", "torch_version", "date", "epochs",
                "peak_memory_bytes"):
        assert key in d
    assert set(d["epochs"][0]) == {"epoch", "loss", "train_acc", "test_acc", "seconds"}


def test_profiles_cap_the_request():
    cfg = TrainConfig()
    smoke = PROFILES["smoke"].apply(cfg)
    assert (smoke.epochs, smoke.resize, smoke.train_limit, smoke.test_limit) == (1, 96, 256, 256)
    assert PROFILES["full"].apply(cfg) == cfg
    assert PROFILES["cpu"].apply(TrainConfig(resize=None)).resize is None
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        get_profile("fast")
    assert get_profile(" Smoke ").name == "smoke"


def test_smoke_profile_history_records_both_configs(fmnist):
    h = train(TrainConfig(arch="alexnet"), profile="smoke", device="cpu", data=fmnist, progress=False)
    assert h.profile == "smoke" and h.config["resize"] == 224 and h.run_config["resize"] == 96
    assert "profile smoke ran it as" in h.summary()


def _tiny_loaders(fmnist):
    return loader.loaders(64, 32, train_limit=256, test_limit=128, data=fmnist)


def test_nan_loss_stops_with_epoch_and_lower_lr(fmnist):
    train_iter, test_iter = _tiny_loaders(fmnist)
    cfg = TrainConfig(resize=32, epochs=3, lr=1e6)
    net = make_model(cfg)
    with torch.no_grad():
        net[-1].weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match=r"epoch 1 of 3 \(lr=1e\+06\).*lower learning rate, e\.g\. lr=0\.05") as e:
        train_net(net, train_iter, test_iter, cfg, progress=False)
    assert e.value.history.epochs == []


def test_interrupt_returns_history_so_far(fmnist):
    train_iter, test_iter = _tiny_loaders(fmnist)
    cfg = TrainConfig(resize=32, epochs=5)
    net = make_model(cfg)
    calls = {"n": 0}
    original = net.forward

    def forward(x):
        calls["n"] += 1
        if calls["n"] == 8:  # 4 training + 2 test batches per epoch: this is in epoch 2
            raise KeyboardInterrupt
        return original(x)
    net.forward = forward
    h = train_net(net, train_iter, test_iter, cfg, progress=False)
    assert h.interrupted and len(h.epochs) == 1 and math.isfinite(h.epochs[0]["loss"])


def test_run_loads_a_record_for_its_exact_config(tmp_path, monkeypatch, learned):
    cfg = TrainConfig(**learned.config)
    fake = _as_gpu_run(learned)
    monkeypatch.setattr(records, "RESULTS_DIR", tmp_path)
    records.save_record(fake, tmp_path)
    got = records.find_record(cfg, tmp_path)
    assert got is not None and got.source == "recorded" and got.epochs == learned.epochs
    assert records.find_record(TrainConfig(**{**learned.config, "lr": 0.1}), tmp_path) is None
    with pytest.raises(ValueError, match="only finished full-profile GPU runs"):
        records.save_record(learned, tmp_path)  # a CPU run is never recorded for the book


def test_cli_train_writes_history(tmp_path, monkeypatch):
    from vggbook.__main__ import main
    out = tmp_path / "h.json"
    assert main(["train", "--arch", "vgg11", "--resize", "32", "--profile", "smoke", "--device", "cpu",
                 "--out", str(out)]) == 0
    h = History.load(out)
    assert h.profile == "smoke" and len(h.epochs) == 1 and h.run_config["resize"] == 32
    assert h.speed["compile"] is None


def test_compare_flags_runs_that_disagree(tmp_path, learned):
    rec, new = tmp_path / "rec", tmp_path / "new"
    gpu = _as_gpu_run(learned)
    records.save_record(gpu, rec)
    assert records.compare(rec, rec) == []
    worse = History.from_dict(gpu.to_dict())
    worse.epochs = [dict(e) for e in gpu.epochs]
    worse.epochs[-1]["test_acc"] -= 0.05
    records.save_record(worse, new)
    problems = records.compare(new, rec, tolerance=0.015)
    assert len(problems) == 1 and "more than 0.015 apart" in problems[0]


def test_compare_needs_full_gpu_runs_of_every_record(tmp_path, learned):
    rec, new = tmp_path / "rec", tmp_path / "new"
    gpu = _as_gpu_run(learned)
    records.save_record(gpu, rec)
    other = History.from_dict({**gpu.to_dict(), "config": {**gpu.config, "lr": 0.1},
                               "run_config": {**gpu.run_config, "lr": 0.1}})
    records.save_record(other, rec)
    learned.save(new / records.record_name(TrainConfig(**learned.config)))  # a CPU run, same config
    problems = records.compare(new, rec)
    assert len(problems) == 2
    assert "retrained with profile full on cpu" in problems[0] and "CUDA" in problems[0]
    assert "lr" not in problems[1] and "not retrained" in problems[1]
    assert len(records.compare(new, rec, require_all=False)) == 1


def test_run_writes_what_it_trains_to_the_runs_dir(tmp_path, fmnist):
    settings = Settings(profile="smoke", retrain=True, runs_dir=tmp_path / "retrained")
    cfg = TrainConfig(resize=32, epochs=1)
    kw = dict(device="cpu", data=fmnist, progress=False, verbose=False)
    h = run_cfg(cfg, settings, **kw)
    saved = History.load(tmp_path / "retrained" / records.record_name(cfg))
    assert saved.config == cfg.to_dict() and saved.profile == "smoke" and saved.epochs == h.epochs
    # A second notebook asking for the same configuration gets that run, not a second training...
    again = run_cfg(cfg, settings, **kw)
    assert again.date == h.date and again.epochs == h.epochs
    # ...but another profile trains anew (and replaces the file).
    cpu = run_cfg(cfg, settings.replace(profile="cpu"), **kw)
    assert cpu.profile == "cpu" and History.load(tmp_path / "retrained" / records.record_name(cfg)).profile == "cpu"


def test_run_loads_the_record_unless_asked_to_retrain(fmnist):
    from vggbook.runs import CHAPTER
    recorded = run_cfg(CHAPTER, Settings(profile="smoke"), verbose=False)
    assert recorded.source == "recorded" and recorded.profile == "full"
    fresh = run_cfg(TrainConfig(resize=32, epochs=1), Settings(profile="smoke", retrain=False),
                    device="cpu", data=fmnist, progress=False, verbose=False)
    assert fresh.source == "trained" and fresh.profile == "smoke"  # no record for this config: trains


def test_settings_from_the_environment():
    env = {"VGGBOOK_PROFILE": " Smoke", "VGGBOOK_RETRAIN": "on", "VGGBOOK_DATA": "/d", "VGGBOOK_RUNS_DIR": ""}
    s = Settings.from_env(environ=env)
    assert (s.profile, s.retrain, str(s.data_dir), s.runs_dir) == ("smoke", True, "/d", None)
    assert Settings.from_env(environ={}).retrain is False
    assert Settings.from_env(retrain=True, environ={"VGGBOOK_RETRAIN": "0"}).retrain is True
    with pytest.raises(ValueError, match="VGGBOOK_RETRAIN='maybe' is neither yes nor no"):
        Settings.from_env(environ={"VGGBOOK_RETRAIN": "maybe"})
    with pytest.raises(ValueError, match="VGGBOOK_PROFILE='fast' is not a run profile: use one of full, cpu, smoke"):
        Settings.from_env(environ={"VGGBOOK_PROFILE": "fast"})


def test_cuda_out_of_memory_names_batch_size_and_a_smaller_one(fmnist):
    train_iter, test_iter = _tiny_loaders(fmnist)
    cfg = TrainConfig(resize=32, epochs=1, batch_size=64)
    net = make_model(cfg)

    def forward(x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    net.forward = forward
    with pytest.raises(OutOfMemory, match=r"batch_size=64\. Try batch_size=32"):
        train_net(net, train_iter, test_iter, cfg, progress=False)


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
    train_iter, test_iter = _tiny_loaders(fmnist)
    cfg = TrainConfig(resize=32, epochs=2)
    live = LiveCurves(cfg.epochs)
    h = train_net(make_model(cfg), train_iter, test_iter, cfg, progress=False, on_epoch=live)
    assert len(h.epochs) == 2 and len(shown) == 1 and updated == [shown[0]]  # one figure, redrawn
    assert live.epochs == h.epochs


def test_nan_is_caught_within_check_every_steps(fmnist):
    """A loss that turns NaN mid-epoch stops the run at the next check, not at the epoch's end."""
    from vggbook.train import fit
    train_iter, test_iter = loader.loaders(16, 32, train_limit=256, test_limit=16, data=fmnist)
    net = make_model(TrainConfig(resize=32))
    seen = {"n": 0}
    original = net.forward

    def forward(x):
        seen["n"] += 1
        out = original(x)
        return out * float("nan") if seen["n"] >= 3 else out
    net.forward = forward
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    with pytest.raises(FloatingPointError, match="at step 4 of epoch 1"):
        fit(net, train_iter, test_iter, 1, opt, check_every=4)
    assert seen["n"] == 4  # 16 batches in the epoch: stopped after 4
