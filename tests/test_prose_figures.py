"""Figures quoted in the prose of 04, 05 and 08 are the recorded runs' and the code's, to the digit shown.

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
    cpu_bf16, cpu_fp32, cpu_longer = (find_record(c, "cpu") for c in (CHAPTER, CPU_FP32, CPU_LONGER))
    steps = json.loads((ROOT / "bench" / "cpu_steps.json").read_text())["rows"]
    step224 = {r["variant"]: r["step_ms"] for r in steps if r["resize"] == 224}
    narrow_vgg = vgg(narrow(VGG11_ARCH, 4))
    return [
        f"{vgg_run.test_acc:.4f}", f"{alex.test_acc:.4f}", f"{vgg_run.test_acc - alex.test_acc:.3f}",
        f"{vgg_run.seconds:.1f} 秒", f"{alex.seconds:.1f} 秒", f"{vgg_run.seconds / alex.seconds:.2f} 倍",
        f"{_median(vgg_run) / _median(alex):.2f} 倍", f"{vgg_run.peak_memory_gib:.2f} GiB 对 {alex.peak_memory_gib:.2f} GiB",
        f"{vgg_run.peak_memory_bytes / alex.peak_memory_bytes:.2f} 倍", f"{3940 / 2460:.2f} 倍",
        f"测试精度为 {vgg_run.test_acc:.3f}",
        f"{count_parameters(narrow_vgg) // 10_000} 万对 {count_parameters(alexnet()) // 10_000} 万",
        f"{anatomy.forward_flops(narrow_vgg) / 1e9:.2f} 对 {anatomy.forward_flops(alexnet()) / 1e9:.2f} GFLOPs",
        f"{find_record(CHAPTER).date[:10]}",
        # the CPU runs: the cpu profile in bf16 and in fp32, and 32 px for 16 epochs
        f"用了 {cpu_fp32.seconds / 60:.1f} 分钟（bf16 为 {cpu_bf16.seconds / 60:.1f} 分钟）",
        f"测试精度为 {cpu_fp32.test_acc:.4f}（bf16 为 {cpu_bf16.test_acc:.4f}）",
        f"32 像素训练 16 个迭代周期用了 {cpu_longer.seconds / 60:.1f} 分钟，测试精度为 {cpu_longer.test_acc:.4f}",
        # 224 px on the CPU, from the measured steps (bench/cpu_steps.json): images/s and 10 epochs of steps
        f"用 bf16 每秒能训练约 {128_000 / step224['fast']:.0f} 张图像，用 fp32 只有约 {128_000 / step224['fp32']:.0f} 张",
        f"光是训练步就要约 {10 * 469 * step224['fast'] / 60_000:.0f} 分钟（fp32 要 {10 * 469 * step224['fp32'] / 3_600_000:.0f} 个小时以上）",
    ]


def _figures_05() -> list[str]:
    depth = {cfg.arch: find_record(cfg) for cfg in DEPTH}
    chapter, improved = find_record(CHAPTER), find_record(IMPROVED)
    sweep = {cfg.resize: find_record(cfg) for cfg in SWEEP}
    alex, small, full = (anatomy.totals(anatomy.layer_table(net, batch_size=128))
                         for net in (alexnet(), vgg(narrow(VGG11_ARCH, 4)), vgg(VGG11_ARCH)))
    return [
        f"{depth['vgg11'].test_acc:.3f} 和 {depth['vgg13'].test_acc:.3f}",
        f"{depth['vgg16'].test_acc:.3f} 和 {depth['vgg19'].test_acc:.3f}",
        f"VGG-16 的前 {at_chance(depth['vgg16'])} 个、VGG-19 的前 {at_chance(depth['vgg19'])} 个",
        "、".join(f"{_median(depth[a]):.2f}" for a in ("vgg13", "vgg16", "vgg19")),
        f"{_median(depth['vgg11']):.2f} 对 {_median(depth['vgg13']):.2f} 秒",
        f"训练损失（{improved.final['loss']:.2f}）反而高于本章训练方案（{chapter.final['loss']:.2f}）",
        f"从 {chapter.test_acc:.3f} 提高到 {improved.test_acc:.3f}",
        # exercise 2: full-width and narrow VGG-11 against AlexNet, from the code (layer outputs at batch 128)
        f"AlexNet 的 {full['GFLOPs'] / alex['GFLOPs']:.1f} 倍（{full['GFLOPs']:.3f} 对 {alex['GFLOPs']:.3f} GFLOPs）",
        f"{full['activation MB'] / alex['activation MB']:.1f} 倍（{full['activation MB']:,.0f} 对 {alex['activation MB']:,.0f} MB",
        f"{small['GFLOPs'] / alex['GFLOPs']:.2f} 倍，激活却是 {small['activation MB'] / alex['activation MB']:.2f} 倍",
        # exercise 3: medians of the sweep (the first epoch's warm-up left out), the 96 px accuracy gap
        "、".join(f"{_median(sweep[s]):.2f}" for s in (32, 56, 96)), f"{_median(sweep[224]):.2f} 秒",
        f"只比 224 像素低 {chapter.test_acc - find_record(RES_96).test_acc:.3f}",
        # exercise 4: the 2-core CPU records (lab 07's three 300-step runs, and batch norm at 6 epochs)
        f"Xavier 的测试精度停在 {find_record(LAB_XAVIER, 'cpu').test_acc:.3f}",
        f"He 初始化到了 {find_record(LAB_HE, 'cpu').test_acc:.3f}",
        f"加批量规范化到了 {find_record(LAB_BN, 'cpu').test_acc:.3f}",
        f"测试精度到了 {find_record(CPU_VGG16_BN, 'cpu').test_acc:.3f}",
        f"的 {sweep[32].test_acc:.3f}（上面扫描中的 GPU 运行）",
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
