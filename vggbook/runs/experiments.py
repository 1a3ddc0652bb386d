"""Every training run the notebooks show, as data: the recorded full runs must cover exactly these."""
from __future__ import annotations

from .config import TrainConfig

# 04_training: the chapter's narrow VGG-11 at 224 px, and d2l's AlexNet for the comparison.
CHAPTER = TrainConfig()
ALEXNET = TrainConfig(arch="alexnet")

# 05_exercises, exercise 3: 96 px, and a resolution sweep (5 pools need >= 32 px, so 28 is out).
RES_96 = TrainConfig(resize=96)
SWEEP_SIZES = (32, 56, 96, 160, 224)
SWEEP = tuple(TrainConfig(resize=s) for s in SWEEP_SIZES)

# Exercise 4: deeper networks from Table 1, at 96 px to keep the GPU time small.
DEPTH = tuple(TrainConfig(arch=a, resize=96) for a in ("vgg11", "vgg13", "vgg16", "vgg19"))

# Beyond the exercises: a better recipe for the same narrow VGG-11, same 10 epochs at 224 px.
IMPROVED = TrainConfig(batch_norm=True, momentum=0.9, weight_decay=5e-4, schedule="onecycle",
                       lr=0.1, augment=True, label_smoothing=0.1)


# Exercise 4's remedy for the deep plain nets' plateau: the same VGG-16 and recipe, plus batch norm.
DEPTH_BN = TrainConfig(arch="vgg16", resize=96, batch_norm=True)

# Recorded also as CPU runs (cpu profile, results/cpu/): what a reader without a GPU can run in
# minutes. The chapter's VGG-11, and for exercise 4 VGG-16 without and with batch norm.
CPU_RECORDED = (CHAPTER, DEPTH[2], DEPTH_BN)


# Wanted as GPU records but not yet recorded (no GPU at hand when they were added): d2l's own AlexNet
# recipe (its AlexNet section uses lr 0.01), and exercise 4's batch-norm remedy at full size.
# `python -m vggbook record --pending` records them; then they move into the notebooks and all_configs.
ALEXNET_D2L = TrainConfig(arch="alexnet", lr=0.01)
GPU_PENDING = (ALEXNET_D2L, DEPTH_BN)

# Recorded with their trained weights and test predictions (runs/weights.py), for 06: the chapter's model.
MODEL_RECORDED = (CHAPTER,)


def all_configs() -> list[TrainConfig]:
    """Every distinct configuration above, in the order the book shows them."""
    out: list[TrainConfig] = []
    for cfg in (CHAPTER, ALEXNET, RES_96, *SWEEP, *DEPTH, IMPROVED):
        if cfg not in out:
            out.append(cfg)
    return out
