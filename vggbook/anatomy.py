"""Look inside a network: the chapter's shape trace, a per-layer table, FLOPs and activation memory.

Conventions, printed with the numbers:
- FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode`: 2 per multiply-add of convolutions
  and matrix products; ReLU, pooling, dropout and bias additions count 0 (they are < 1 % here).
- Activation memory is the size of every layer's output for one forward pass at the given batch size,
  float32 by default: roughly what autograd keeps for the backward pass.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

FLOP_CONVENTION = ("FLOPs: 2 per multiply-add (torch.utils.flop_counter); ReLU, pooling and "
                   "bias additions are not counted")


def trace(net: nn.Module, X: torch.Tensor, *, deep: bool = False) -> list[tuple[str, tuple[int, ...]]]:
    """Print each top-level layer's output shape, as the chapter does (deep=True: every leaf layer).

    Returns the (layer name, output shape) rows that it printed.
    """
    rows = []

    def walk(module: nn.Module, X: torch.Tensor, prefix: str) -> torch.Tensor:
        for name, layer in module.named_children():
            qual = f"{prefix}{name}"
            if deep and isinstance(layer, nn.Sequential):
                X = walk(layer, X, qual + ".")
                continue
            X = layer(X)
            label = f"{qual:>5} {type(layer).__name__}" if deep else type(layer).__name__
            print(f"{label} output shape:\t{tuple(X.shape)}")
            rows.append((label, tuple(X.shape)))
        return X

    with torch.no_grad():
        walk(net, X, "")
    return rows


def _leaves(net: nn.Module):
    return [(n, m) for n, m in net.named_modules() if not list(m.children())]


def layer_table(net: nn.Module, input_size=(1, 1, 224, 224), *, batch_size: int = 1,
                bytes_per_element: int = 4):
    """A pandas DataFrame with one row per leaf layer.

    Columns: layer (its name in the model), type, output shape, params, FLOPs (forward, for one image),
    activation MB (its output at `batch_size`, `bytes_per_element` bytes per number).
    """
    import pandas as pd

    records = []
    hooks = [m.register_forward_hook(
        lambda mod, inp, out, name=name: records.append((name, mod, inp, out)))
        for name, m in _leaves(net)]
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(torch.zeros(input_size))
    finally:
        for h in hooks:
            h.remove()
        net.train(was_training)
    rows = []
    per_image = input_size[0]
    for name, mod, inp, out in records:
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            mod(*inp)
        rows.append({
            "layer": name,
            "type": type(mod).__name__,
            "output shape": "×".join(map(str, out.shape[1:])),
            "params": sum(p.numel() for p in mod.parameters()),
            "FLOPs": fc.get_total_flops() // per_image,
            "activation MB": out[0].numel() * batch_size * bytes_per_element / 1e6,
        })
    return pd.DataFrame(rows)


def totals(table) -> dict:
    """Parameters, forward GFLOPs per image and activation memory (MB) summed over a layer_table."""
    return {"params": int(table["params"].sum()), "GFLOPs": table["FLOPs"].sum() / 1e9,
            "activation MB": float(table["activation MB"].sum())}


def forward_flops(net: nn.Module, input_size=(1, 1, 224, 224)) -> int:
    """Total forward FLOPs for one input of `input_size` (2 per multiply-add)."""
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        net.eval()
        net(torch.zeros(input_size))
    return fc.get_total_flops() // input_size[0]
