"""The chapter's training loop: d2l.train_ch6's recipe, written so that it is also fast on a GPU.

Same recipe as `d2l.train_ch6`: Xavier-uniform weights, minibatch SGD, cross-entropy, the test
accuracy after every epoch. Two differences, both about speed, not about what is computed:
- the loss and the accuracy are summed on the device, and the host reads them once per epoch
  (d2l reads them after every batch, which makes the CPU wait for the GPU 469 times per epoch);
- epochs are timed with CUDA events on a GPU, not with host clocks around asynchronous work.
Mixed precision and channels_last do not appear here: `speed.fast` wraps the model before `fit`
is called. Choosing, recording and loading runs is `runs.py`'s job.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn


def init_weights(module: nn.Module) -> None:
    """Xavier-uniform weights for Linear and Conv2d, as d2l.train_ch6 does (biases keep PyTorch's)."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)


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
                        f"the training loss became {loss_sum.item()} "
                        f"at step {i} of epoch {epoch}")
            test_acc = evaluate_accuracy(net, test_iter)
            # The one host-device sync point of the epoch: wait for the
            # device (timer.stop), then read the three numbers.
            seconds = timer.stop()
            loss_total, train_correct, test_acc = torch.stack(
                [loss_sum, correct.float(), test_acc.float()]).tolist()
            if not math.isfinite(loss_total):
                raise FloatingPointError(
                    f"the training loss became {loss_total} in epoch {epoch}")
            row = {"epoch": epoch, "loss": loss_total / n,
                   "train_acc": train_correct / n, "test_acc": test_acc,
                   "seconds": seconds}
            rows.append(row)
            if on_epoch is not None:
                on_epoch(row)
    except KeyboardInterrupt:
        print(f"Interrupted: {len(rows)} finished epoch(s) kept.")
    return rows
