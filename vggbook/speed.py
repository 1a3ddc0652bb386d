"""Speed: what wraps the plain training loop (train.fit) to make it fast on a GPU.

`fit` is the chapter's recipe and knows nothing of devices. `accelerated(net, device, speed)` is
set up once around it and gives back the module to train:
- mixed precision, chosen by the device (`precision_for`): bf16 autocast on GPUs with bf16 tensor
  cores (compute capability 8.0 and up: A100, H100, RTX 30xx/40xx); fp16 autocast with a gradient
  scaler on older ones (T4 as on Colab's free tier, V100, GTX 1660 Ti), where bf16 is only emulated;
  fp32 on a CPU. The model returns float32 logits, so the loss and the accuracy are computed as before;
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
PRECISIONS = ("auto", "bf16", "fp16", "fp32")


@dataclass(frozen=True)
class Speed:
    """How a run uses the device. The defaults are the fast path."""
    precision: str = "auto"          # 'auto' (bf16 or fp16 by the GPU, fp32 on a CPU), 'bf16', 'fp16' or 'fp32'
    channels_last: bool = True       # NHWC tensors on a GPU, the layout cuDNN's tensor-core kernels want
    cudnn_benchmark: bool = True     # let cuDNN time its algorithms for each new shape, then keep the best
    sync_every_batch: bool = False   # wait for the GPU before every batch, as d2l.train_ch6's .item() does
    pool_first: bool = False         # max-pool before the ReLU that precedes it: same numbers, 1/4 of the ReLU's traffic
    compile: str | None = None       # a torch.compile mode (see COMPILE_MODES); None: run eagerly

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")
        if self.compile is not None and self.compile not in COMPILE_MODES:
            raise ValueError(f"unknown compile mode {self.compile!r}: use None or one of {', '.join(COMPILE_MODES)}")

    def label(self) -> str:
        """What differs from the fast path's defaults, e.g. 'fp32, compile=default' ('' for the defaults)."""
        switched = [] if self.precision == "auto" else [self.precision]
        switched += [name for field_name, name in (("channels_last", "NCHW"),
                                                   ("cudnn_benchmark", "no cudnn.benchmark"),
                                                   ("sync_every_batch", "host sync every batch"),
                                                   ("pool_first", "pool before ReLU"))
                    if getattr(self, field_name) != getattr(Speed, field_name)]
        if self.compile is not None:
            switched.append(f"compile={self.compile}")
        return ", ".join(switched)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Speed":
        """Speed from a run file; files written before `precision` existed say `bf16: false` for fp32."""
        d = dict(d)
        if d.pop("bf16", True) is False and d.get("precision", "auto") == "auto":
            d["precision"] = "fp32"
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def precision_for(device: torch.device, speed: Speed = Speed()) -> str:
    """The precision a run uses on `device`: 'bf16', 'fp16' or 'fp32'.

    Asks for the compute capability, not `torch.cuda.is_bf16_supported()`: that answers True on a
    T4, where bf16 is emulated and slow. A CPU always runs fp32 here.
    """
    if device.type != "cuda":
        return "fp32"
    if speed.precision != "auto":
        return speed.precision
    major, _ = torch.cuda.get_device_capability(device)
    return "bf16" if major >= 8 else "fp16"


class Autocast(nn.Module):
    """Runs `net` under autocast with `dtype` and returns float32 outputs.

    With a `scaler` (fp16), the gradient that flows back into `net` is multiplied by the scaler's
    current scale, so that small fp16 gradients do not underflow to zero; the outputs themselves are
    unchanged, so the loss and the accuracy read the true values. `ScaledOptimizer` undoes the scale.
    """

    def __init__(self, net: nn.Module, device_type: str, dtype: torch.dtype, scaler=None):
        super().__init__()
        self.net, self.device_type, self.dtype, self.scaler = net, device_type, dtype, scaler

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=self.dtype):
            out = self.net(X).float()
        if self.scaler is None or not torch.is_grad_enabled():
            return out
        scaled = self.scaler.scale(out)          # out * scale: its gradient is the scale
        return out.detach() + (scaled - scaled.detach())  # the value of `out`, the gradient of `scaled`


class ScaledOptimizer:
    """An optimizer for fp16 training: unscales the gradients, skips a step whose gradients overflowed
    and adapts the scale (torch.amp.GradScaler). Used like the optimizer it wraps.

    GradScaler reads one number per step back to the host to decide whether to skip: fp16 runs pay
    one host-device sync per step that bf16 and fp32 runs do not.
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


def pool_before_relu(net: nn.Module) -> nn.Module:
    """The same network with every `ReLU, MaxPool2d` pair swapped to `MaxPool2d, ReLU`, in place.

    max and ReLU commute exactly (ReLU is monotone), so outputs and gradients are unchanged; the ReLU
    then reads and writes a quarter of the elements. The parameters are the same objects.
    """
    for module in net.modules():
        if isinstance(module, nn.Sequential):
            layers = list(module)
            for i in range(len(layers) - 1):
                if isinstance(layers[i], nn.ReLU) and isinstance(layers[i + 1], nn.MaxPool2d):
                    module[i], module[i + 1] = layers[i + 1], layers[i]
    return net


def _wait_for(device: torch.device) -> None:
    """Block the host until the device has done all queued work (nothing to wait for on a CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def accelerated(net: nn.Module, optimizer, device: torch.device, speed: Speed = Speed()):
    """Move `net` to `device`; yield (model, optimizer) that train it with `speed`'s settings.

    `optimizer` is built on `net.parameters()` beforehand (moving a module keeps its Parameter
    objects); for fp16 the yielded optimizer wraps it. On exit, every process-wide setting changed
    here is as it was.
    """
    cuda = device.type == "cuda"
    layout = torch.channels_last if cuda and speed.channels_last else torch.contiguous_format
    net = net.to(device, memory_format=layout)
    if speed.pool_first:
        pool_before_relu(net)
    precision = precision_for(device, speed)
    model = net
    if precision == "bf16":
        model = Autocast(net, "cuda", torch.bfloat16)
    elif precision == "fp16":
        scaler = torch.amp.GradScaler("cuda")
        model, optimizer = Autocast(net, "cuda", torch.float16, scaler), ScaledOptimizer(optimizer, scaler)
    hooks = []
    if speed.sync_every_batch:  # before each training batch: the host waits, as after d2l's .item()
        hooks.append(model.register_forward_pre_hook(lambda m, args: _wait_for(device) if m.training else None))
    if speed.compile is not None:
        torch._dynamo.reset()  # forget earlier runs' graphs: each run compiles its own model afresh
        model = torch.compile(model, mode=speed.compile, dynamic=False)
    saved = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = cuda and speed.cudnn_benchmark
    try:
        yield model, optimizer
    finally:
        torch.backends.cudnn.benchmark = saved
        for h in hooks:
            h.remove()
