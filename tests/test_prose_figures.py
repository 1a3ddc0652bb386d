"""Figures quoted in the prose of 04, 05 and 08 (07's: tests/test_lab.py) are the recorded runs' and the code's, to the digit shown.

If a record is re-made or the code changes, this fails until the sentence that quotes the figure is
updated: a number in the text can not silently drift away from its source.
"""
import functools
import json
import statistics
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vggbook import anatomy
from vggbook.models import VGG11_ARCH, alexnet, build, count_parameters, narrow, vgg
from vggbook.runs import (ALEXNET, ARMS, CHAPTER, SEEDS, CPU_FP32, CPU_LONGER, CPU_VGG16_BN, DEPTH, IMPROVED, LAB_BN, LAB_HE, LAB_XAVIER,
                          RES_96, SWEEP, at_chance)
from vggbook.runs import recorded as find_record

ROOT = Path(__file__).resolve().parent.parent


def _markdown(name: str) -> str:
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _median(h) -> float:
    return statistics.median(e["seconds"] for e in h.epochs)


def _figures_04() -> list[str]:
    vgg_run, alex = find_record(CHAPTER), find_record(ALEXNET)
    return [
        f"{vgg_run.test_acc:.4f}", f"{alex.test_acc:.4f}", f"{vgg_run.test_acc - alex.test_acc:.3f}",
        f"{vgg_run.seconds:.1f} 秒", f"{alex.seconds:.1f} 秒", f"{vgg_run.seconds / alex.seconds:.2f} 倍",
        f"{vgg_run.peak_memory_gib:.2f} GiB 对 {alex.peak_memory_gib:.2f} GiB",
        f"{vgg_run.peak_memory_bytes / alex.peak_memory_bytes:.2f} 倍", f"{3940 / 2460:.2f} 倍",
        f"测试精度为 {vgg_run.test_acc:.3f}", f"{vgg_run.date[:10]}",
        # the cpu profile's run on the book's 2-core CPU, with and without bf16 instructions
        f"有 bf16 指令时约 {find_record(CHAPTER, 'cpu').seconds / 60:.0f} 分钟，"
        f"没有时约 {find_record(CPU_FP32, 'cpu').seconds / 60:.0f} 分钟",
    ]


