"""Mixed precision on a GPU, as a wrapper around the model: the training loop (train.fit) stays as it is.

`fast(net, optimizer, device)` returns the model and optimizer to give to `fit`. On a GPU with bf16
tensor cores (compute capability 8.0 and up: A100, H100, RTX 30xx/40xx) the model runs under bf16
autocast; on older GPUs (Colab's T4, V100, GTX 1660 Ti), where bf16 is only emulated, under fp16 with
a gradient scaler; on a CPU in fp32. The model returns float32 logits either way.
"""
from __future__ import annotations

import torch
from torch import nn

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def precision_for(device: torch.device, precision: str = "auto") -> str:
    """The precision a run uses on `device`: 'bf16', 'fp16' or 'fp32'.

    Asks for the compute capability, not `torch.cuda.is_bf16_supported()`: that answers True on a
    T4, where bf16 is emulated and slow. A CPU runs fp32.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if device.type != "cuda":
        if precision not in ("auto", "fp32"):
            raise ValueError(f"precision {precision} needs a CUDA GPU; on the CPU use fp32 (or auto)")
        return "fp32"
    if precision != "auto":
        return precision
    major, _ = torch.cuda.get_device_capability(device)
    return "bf16" if major >= 8 else "fp16"


class Autocast(nn.Module):
    """Runs `net` under autocast with `dtype` and returns float32 outputs.

    With a `scaler` (fp16), the gradient that flows back into `net` is multiplied by the scaler's
    current scale, so that small fp16 gradients do not underflow; the outputs are unchanged, so the
    loss and the accuracy read the true values. `ScaledOptimizer` undoes the scale.
    """

    def __init__(self, net: nn.Module, dtype: torch.dtype, scaler=None):
        super().__init__()
        self.net, self.dtype, self.scaler = net, dtype, scaler

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        X = X.contiguous(memory_format=torch.channels_last)  # the weights' layout (see `fast`)
        with torch.autocast("cuda", dtype=self.dtype):
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

    `net` and `optimizer` are on the device already. On a GPU the weights and each batch go
    channels_last (NHWC), the layout of cuDNN's tensor-core kernels.
    """
    chosen = precision_for(device, precision)
    if device.type == "cuda":
        net.to(memory_format=torch.channels_last)
    if chosen == "bf16":
        return Autocast(net, torch.bfloat16), optimizer, chosen
    if chosen == "fp16":
        scaler = torch.amp.GradScaler("cuda")
        return Autocast(net, torch.float16, scaler), ScaledOptimizer(optimizer, scaler), chosen
    return net, optimizer, chosen
