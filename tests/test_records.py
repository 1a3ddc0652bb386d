"""The book's recorded runs: one for every run the notebooks show, each what it says it is, and every
number the same as before the records were renamed (tests/old_records.json was taken from the old files)."""
import hashlib
import json
import re
from pathlib import Path

import pytest
import torch

from vggbook import runs
from vggbook.runs import CHAPTER, RECORDED, RESULTS, History

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
    present = {str(p.relative_to(RESULTS)) for p in RESULTS.glob("*/*.json")} - {"cpu/benchmark.json"}
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
        with pytest.raises(ValueError, match=f"{path} 不是这个版本的运行记录.*git checkout -- {path}"):
            runs.History.load(path)


@pytest.mark.parametrize("field,value,said", [
    ("seconds", "12.5", "字段 epochs[1].seconds 应是 float，却是 str '12.5'"),
    ("test_acc", None, "字段 epochs[1].test_acc 应是 float，却是 NoneType None"),
    ("resize", "224", "字段 config.resize 应是 int，却是 str '224'"),
    ("batch_norm", 1, "字段 config.batch_norm 应是 bool，却是 int 1"),
    ("device", 3, "字段 device 应是 str，却是 int 3"),
])
def test_a_field_of_the_wrong_type_is_named_with_the_file(field, value, said, tmp_path):
    d = json.loads((RESULTS / "full" / "vgg11.json").read_text())
    where = d["epochs"][0] if field in d["epochs"][0] else d["config"] if field in d["config"] else d
    where[field] = value
    path = tmp_path / "vgg11.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=re.escape(f"{path} 不是这个版本的运行记录（{said}）")):
        runs.History.load(path)


def test_a_record_of_another_configuration_is_refused(tmp_path, monkeypatch):
    """full/vgg11.json replaced by the 96 px record: not served as the chapter's run."""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "vgg11.json").write_text((RESULTS / "full" / "vgg11-96px.json").read_text())
    monkeypatch.setattr(runs, "RESULTS", tmp_path)
    with pytest.raises(ValueError, match=re.escape("vgg11.json 记录的是另一个配置的运行：resize 96（应为 224）")):
        runs.recorded(CHAPTER)