def _figures_engineering() -> list[str]:
    """book/engineering.md, the appendix that took over 04's engineering: the benchmark, the records, the code."""
    vgg_run, alex = find_record(CHAPTER), find_record(ALEXNET)
    bench = json.loads((ROOT / "bench" / "benchmark.json").read_text())
    steps = json.loads((ROOT / "bench" / "cpu_steps.json").read_text())["rows"]
    step224 = {r["variant"]: r["step_ms"] for r in steps if r["resize"] == 224}
    batches = -(-60_000 // CHAPTER.batch_size)  # 469 steps an epoch
    with torch.device("meta"):
        params = [count_parameters(vgg(narrow(VGG11_ARCH, 4), input_size=s)) for s in (224, 96)]
    return [
        f"一个 {batches} 步的迭代周期里另有 {batches // 50} 次",
        bench["reference"]["d2l_printed"][-1].split(" on ")[0], f"约 {bench['reference']['images_per_s']:,.0f} 张/秒",
        f"VGG 的峰值显存是 {vgg_run.peak_memory_gib:.2f} GiB，AlexNet 是 {alex.peak_memory_gib:.2f} GiB",
        f"峰值是 {bench['reference']['peak_memory_gib']:.2f} GiB，只比 bf16 的 {bench['fast']['peak_memory_gib']:.2f} GiB",
        f"（{bench['reference_wall_s_for_epochs']:.1f} 秒，以 fp32 计算）",
        # 224 px on the CPU, from the measured steps (bench/cpu_steps.json): images/s and 10 epochs of steps
        f"用 bf16 每秒能训练约 {128_000 / step224['fast']:.0f} 张图像，用 fp32 只有约 {128_000 / step224['fp32']:.0f} 张",
        f"光是训练步就要约 {10 * batches * step224['fast'] / 60_000:.0f} 分钟（fp32 要 {10 * batches * step224['fp32'] / 3_600_000:.0f} 个小时以上）",
        f"网络的参数从 {params[0]:,} 个减到 {params[1]:,} 个",
        f"各层输出共 {anatomy.totals(anatomy.layer_table(vgg(VGG11_ARCH)))['activation MB']:.1f} MB",
    ]


@pytest.mark.slow
def test_engineering_page_quotes_the_records_and_runs_its_measurement(capsys):
    """The figures of book/engineering.md, and its saved-activation measurement: the page's code block,
    run here, prints the line the page quotes."""
    import re
    text = (ROOT / "book" / "engineering.md").read_text(encoding="utf-8")
    missing = [f for f in _figures_engineering() if f not in text]
    assert not missing, f"book/engineering.md does not quote these figures of the records/code: {missing}"
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def saved_activation_mb" in b)
    exec(compile(block, "book/engineering.md", "exec"), {"__name__": "engineering"})
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("fp32 ") and f"它打印 `{printed}`" in text, printed
    namespace = {"__name__": "engineering"}
    exec(compile(block.split("\n\nnet, X =")[0], "book/engineering.md", "exec"), namespace)
    full = namespace["saved_activation_mb"](vgg(VGG11_ARCH), torch.randn(1, 1, 224, 224))
    assert f"批量为 1，得到 {full:.1f} MB" in text, full


def _figures_05() -> list[str]:
    chapter, res96 = find_record(CHAPTER), find_record(RES_96)
    alex, small, full = (anatomy.totals(anatomy.layer_table(net, batch_size=128))
                         for net in (alexnet(), vgg(narrow(VGG11_ARCH, 4)), vgg(VGG11_ARCH)))
    return [
        # exercise 2: full-width and narrow VGG-11 against AlexNet, from the code (layer outputs at batch 128)
        f"AlexNet 的 {full['GFLOPs'] / alex['GFLOPs']:.1f} 倍（{full['GFLOPs']:.3f} 对 {alex['GFLOPs']:.3f} GFLOPs）",
        f"{full['activation MB'] / alex['activation MB']:.1f} 倍（{full['activation MB']:,.0f} 对 {alex['activation MB']:,.0f} MB",
        f"{small['GFLOPs'] / alex['GFLOPs']:.2f} 倍，激活却是 {small['activation MB'] / alex['activation MB']:.2f} 倍",
        # exercise 3: the 96 px run against the chapter's (time per epoch about half, peak memory under a third)
        f"只比 224 像素低 {chapter.test_acc - res96.test_acc:.3f}",
        *(["约为 224 像素的一半"] if 0.45 < res96.seconds / chapter.seconds < 0.55 else ["(time ratio moved)"]),
        *(["峰值显存不到三分之一"] if res96.peak_memory_bytes < chapter.peak_memory_bytes / 3 else ["(memory ratio moved)"]),
    ]


@functools.cache
def _arm(name: str) -> list:
    """The 3 seeds' records of one of 08's networks."""
    return [find_record(replace(ARMS[name], seed=seed), "cpu") for seed in SEEDS]


def _acc(name: str) -> str:
    """'mean（min 到 max）' of an arm's test accuracies, as 08 writes them."""
    acc = [h.test_acc for h in _arm(name)]
    return f"{statistics.mean(acc):.4f}（{min(acc):.4f} 到 {max(acc):.4f}）"


def _mean(name: str) -> float:
    return statistics.mean(h.test_acc for h in _arm(name))


def _epoch_s(name: str) -> str:
    return f"{_seconds(name):.1f} 秒"


@functools.cache
def _cost(name: str) -> tuple[int, float]:
    cfg = ARMS[name]
    with torch.device("meta"):
        net = build(cfg.arch, ratio=cfg.ratio, input_size=cfg.resize, pools=cfg.pools, head=cfg.head)
        return count_parameters(net), anatomy.forward_flops(net, (1, 1, cfg.resize, cfg.resize)) / 1e9


def _figures_08() -> list[str]:
    means = [_mean(n) for n in ("A", "A-LRN", "B", "B-5x5", "C", "D")]
    arms = [sum(h.seconds for h in _arm(n)) for n in ARMS]
    total = sum(arms)
    return [
        f"全部 {len(ARMS) * len(SEEDS)} 次运行", f"共训练了约 {total / 60:.0f} 分钟",
        f"3 次运行要 {min(arms) / 60:.0f} 到 {max(arms) / 60:.0f} 分钟",
        # 1. the paper's design choices at 3 epochs
        f"B-5x5 的测试精度均值是 {_acc('B-5x5')}，B 是 {_acc('B')}",
        f"B-5x5 高 {_mean('B-5x5') - _mean('B'):.4f}",
        f"（{_epoch_s('B-5x5')}对 {_epoch_s('B')}）",
        f"（{_cost('B-5x5')[1]:.3f} 对 {_cost('B')[1]:.3f} GFLOPs）",
        f"C 是 {_acc('C')}，D 是 {_acc('D')}",
        f"A 是 {_acc('A')}，A-LRN 是 {_acc('A-LRN')}",
        f"每个迭代周期从 {_epoch_s('A')}变成 {_epoch_s('A-LRN')}",
        f"六个网络的均值都在 {min(means):.3f} 到 {max(means):.3f} 之间",
        # ... and at 6 epochs
        f"B 的均值是 {_acc('B-e6')}，B-5x5 是 {_acc('B-5x5-e6')}。B 高 {_mean('B-e6') - _mean('B-5x5-e6'):.4f}",
        f"B 涨了 {_mean('B-e6') - _mean('B'):.4f}，B-5x5 涨了 {_mean('B-5x5-e6') - _mean('B-5x5'):.4f}",
        f"B 的均值反超（{_mean('B-e6'):.4f} 对 {_mean('B-5x5-e6'):.4f}）",
        # 2. no upsampling: fewer pools at 28 px against 32 and 96 px
        f"放大到 96 像素的网络测试精度是 {_acc('96px')}，不放大、只留 3 个汇聚层的是 {_acc('28px-3pools')}",
        f"高 {_mean('96px') - _mean('28px-3pools'):.4f}",
        f"{_cost('96px')[1] / _cost('28px-3pools')[1]:.1f} 倍的计算量（{_cost('96px')[1]:.3f} 对 {_cost('28px-3pools')[1]:.3f} GFLOPs）",
        f"{_seconds('96px') / _seconds('28px-3pools'):.1f} 倍的训练时间（每个迭代周期 {_epoch_s('96px')}对 {_epoch_s('28px-3pools')}）",
        f"只留 2 个汇聚层的网络是 {_acc('28px-2pools')}，计算量 {_cost('28px-2pools')[1]:.3f} GFLOPs，每个迭代周期 {_epoch_s('28px-2pools')}",
        f"高 {_mean('28px-2pools') - _mean('28px-3pools'):.4f}），但仍比 96 像素的低 {_mean('96px') - _mean('28px-2pools'):.4f}",
        f"计算量是 96 像素的 {100 * _cost('28px-2pools')[1] / _cost('96px')[1]:.0f}%，训练时间是 {100 * _seconds('28px-2pools') / _seconds('96px'):.0f}%",
        f"{_mean('A'):.4f} 对 {_mean('28px-3pools'):.4f}，范围重叠",
        f"它的计算量是 {_cost_224():.3f} GFLOPs，约是 96 像素的 {_cost_224() / _cost('96px')[1]:.1f} 倍",
        f"96 像素只比 224 像素低 {find_record(CHAPTER).test_acc - find_record(RES_96).test_acc:.3f}",
        # the GPU size sweep (the chapter's recipe), moved here from 05: medians without the warm-up epoch
        "、".join(f"{_median(find_record(c)):.2f}" for c in SWEEP if c.resize in (32, 56, 96)),
        f"也只增加到 {_median(find_record(SWEEP[-1])):.2f} 秒",
        f"32 像素时它占了 {_fc_share(32):.0%}，56 像素时占 {_fc_share(56):.0%}",
        f"计算量只增加到 {_sweep_gflops(224) / _sweep_gflops(32):.0f} 倍，而像素数是 {(224 / 32) ** 2:.0f} 倍",
        f"拿回这个差距的约 {100 * (_mean('28px-2pools') - _mean('28px-3pools')) / (_mean('96px') - _mean('28px-3pools')):.0f}%",
        # 3. the GAP head
        f"整个网络从 {_cost('28px-3pools')[0]:,} 个参数减到 {_cost('28px-3pools-gap')[0]:,} 个（约 1/{_cost('28px-3pools')[0] / _cost('28px-3pools-gap')[0]:.0f}）",
        f"从 {8 * _cost('28px-3pools')[0] / 2**20:.1f} MiB 减到 {8 * _cost('28px-3pools-gap')[0] / 2**20:.1f} MiB",
        f"计算量从 {_cost('28px-3pools')[1]:.3f} 降到 {_cost('28px-3pools-gap')[1]:.3f} GFLOPs",
        f"约 {100 * (1 - _cost('28px-3pools-gap')[1] / _cost('28px-3pools')[1]):.0f}% 的计算量",
        f"每个迭代周期从 {_epoch_s('28px-3pools')}降到 {_epoch_s('28px-3pools-gap')}（{_seconds('28px-3pools') / _seconds('28px-3pools-gap'):.1f} 倍）",
        f"测试精度是 {_acc('28px-3pools-gap')}，比本章的头部的 {_acc('28px-3pools')}低 {_mean('28px-3pools') - _mean('28px-3pools-gap'):.4f}",
        # the summary
        f"（{_mean('B-5x5'):.4f} 对 {_mean('B'):.4f}）",
        f"慢了约 {100 * (_seconds('A-LRN') / _seconds('A') - 1):.0f}%",
        f"（{_mean('28px-3pools'):.4f} 对 {_mean('96px'):.4f}）",
        f"参数减到约 1/{_cost('28px-3pools')[0] / _cost('28px-3pools-gap')[0]:.0f}，在 CPU 上每个迭代周期快 {_seconds('28px-3pools') / _seconds('28px-3pools-gap'):.1f} 倍，测试精度低 {_mean('28px-3pools') - _mean('28px-3pools-gap'):.4f}",
        f"最多相差 {max(max(a) - min(a) for a in ([h.test_acc for h in _arm(n)] for n in ARMS)):.4f}",
    ]


def _sweep_table(size: int):
    """The layer table of the narrow VGG-11 at `size` px (08's size sweep, the chapter's network)."""
    with torch.device("meta"):
        return anatomy.layer_table(vgg(narrow(VGG11_ARCH, 4), input_size=size), (1, 1, size, size), batch_size=128)


def _fc_share(size: int) -> float:
    t = _sweep_table(size)
    return t.loc[t["type"] == "Linear", "FLOPs"].sum() / t["FLOPs"].sum()


def _sweep_gflops(size: int) -> float:
    return anatomy.totals(_sweep_table(size))["GFLOPs"]


def _seconds(name: str) -> float:
    return statistics.median(e["seconds"] for h in _arm(name) for e in h.epochs)


def _cost_224() -> float:
    cfg = replace(ARMS["A"], resize=224)
    with torch.device("meta"):
        net = build(cfg.arch, ratio=cfg.ratio, input_size=224)
        return anatomy.forward_flops(net, (1, 1, 224, 224)) / 1e9


@pytest.mark.parametrize("name,figures", [("04_training", _figures_04), ("05_exercises", _figures_05),
                                          ("08_claims_measured", _figures_08)])
def test_prose_quotes_the_records(name, figures):
    text = _markdown(name)
    missing = [f for f in figures() if f not in text]
    assert not missing, f"{name}: the prose does not quote these figures of the records/code: {missing}"
