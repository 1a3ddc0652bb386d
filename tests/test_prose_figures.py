"""Figures quoted in the prose of 04 and 05 are the recorded runs' and the code's, to the digit shown.

If a record is re-made or the code changes, this fails until the sentence that quotes the figure is
updated: a number in the text can not silently drift away from its source.
"""
import json
import statistics
from pathlib import Path

import pytest

from vggbook import anatomy
from vggbook.models import VGG11_ARCH, alexnet, count_parameters, narrow, vgg
from vggbook.runs import (ALEXNET, CHAPTER, CPU_FP32, CPU_LONGER, CPU_VGG16_BN, DEPTH, IMPROVED, LAB_BN, LAB_HE, LAB_XAVIER,
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


@pytest.mark.parametrize("name,figures", [("04_training", _figures_04), ("05_exercises", _figures_05)])
def test_prose_quotes_the_records(name, figures):
    text = _markdown(name)
    missing = [f for f in figures() if f not in text]
    assert not missing, f"{name}: the prose does not quote these figures of the records/code: {missing}"
