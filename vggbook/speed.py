"""Speed: what wraps the plain training loop (train.fit) to make it fast on a GPU.

`fit` is the chapter's recipe and knows nothing of devices. `accelerated(net, device, speed)` is
set up once around it and gives back the module to train:
- bf16 autocast: the model runs its convs and matmuls in bf16 on the tensor cores and returns
  float32 logits, so the loss and the accuracy are computed as before;
- channels_last: the weights (and, in the loader, the images) in NHWC, the layout cuDNN's
  tensor-core kernels want;
- cudnn.benchmark: cuDNN times its algorithms for each new shape and keeps the fastest;
- torch.compile (a mode, or None), and a host sync before every batch to measure what d2l's
  per-batch `.item()` costs.
Every process-wide setting it changes (cudnn.benchmark) is restored on exit. On a CPU only compile
applies: the rest are GPU switches. `tools/bench.py` measures what each switch buys.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


@dataclass(frozen=True)
class Speed:
    """How a run uses the device. The defaults are the fast path."""
    bf16: bool = True                # bf16 autocast on a GPU (a CPU always runs fp32)
    channels_last: bool = True       # NHWC tensors on a GPU, the layout cuDNN's tensor-core kernels want
    cudnn_benchmark: bool = True     # let cuDNN time its algorithms for each new shape, then keep the best
    sync_every_batch: bool = False   # wait for the GPU before every batch, as d2l.train_ch6's .item() does
    compile: str | None = None       # a torch.compile mode (see COMPILE_MODES); None: run eagerly

    def __post_init__(self):
        if self.compile is not None and self.compile not in COMPILE_MODES:
            raise ValueError(f"unknown compile mode {self.compile!r}: use None or one of {', '.join(COMPILE_MODES)}")

    def label(self) -> str:
        """What differs from the fast path's defaults, e.g. 'fp32, compile=default' ('' for the defaults)."""
        switched = [name for field_name, name in (("bf16", "fp32"), ("channels_last", "NCHW"),
                                                   ("cudnn_benchmark", "no cudnn.benchmark"),
                                                   ("sync_every_batch", "host sync every batch"))
                    if getattr(self, field_name) != getattr(Speed, field_name)]
        if self.compile is not None:
            switched.append(f"compile={self.compile}")
        return ", ".join(switched)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class Autocast(nn.Module):
    """Runs `net` under autocast with `dtype` and returns float32 outputs."""

    def __init__(self, net: nn.Module, device_type: str, dtype: torch.dtype):
        super().__init__()
        self.net, self.device_type, self.dtype = net, device_type, dtype

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=self.dtype):
            return self.net(X).float()


def _wait_for(device: torch.device) -> None:
    """Block the host until the device has done all queued work (nothing to wait for on a CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def accelerated(net: nn.Module, device: torch.device, speed: Speed = Speed()):
    """Move `net` to `device` and yield the module that trains it with `speed`'s settings.

    The optimizer is built on `net.parameters()` (the yielded module shares them). On exit, every
    process-wide setting changed here is as it was.
    """
    cuda = device.type == "cuda"
    layout = torch.channels_last if cuda and speed.channels_last else torch.contiguous_format
    net = net.to(device, memory_format=layout)
    model = Autocast(net, "cuda", torch.bfloat16) if cuda and speed.bf16 else net
    hooks = []
    if speed.sync_every_batch:  # before each training batch: the host waits, as after d2l's .item()
        hooks.append(model.register_forward_pre_hook(lambda m, args: _wait_for(device) if m.training else None))
    if speed.compile is not None:
        torch._dynamo.reset()  # forget earlier runs' graphs: each run compiles its own model afresh
        model = torch.compile(model, mode=speed.compile, dynamic=False)
    saved = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = cuda and speed.cudnn_benchmark
    try:
        yield model
    finally:
        torch.backends.cudnn.benchmark = saved
        for h in hooks:
            h.remove()
