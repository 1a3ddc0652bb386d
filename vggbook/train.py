"""The chapter's training loop: d2l.train_ch6's recipe, written so that it is also fast on a GPU.

Same recipe as `d2l.train_ch6`: Xavier-uniform weights, minibatch SGD, cross-entropy, the test
accuracy after every epoch. Two differences, both about speed, not about what is computed:
- the loss and the accuracy are summed on the device; the host reads them at the end of the epoch,
  and looks at the loss for a NaN every `check_every` steps (d2l reads them after every batch, which
  makes the CPU wait for the GPU 469 times per epoch);
- epochs are timed with CUDA events on a GPU, not with host clocks around asynchronous work.
Mixed precision does not appear in `fit`: `fast`, at the end of this file, wraps the model before
`fit` is called (bf16 or fp16 autocast on a GPU, bf16 on a CPU with bf16 instructions, fp32 on
other CPUs). Choosing, recording and loading runs is `runs.py`'s job.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import time

import torch
from torch import nn


def init_weights(module: nn.Module) -> None:
    """Xavier-uniform weights for Linear and Conv2d, as d2l.train_ch6 does (biases keep PyTorch's)."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)


def init_he(module: nn.Module) -> None:
    """He (Kaiming) initialisation for Linear and Conv2d: weights with variance 2 / fan_in, which
    keeps the signal's scale through ReLU layers (Xavier's halves it at every ReLU), zero biases.

    torchvision's VGG draws its convs with fan_out and its Linear layers with std 0.01, and trains
    with momentum 0.9; with the chapter's plain SGD that small head did not leave the plateau in
    300 steps on this book's CPU runs, while He for every layer did (the lab, 07).
    """
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


def evaluate_accuracy(net, data_iter):
    """Accuracy on `data_iter`, as a tensor on the device (no sync)."""
    net.eval()
    device = next(net.parameters()).device
    correct, n = torch.zeros((), dtype=torch.int64, device=device), 0
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            correct += (net(X).argmax(dim=1) == y).sum()
            n += len(y)
    return correct / n


class Timer:
    """Seconds between start() and stop(): CUDA events on a GPU, the host clock on a CPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def start(self) -> None:
        self.t0 = time.perf_counter()
        if self.cuda:
            self.begin, self.end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            self.begin.record()

    def stop(self) -> float:
        """Waits for the device (a host-device sync point) and returns the seconds elapsed."""
        if not self.cuda:
            return time.perf_counter() - self.t0
        self.end.record()
        self.end.synchronize()
        return self.begin.elapsed_time(self.end) / 1000


def fit(net, train_iter, test_iter, num_epochs, optimizer, *,
        loss=None, scheduler=None, on_epoch=None, check_every=50):
    """Train `net` like d2l.train_ch6; return one dict of metrics per epoch.

    `on_epoch(row)` runs after every epoch (live curves, a progress bar).
    A loss that becomes NaN stops the run within `check_every` steps
    (FloatingPointError). Ctrl-C stops it too, keeping the finished epochs.
    """
    loss = loss or nn.CrossEntropyLoss()
    device = next(net.parameters()).device
    timer, rows = Timer(device), []
    try:
        for epoch in range(1, num_epochs + 1):
            timer.start()
            net.train()
            # Summed on the device: the host does not wait inside the epoch.
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), dtype=torch.int64, device=device)
            n = 0
            for i, (X, y) in enumerate(train_iter, start=1):
                X, y = X.to(device), y.to(device)
                y_hat = net(X)
                l = loss(y_hat, y)
                optimizer.zero_grad()
                l.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                loss_sum += l.detach() * len(y)
                correct += (y_hat.argmax(dim=1) == y).sum()
                n += len(y)
                # A look at the loss every check_every steps (a host sync).
                if i % check_every == 0 and not torch.isfinite(loss_sum):
                    raise FloatingPointError(
                        f"训练损失在第 {epoch} 个迭代周期的第 {i} 步"
                        f"变成了 {loss_sum.item()}")
            test_acc = evaluate_accuracy(net, test_iter)
            # End of the epoch: wait for the device (timer.stop), then
            # read the three numbers back in one go.
            seconds = timer.stop()
            loss_total, train_correct, test_acc = torch.stack(
                [loss_sum, correct.float(), test_acc.float()]).tolist()
            if not math.isfinite(loss_total):
                raise FloatingPointError(
                    f"训练损失在第 {epoch} 个迭代周期变成了 {loss_total}")
            row = {"epoch": epoch, "loss": loss_total / n,
                   "train_acc": train_correct / n, "test_acc": test_acc,
                   "seconds": seconds}
            rows.append(row)
            if on_epoch is not None:
                on_epoch(row)
    except KeyboardInterrupt:
        print(f"训练被中断：保留已完成的 {len(rows)} 个迭代周期。")
    return rows


# Mixed precision, as a wrapper around the model: `fit` stays as it is.
PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512_BF16 or AMX), as PyTorch reports it.

    On other x86 CPUs (AVX2 laptops, many cloud Xeons) bf16 is emulated and slower than fp32; on ARM
    CPUs (Apple's included) the book has not measured it, and they run fp32 too.
    """
    return bool(torch.backends.mkldnn.is_available()
                and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()))


