"""The book's recorded runs: one for every run the notebooks show, each what it says it is, and every
number the same as before the records were renamed (tests/old_records.json was taken from the old files)."""
import hashlib
import json
from pathlib import Path

import pytest

from vggbook import runs
from vggbook.runs import CHAPTER, RECORDED, RESULTS

ROOT = Path(__file__).resolve().parent.parent
OLD = json.loads((Path(__file__).parent / "old_records.json").read_text())
CASES = [(profile, cfg) for profile, configs in RECORDED.items() for cfg in configs]


@pytest.mark.parametrize("profile,cfg", CASES, ids=lambda x: x.name() if hasattr(x, "name") else x)
def test_records_are_finished_runs_on_the_right_machine(profile, cfg):
    h = runs.recorded(cfg, profile)
    if h is None:
        pytest.skip(f"{cfg.name()} is not recorded yet: `python -m vggbook record` on a GPU")
    assert h.config == runs.sized(cfg, profile) and h.profile == profile and not h.interrupted
    assert len(h.epochs) == h.config.epochs and [e["epoch"] for e in h.epochs] == list(range(1, h.config.epochs + 1))
    if profile == "full":
        assert h.device.startswith("NVIDIA") and h.peak_memory_bytes > 0 and h.precision == "bf16"
    else:
        # made on a CPU with bf16 instructions: auto chose bf16, unless the run asked for fp32
        assert h.device.startswith("cpu") and h.peak_memory_bytes is None
        assert h.precision == ("bf16" if h.config.precision == "auto" else h.config.precision)


def test_the_notebooks_runs_are_all_recorded():
    missing = [f"{p}/{runs.sized(c, p).name()}" for p, c in CASES if runs.recorded(c, p) is None]
    assert set(missing) <= {"full/alexnet-lr0.01", "full/vgg16-bn-96px"}  # the two the next GPU session records


def test_no_stray_records():
    wanted = {f"{p}/{runs.sized(c, p).name()}.json" for p, c in CASES}
    present = {str(p.relative_to(RESULTS)) for p in RESULTS.glob("*/*.json")}
    assert present <= wanted


@pytest.mark.parametrize("name", sorted(OLD))
def test_renamed_records_keep_every_number(name):
    old, h = OLD[name], runs.History.load(RESULTS / f"{name}.json")
    rows = json.dumps(h.epochs, sort_keys=True)
    assert hashlib.sha256(rows.encode()).hexdigest() == old["epochs_sha256"]
    assert hashlib.sha256(json.dumps(h.predictions).encode()).hexdigest() == old["predictions_sha256"]
    assert (h.test_acc, h.peak_memory_bytes, h.device, h.date) == (
        old["test_acc"], old["peak_memory_bytes"], old["device"], old["date"])
    assert round(h.seconds, 3) == old["seconds"]


def test_a_broken_record_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "vgg11.json"
    for text in ("{not json", "[1, 2]", json.dumps({"config": {"arch": "vgg12"}})):
        path.write_text(text)
        with pytest.raises(ValueError, match=f"{path} is not a run record of this version.*git checkout -- {path}"):
            runs.History.load(path)


def test_the_chapters_cpu_record_keeps_its_weights_and_predictions(fmnist):
    """The weights 06 shows belong to the recorded run: their predictions reproduce the record's."""
    h = runs.recorded(CHAPTER, "cpu")
    labels = fmnist.test_labels.tolist()
    assert sum(p == y for p, y in zip(h.predictions, labels)) / 10_000 == pytest.approx(h.test_acc)
    features = runs.load_weights(CHAPTER, "cpu", "features")
    assert len(features) == 5 and not features.training
    assert (RESULTS / "cpu" / "vgg11-32px-e6-fp32.features.safetensors").stat().st_size < 3_000_000  # ships


def test_weights_round_trip_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "MODEL_CACHE", tmp_path)
    assert runs.load_weights(CHAPTER, "smoke") is None
    net = runs.make_model(runs.sized(CHAPTER, "smoke"))
    path = runs.save_weights(net, CHAPTER, "smoke")
    back = runs.load_weights(CHAPTER, "smoke")
    assert path.parent == tmp_path and all((a == b).all() for a, b in zip(net.state_dict().values(),
                                                                            back.state_dict().values()))


def test_performance_page_quotes_the_recorded_benchmark():
    b = json.loads((ROOT / "bench" / "benchmark.json").read_text())
    page = (ROOT / "book" / "performance.md").read_text()
    for number in (f"{b['reference_wall_s_for_epochs']:.1f}", f"{b['fast']['wall_s']:.1f}",
                   f"{b['reference']['steady_epoch_s']:.2f}", f"{b['fast']['steady_epoch_s']:.2f}",
                   f"{b['speedup_wall']:.1f} 倍", f"{b['fast']['test_acc']:.4f}", b["date"][:10],
                   b["device"], b["torch_version"]):
        assert number in page, f"book/performance.md does not show {number} from bench/benchmark.json"
