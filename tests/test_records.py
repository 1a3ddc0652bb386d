"""The recorded runs that the book shows: every configuration the notebooks ask for has one, and
each is a finished full-profile run on a CUDA GPU."""
import json

import pytest

from vggbook.runs import TrainConfig, experiments, records


@pytest.mark.parametrize("cfg", experiments.all_configs(), ids=lambda c: records.record_name(c))
def test_every_notebook_config_has_a_full_gpu_record(cfg):
    h = records.find_record(cfg)
    assert h is not None, f"no recorded run for {cfg.label()}: run `python -m vggbook record` on a GPU"
    assert h.profile == "full" and h.device.startswith("NVIDIA") and not h.interrupted
    assert h.run_config == h.config and len(h.epochs) == cfg.epochs
    assert h.peak_memory_bytes and h.train_images == 60000 and h.test_images == 10000


def test_no_stray_records():
    wanted = {records.record_name(c) for c in experiments.all_configs()}
    present = {p.name for p in records.RESULTS_DIR.glob("*.json") if not p.name.startswith("benchmark")}
    assert present <= wanted


def test_benchmark_record():
    b = json.loads((records.RESULTS_DIR / "benchmark.json").read_text())
    assert b["device"].startswith("NVIDIA") and b["epochs"] == 10
    assert b["fast"]["epochs_run"] == 10 and b["speedup_wall"] > 1
    assert TrainConfig(**b["fast"]["history"]["config"]).epochs == 10


def test_performance_page_quotes_the_recorded_benchmark():
    from pathlib import Path
    b = json.loads((records.RESULTS_DIR / "benchmark.json").read_text())
    page = (Path(__file__).resolve().parent.parent / "book" / "performance.md").read_text()
    for number in (f"{b['reference_wall_s_for_epochs']:.1f}", f"{b['fast']['wall_s']:.1f}",
                   f"{b['reference']['steady_epoch_s']:.2f}", f"{b['fast']['steady_epoch_s']:.2f}",
                   f"{b['speedup_wall']:.1f} 倍", f"{b['fast']['test_acc']:.4f}", b["date"][:10],
                   b["device"], b["torch_version"]):
        assert number in page, f"book/performance.md does not show {number} from benchmark.json"


@pytest.mark.parametrize("cfg", experiments.MODEL_RECORDED, ids=lambda c: records.record_name(c))
def test_model_records_keep_their_weights_and_predictions(cfg, fmnist):
    """The weights 06 shows belong to the recorded run: their predictions reproduce the record's."""
    from vggbook.runs import weights
    h = records.find_record(cfg, kind="cpu")
    assert h.predictions is not None and len(h.predictions) == 10_000
    labels = fmnist.test_labels.tolist()
    assert sum(p == y for p, y in zip(h.predictions, labels)) / 10_000 == pytest.approx(h.test_acc)
    features = weights.load_features(cfg, kind="cpu")
    assert weights.features_path(cfg).stat().st_size < 3_000_000  # small enough to ship
    assert len(features) == 5 and not features.training


def test_foreign_or_broken_weights_are_refused_by_name(tmp_path, monkeypatch):
    from vggbook.runs import weights
    from vggbook.runs.history import RecordError
    cfg = experiments.MODEL_RECORDED[0]
    broken = tmp_path / "cpu" / weights.features_path(cfg).name
    broken.parent.mkdir()
    broken.write_bytes(b"not a safetensors file")
    monkeypatch.setattr(weights, "CPU_RESULTS_DIR", broken.parent)
    with pytest.raises(RecordError, match="not a readable safetensors file"):
        weights.load_features(cfg)
    from safetensors.torch import save_file
    import torch
    save_file({"0.0.weight": torch.zeros(1)}, str(broken))
    with pytest.raises(RecordError, match="does not fit this network"):
        weights.load_features(cfg)
