"""07, the lab 「我的 VGG 学不动」: its runs are what it says, and every figure its prose quotes is the
records' or the notebook's code's, to the digit shown.

The measurements at initialisation are recomputed with the notebook's own `layer_stats` (taken out of
the notebook JSON); the run figures come from the CPU records. If a record is re-made or the code
changes, this fails until the sentence that quotes the figure is updated.
"""
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from vggbook import loader
from vggbook.runs import CHAPTER, CPU_VGG16, LAB_BN, LAB_HE, LAB_XAVIER, RECORDED, make_model, recorded, sized

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_vgg_wont_learn.ipynb"
LAB = {"x": LAB_XAVIER, "h": LAB_HE, "b": LAB_BN}
CONVS = [f"conv{i}" for i in range(1, 14)]


def _cells(kind: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == kind]


@pytest.fixture(scope="module")
def prose() -> str:
    return "\n".join(_cells("markdown"))


def _g(v: float) -> str:
    return f"{v:.2g}"


def _sci(v: float) -> str:
    """Two significant figures as the prose writes them: 0.08, 0.0097, or 3.1×10⁻⁵ for 3.1e-05."""
    text = _g(v)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}×10" + str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _missing(figures, text):
    return [f for f in figures if f not in text]


def test_the_lab_runs_are_recorded_cpu_runs_of_300_steps():
    for cfg in LAB.values():
        assert cfg in RECORDED["cpu"] and sized(cfg, "cpu") == cfg  # the cpu profile runs them as set
        assert math.ceil(cfg.train_limit / cfg.batch_size) * cfg.epochs == 300
        h = recorded(cfg, "cpu")
        assert h is not None and h.config == cfg and h.device.startswith("cpu") and not h.interrupted
    assert (LAB_HE.init, LAB_BN.batch_norm, LAB_XAVIER.init) == ("he", True, "xavier")


@pytest.fixture(scope="module")
def stats(fmnist):
    source = next(s for s in _cells("code") if s.startswith("def layer_stats("))
    namespace = {"nn": nn, "pd": pd, "torch": torch}
    exec(compile(source, str(NOTEBOOK), "exec"), namespace)
    X = loader.resize_batch(fmnist.train_images[:128], 32)
    y = fmnist.train_labels[:128]
    return {k: namespace["layer_stats"](make_model(cfg), X, y) for k, cfg in LAB.items()}


def test_prose_quotes_the_measurements_at_initialisation(stats, prose):
    x, h, b = stats["x"], stats["h"], stats["b"]
    factor = {k: (s.loc["conv13", "signal"] / s.loc["conv1", "signal"]) ** (1 / 12) for k, s in stats.items()}
    ratio = pd.concat([s.loc[CONVS, "gradient"] / x.loc[CONVS, "gradient"] for s in (h, b)])
    assert 10 ** 2 <= ratio.min() and ratio.max() < 10 ** 5  # 两到五个数量级
    assert x.loc["conv1", "gradient"] < x.loc["fc3", "gradient"] / 100  # 两个多数量级
    assert h.loc["conv13", "signal"] == h.loc["conv2":"conv13", "signal"].min()
    figures = [
        f"每过一个卷积层约乘以 {_g(factor['x'])}", f"从 conv1 的 {_sci(x.loc['conv1', 'signal'])} 降到 conv13 的 "
        f"{_sci(x.loc['conv13', 'signal'])}", f"只剩 {_sci(x.loc['fc3', 'signal'])}",
        "conv1 的梯度比 fc3 的小两个多数量级",
        f"平均只乘以 {_g(factor['h'])}",
        f"最大 {_g(h.loc['conv2':'conv13', 'signal'].max())}、最小 {_g(h.loc['conv2':'conv13', 'signal'].min())}",
        f"logits 为 {_g(h.loc['fc3', 'signal'])}",
        f"保持在 {_g(b.loc['conv2':'conv13', 'signal'].min())} 到 {_g(b.loc['conv2':'conv13', 'signal'].max())} 之间",
        "大两到五个数量级",
        f"conv1 为 {_g(h.loc['conv1', 'gradient'])} 和 {_g(b.loc['conv1', 'gradient'])}，"
        f"Xavier 为 {_sci(x.loc['conv1', 'gradient'])}",
    ]
    assert not _missing(figures, prose), f"07 does not quote: {_missing(figures, prose)}"