def precision_for(device: torch.device, precision: str = "auto") -> str:
    """The precision a run uses on `device`: 'bf16', 'fp16' or 'fp32'.

    On a GPU it asks for the compute capability, not `torch.cuda.is_bf16_supported()`: that answers
    True on a T4, where bf16 is emulated and slow. On a CPU: bf16 where the CPU has bf16
    instructions, fp32 elsewhere.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"没有名为 {precision!r} 的精度：可选 {', '.join(PRECISIONS)}")
    if device.type != "cuda":
        if precision == "fp16":
            raise ValueError("fp16 精度需要 CUDA GPU：在 CPU 上用 bf16、fp32 或 auto")
        if precision != "auto":
            return precision
        return "bf16" if cpu_has_bf16() else "fp32"
    if precision != "auto":
        return precision
    major, _ = torch.cuda.get_device_capability(device)
    return "bf16" if major >= 8 else "fp16"


def keep_freed_memory() -> bool:
    """Let this process's C allocator (glibc's malloc) reuse the large blocks it frees.

    A training step on a CPU allocates and frees the same large tensors every step (the bf16 copies
    of the weights, the gradients, the activations). By default glibc gives each large block its
    own fresh memory from the kernel, which zero-fills every page on its first touch: at 32 px that
    was about 40% of a bf16 step on this book's 2-core CPU. After this call freed blocks stay in the
    process for the next step (the process keeps its peak memory until it exits). Returns False
    where the C library has no `mallopt` (macOS, Windows, musl), and changes nothing there.
    Nothing in the package calls it behind the caller's back: the command line and the benchmark do,
    and a notebook that wants it says so in a cell.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's malloc.h
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))


class Autocast(nn.Module):
    """Runs `net` under autocast with `dtype` and returns float32 outputs.

    With a `scaler` (fp16), the gradient that flows back into `net` is multiplied by the scaler's
    current scale, so that small fp16 gradients do not underflow; the outputs are unchanged, so the
    loss and the accuracy read the true values. `ScaledOptimizer` undoes the scale.
    """

    def __init__(self, net: nn.Module, dtype: torch.dtype, scaler=None, device_type: str = "cuda"):
        super().__init__()
        self.net, self.dtype, self.scaler, self.device_type = net, dtype, scaler, device_type

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if X.dim() == 4:  # a batch of images: the weights' layout (see `fast`)
            X = X.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device_type, dtype=self.dtype):
            out = self.net(X).float()
        if self.scaler is None or not torch.is_grad_enabled():
            return out
        scaled = self.scaler.scale(out)                    # out * scale: its gradient is the scale
        return out.detach() + (scaled - scaled.detach())   # the value of `out`, the gradient of `scaled`


class ScaledOptimizer:
    """fp16's optimizer: unscales the gradients, skips a step that overflowed, adapts the scale.

    GradScaler reads one number back to the host per step: fp16 runs pay one sync per step.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler):
        self.optimizer, self.scaler = optimizer, scaler

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.scaler.step(self.optimizer)
        self.scaler.update()


def fast(net: nn.Module, optimizer, device: torch.device, precision: str = "auto"):
    """(model, optimizer, precision) that train `net` on `device` in the precision it does best.

    `net` and `optimizer` are on the device already. On a GPU, and with bf16 on a CPU, the weights
    and each batch go channels_last (NHWC), the layout of cuDNN's tensor-core kernels and of oneDNN's
    bf16 kernels. It changes nothing outside `net`: keeping freed memory on a CPU is a choice of the
    caller's process (`keep_freed_memory`), made by the command line and the benchmark.
    """
    chosen = precision_for(device, precision)
    if device.type == "cuda" or chosen == "bf16":
        net.to(memory_format=torch.channels_last)
    if chosen == "bf16":
        return Autocast(net, torch.bfloat16, device_type=device.type), optimizer, chosen
    if chosen == "fp16":
        scaler = torch.amp.GradScaler("cuda")
        return Autocast(net, torch.float16, scaler), ScaledOptimizer(optimizer, scaler), chosen
    return net, optimizer, chosen
