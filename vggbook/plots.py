"""Figures: learning curves (also live while training), the architecture drawn to scale.

Figure text is in English, as in d2l-zh's own plots ('train loss', 'test acc'): matplotlib's default
font has no Chinese characters, and Colab has no CJK font installed, so Chinese labels would turn
into empty boxes there. The book's captions and prose say in Chinese what each figure shows.
`use_book_style()` sets font sizes that stay readable when the book scales a figure down to a
column (about 700 px) or a phone screen (about 400 px).
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt

from .models import feature_size

BOOK_STYLE = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 12,
              "ytick.labelsize": 12, "legend.fontsize": 12, "lines.linewidth": 2, "lines.markersize": 5,
              "figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3}


def use_book_style() -> None:
    """Larger fonts and lines for every figure that follows (matplotlib's rcParams)."""
    plt.rcParams.update(BOOK_STYLE)


def plot_history(histories, labels: Sequence[str] | None = None, *, axes=None):
    """Training loss (top) and train/test accuracy (bottom) per epoch for one or more runs.

    A run is anything with `.epochs` (rows of epoch, loss, train_acc, test_acc) and, when no labels
    are given, `.label`: a History of vggbook.runs, for one. One colour per run; in the accuracy
    panel solid lines are test accuracy and dashed lines train accuracy.
    """
    if hasattr(histories, "epochs"):
        histories = [histories]
    labels = labels or [h.label for h in histories]
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(5.0, 5.8), sharex=True, constrained_layout=True)
    for h, label in zip(histories, labels):
        ep = [e["epoch"] for e in h.epochs]
        line, = axes[0].plot(ep, [e["loss"] for e in h.epochs], marker="o", label=label)
        axes[1].plot(ep, [e["train_acc"] for e in h.epochs], ls="--", color=line.get_color())
        axes[1].plot(ep, [e["test_acc"] for e in h.epochs], marker="o", color=line.get_color(), label=label)
    axes[0].set(ylabel="train loss", title="loss (cross-entropy)")
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy: test (solid), train (dashed)")
    axes[0].legend()  # the runs; the accuracy panel's title says which line is which
    for ax in axes:
        ax.grid(alpha=0.3)
    return axes


class LiveCurves:
    """An `on_epoch` callback that draws the learning curves after every epoch, in place.

    Give it to `vggbook.train.fit` (or `runs.run`/`runs.train`) in a notebook:
    `fit(..., on_epoch=LiveCurves(num_epochs))`. The figure appears at the first finished epoch.
    """

    def __init__(self, num_epochs: int, label: str = "run"):
        self.num_epochs, self.label, self.handle = num_epochs, label, None
        self.epochs: list[dict] = []  # the rows seen so far, as plot_history reads them

    def __call__(self, row: dict) -> None:
        from IPython.display import display
        from matplotlib.figure import Figure
        self.epochs.append(row)
        if self.handle is None:  # a Figure outside pyplot: the notebook shows it only through the handle
            self.fig = Figure(figsize=(6.4, 6.4), constrained_layout=True)
            self.axes = self.fig.subplots(2, 1, sharex=True)
        for ax in self.axes:
            ax.clear()
        plot_history(self, [self.label], axes=self.axes)
        for ax in self.axes:
            ax.set_xlim(0.5, self.num_epochs + 0.5)
        done = len(self.epochs)
        left = (self.num_epochs - done) * sum(e["seconds"] for e in self.epochs) / done  # seconds, roughly
        eta = ", done" if done >= self.num_epochs else (f", about {left:.0f} s left" if left < 90
                                                       else f", about {left / 60:.0f} min left")
        self.fig.suptitle(f"epoch {done}/{self.num_epochs}{eta}")
        if self.handle is None:
            self.handle = display(self.fig, display_id=True)
        else:
            self.handle.update(self.fig)


def plot_architecture(conv_arch: Sequence[tuple], input_size: int = 224, *, in_channels: int = 1,
                      fc=(4096, 4096, 10), ax=None, title: str | None = None, ref_channels: int = 512):
    """Every layer as a box: height to scale of its feature map's side, width to scale of its channels.

    Conv layers are blue, pools grey, the fully connected head orange (drawn as bars of its width).
    Widths are scaled against `ref_channels` (not the widest layer of `conv_arch`), so a narrow
    variant drawn next to the full network looks narrower.
    """
    feature_size(conv_arch, input_size)  # raises a clear ValueError if the pools cannot fit
    if ax is None:
        _, ax = plt.subplots(figsize=(6.7, 4.6), constrained_layout=True)
    x, side = 0.0, input_size
    max_c = max(ref_channels, max(c for _, c in conv_arch))
    scale_w = 1.2 / max_c ** 0.5          # width ~ sqrt(channels), so 16 and 512 both stay visible
    scale_h = 1.0 / input_size
    gap, label_step = 0.15, 0.5  # a labelled box takes at least label_step: its rotated label fits

    def box(width, height, color, text=None):
        nonlocal x
        ax.add_patch(plt.Rectangle((x, -height / 2), width, height, facecolor=color, edgecolor="k", lw=0.6))
        if text:
            ax.text(x + width / 2, height / 2 + 0.03, text, ha="center", va="bottom", fontsize=12, rotation=90)
        x += max(width + gap, label_step if text else 0)

    box(0.08, side * scale_h, "#dddddd", f"input {in_channels}×{side}×{side}")
    for i, (num_convs, channels) in enumerate(conv_arch, start=1):
        start = x
        kernels = (3,) * num_convs if isinstance(num_convs, int) else num_convs
        for k in kernels:
            box(max(channels ** 0.5 * scale_w, 0.05), side * scale_h, "#4c72b0", f"conv{k}×{k}-{channels}")
        side //= 2
        box(0.06, side * scale_h, "#999999")
        ax.text((start + x - gap) / 2, -0.62, f"block {i}\n{channels}×{side}²", ha="center",
                va="top", fontsize=12)  # short enough not to run into the next block's label
        x = max(x + gap, start + 2.0)  # room for the label below, also for narrow blocks
    for width in fc:
        box(0.12, min(0.9, 0.2 + width / 4096 * 0.7), "#dd8452", f"FC-{width}")
    ax.set_xlim(-0.1, x)
    ax.set_ylim(-1.6, 2.9)  # room below for the block labels and the legend, above for the layer names
    ax.set_aspect("auto")
    ax.axis("off")
    ax.set_title(title or "VGG: box height ∝ feature-map side, box width ∝ √channels")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(facecolor=c, edgecolor="k", lw=0.6, label=t) for c, t in
                       (("#4c72b0", "conv + ReLU"), ("#999999", "max-pool 2×2/2"),
                        ("#dd8452", "fully connected"))],
              loc="lower center", fontsize=12, frameon=False, ncol=3, bbox_to_anchor=(0.5, -0.04),
              handlelength=1.2, columnspacing=1.0)
    return ax