def test_prose_quotes_the_records(fmnist, prose):
    stuck = recorded(CPU_VGG16, "cpu")
    assert all(e["test_acc"] == pytest.approx(0.1) and e["loss"] > math.log(10) for e in stuck.epochs)
    x, h, b = (recorded(cfg, "cpu") for cfg in LAB.values())
    _, labels = loader.subset(fmnist.test_images, fmnist.test_labels, LAB_XAVIER.test_limit)
    share = [round(v, 4) for v in (torch.bincount(labels, minlength=10) / len(labels)).tolist()]
    x_accs = sorted({round(e["test_acc"], 4) for e in x.epochs})
    assert x_accs == [share[6], share[7]]  # shirt and sneaker: one class for every image
    x_losses = [e["loss"] for e in x.epochs]
    assert h.test_acc > 0.5 and b.test_acc > h.test_acc and b.epochs[0]["test_acc"] > h.epochs[0]["test_acc"]
    c = recorded(CHAPTER).epochs
    assert c[0]["test_acc"] < c[1]["train_acc"] < c[1]["test_acc"]
    assert all(e["train_acc"] < e["test_acc"] for e in c[:3]) and all(e["train_acc"] > e["test_acc"] for e in c[3:])
    figures = [
        f"在 {min(x_losses):.4f} 到 {max(x_losses):.4f} 之间来回，最后是 {x.final['loss']:.4f}",
        f"在 {x_accs[0]:.4f} 和 {x_accs[1]:.4f} 之间跳动",
        f"测试精度为 {h.epochs[0]['test_acc']:.3f}，最后训练损失 {h.final['loss']:.3f}，测试精度 {h.test_acc:.3f}",
        f"测试精度就是 {b.epochs[0]['test_acc']:.3f}，最后训练损失 {b.final['loss']:.3f}，测试精度 {b.test_acc:.3f}",
        f"He 初始化的测试精度到了 {h.test_acc:.3f}，加了批量规范化的到了 {b.test_acc:.3f}"
        f"（第一个迭代周期之后就是 {b.epochs[0]['test_acc']:.3f}）",
        f"训练精度 {c[0]['train_acc']:.3f}，测试精度 {c[0]['test_acc']:.3f}",
        f"训练精度 {c[1]['train_acc']:.3f} 落在第 1、2 个周期末的测试精度 {c[0]['test_acc']:.3f} 和 {c[1]['test_acc']:.3f}",
        f"训练精度（{c[3]['train_acc']:.3f}）超过了测试精度（{c[3]['test_acc']:.3f}）",
    ]
    assert not _missing(figures, prose), f"07 does not quote: {_missing(figures, prose)}"


def test_prose_quotes_the_memory_table(prose):
    from vggbook import anatomy
    from vggbook.models import build

    def activations(batch_size=128, size=224, ratio=4):
        with torch.device("meta"):
            table = anatomy.layer_table(build("vgg11", ratio=ratio, input_size=size), (1, 1, size, size),
                                        batch_size=batch_size)
        return anatomy.totals(table)["activation MB"]

    chapter = activations()
    assert activations(batch_size=64) == pytest.approx(chapter / 2)
    assert activations(ratio=2) / chapter == pytest.approx(2, rel=0.02)
    assert activations(ratio=1) / chapter == pytest.approx(4, rel=0.02)
    assert f"96 px 的像素只有 224 px 的 {(96 / 224) ** 2:.0%}" in prose


def test_prose_quotes_the_gpu_records():
    """Part 1's depth runs, part 3's longer CPU runs with batch norm and the improved recipe (GPU)."""
    import statistics

    from vggbook.runs import CPU_VGG16_BN, DEPTH, IMPROVED, SWEEP, at_chance
    text = "\n".join(_cells("markdown"))
    depth = {cfg.arch: recorded(cfg) for cfg in DEPTH}
    median = {a: statistics.median(e["seconds"] for e in h.epochs) for a, h in depth.items()}
    v16, v19 = depth["vgg16"], depth["vgg19"]
    assert at_chance(v16) == 3 and all(e["test_acc"] == pytest.approx(0.1) for e in v19.epochs[:3])
    assert at_chance(v19) == 4 and v19.epochs[3]["loss"] > 0.9 * math.log(10)  # the 4th only begins to leave
    chapter, improved = recorded(CHAPTER), recorded(IMPROVED)
    small = next(recorded(cfg) for cfg in SWEEP if cfg.resize == 32)
    figures = [
        f"{depth['vgg11'].test_acc:.3f} 和 {depth['vgg13'].test_acc:.3f}",
        f"{v16.test_acc:.3f} 和 {v19.test_acc:.3f}",
        f"VGG-16 的前 {at_chance(v16)} 个迭代周期停在随机猜测的水平",
        f"第 4 个刚开始离开（测试精度 {v19.epochs[3]['test_acc']:.3f}",
        "、".join(f"{median[a]:.2f}" for a in ("vgg13", "vgg16", "vgg19")),
        f"{median['vgg11']:.2f} 对 {median['vgg13']:.2f} 秒",
        f"测试精度到了 {recorded(CPU_VGG16_BN, 'cpu').test_acc:.3f}",
        f"只到 {small.test_acc:.3f}",
        f"最终训练损失（{improved.final['loss']:.2f}）反而比本章方案（{chapter.final['loss']:.2f}）高",
        f"从 {chapter.test_acc:.3f} 提高到 {improved.test_acc:.3f}",
    ]
    assert not _missing(figures, text), f"07 does not quote: {_missing(figures, text)}"