def test_compare_names_a_broken_run_in_one_line(tmp_path, capsys):
    from vggbook.__main__ import main
    (tmp_path / "full").mkdir()
    d = json.loads((RESULTS / "full" / "vgg11.json").read_text())
    d["epochs"][0]["seconds"] = "12.5"
    (tmp_path / "full" / "vgg11.json").write_text(json.dumps(d))
    assert main(["compare", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{tmp_path / 'full' / 'vgg11.json'} 不是这个版本的运行记录" in err


def test_the_cpu_record_06_looks_inside_keeps_its_weights_and_predictions(fmnist):
    """The weights 06 shows belong to the recorded run: their predictions reproduce the record's."""
    h = runs.recorded(runs.INSIDE, "cpu")
    labels = fmnist.test_labels.tolist()
    assert sum(p == y for p, y in zip(h.predictions, labels)) / 10_000 == pytest.approx(h.test_acc)
    features = runs.load_weights(runs.INSIDE, "cpu", "features")
    assert len(features) == 5 and not features.training
    assert (RESULTS / "cpu" / "vgg11-32px-e6-fp32.features.safetensors").stat().st_size < 3_000_000  # ships


def test_weights_round_trip_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "MODEL_CACHE", tmp_path)
    assert runs.load_weights(CHAPTER, "smoke") is None
    cfg = runs.sized(CHAPTER, "smoke")
    net = runs.make_model(cfg)
    h = History(cfg, "smoke", "cpu", "2026-12-07", torch.__version__)
    with pytest.raises(ValueError, match="只完成了 1 个迭代周期中的 0 个"):  # a stopped run is never cached
        runs.save_weights(net, h)
    assert runs.load_weights(CHAPTER, "smoke") is None
    h.epochs = [{"epoch": 1, "loss": 2.3, "train_acc": 0.1, "test_acc": 0.1, "seconds": 1.0}]
    path = runs.save_weights(net, h)
    back = runs.load_weights(CHAPTER, "smoke")
    assert path.parent == tmp_path and all((a == b).all() for a, b in zip(net.state_dict().values(),
                                                                            back.state_dict().values()))


def test_performance_page_quotes_the_recorded_benchmark():
    b = json.loads((ROOT / "bench" / "benchmark.json").read_text())
    page = (ROOT / "book" / "performance.md").read_text()
    for number in (f"{b['reference_wall_s_for_epochs']:.1f}", f"{b['fast']['wall_s']:.1f}",
                   f"{b['reference']['steady_epoch_s']:.2f}", f"{b['fast']['steady_epoch_s']:.2f}",
                   f"{b['speedup_wall']:.1f} 倍", f"{b['fast']['test_acc']:.4f}", b["date"][:10],
                   b["device"], b["torch_version"],
                   f"记录（{runs.recorded(CHAPTER).seconds:.1f} 秒，测试精度 {runs.recorded(CHAPTER).test_acc:.4f}）"):
        assert number in page, f"book/performance.md does not show {number} from bench/benchmark.json"


def test_performance_page_quotes_the_recorded_cpu_yardstick():
    b = json.loads((RESULTS / "cpu" / "benchmark.json").read_text())
    page = (ROOT / "book" / "performance.md").read_text()
    numbers = [b["date"][:10], b["torch_version"]]
    for size in (32, 96):
        ran = {r["path"]: r for r in b["runs"] if r["resize"] == size}
        numbers += [f"{ran[p]['process_wall_s']:.1f}" for p in ("reference", "plain", "fast")]
        numbers += [f"{ran[p]['test_acc']:.4f}" for p in ("reference", "plain", "fast")]
        numbers += [f"{b['ratios'][f'{size}px']['vs_d2l']:.2f} 倍", f"{b['ratios'][f'{size}px']['vs_fp32']:.2f} 倍"]
    missing = [n for n in numbers if n not in page]
    assert not missing, f"book/performance.md does not show {missing} from vggbook/results/cpu/benchmark.json"


def test_performance_page_quotes_the_cpu_steps_and_the_cpu_records():
    """The CPU half of the 性能 page: bench/cpu_steps.json (step times, fp32 vs bf16 step by step) and
    the cpu profile's three records (bf16, fp32, and 32 px for 16 epochs)."""
    page = (ROOT / "book" / "performance.md").read_text()
    steps = json.loads((ROOT / "bench" / "cpu_steps.json").read_text())
    at = {(r["resize"], r["variant"]): r["step_ms"] for r in steps["rows"]}
    numbers = [f"{at[(s, v)]:.1f}" for s in (32, 96) for v in ("fp32", "fp32+keep-freed", "bf16", "fast", "fast+compile")]
    numbers += [f"{at[(224, 'fp32')]:.0f} 对 {at[(224, 'fast')]:.0f} ms",
                f"{at[(32, 'fp32')] / at[(32, 'fast')]:.1f} 倍（32 像素）", f"{at[(96, 'fp32')] / at[(96, 'fast')]:.1f} 倍（96 像素）"]
    d = steps["drift"]
    numbers += [f"第 {d['steps']} 步 {d['loss_fp32'][-1]:.4f} 对 {d['loss_bf16'][-1]:.4f}", f"{100 * d['weight_gap_relative']:.1f}%"]
    bf, fp, longer = (runs.recorded(c, "cpu") for c in (CHAPTER, runs.CPU_FP32, runs.CPU_LONGER))
    assert (bf.precision, fp.precision, longer.precision) == ("bf16", "fp32", "bf16")
    assert abs(bf.test_acc - fp.test_acc) <= 0.01 and bf.seconds <= 600  # what the cpu profile promises
    numbers += [f"测试精度为 {bf.test_acc:.4f}，用时 {bf.seconds:.1f} 秒", f"测试精度为 {fp.test_acc:.4f}，用时 {fp.seconds:.1f} 秒",
                f"（{longer.seconds:.1f} 秒，测试精度 {longer.test_acc:.4f}）", f"只到 {longer.epochs[9]['test_acc']:.4f}"]
    numbers += [" | ".join(f"{e['test_acc']:.4f}" for e in h.epochs) for h in (bf, fp)]
    missing = [n for n in numbers if n not in page]
    assert not missing, f"book/performance.md does not show {missing} from bench/cpu_steps.json and the CPU records"
