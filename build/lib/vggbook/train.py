"""The chapter's training loop: d2l.train_ch6's recipe, written so that it is also fast on a GPU.

Same recipe as `d2l.train_ch6`: Xavier-uniform weights, minibatch SGD, cross-entropy, the test
accuracy after every epoch. Two differences, both about speed, not about what is computed:
- the loss and the accuracy are summed on the device, and the host reads them once per epoch
  (d2l reads them after every batch, which makes the CPU wait for the GPU 469 times per epoch);
- epochs are timed with CUDA events on a GPU, not with host clocks around asynchronous work.
Mixed precision, channels_last and torch.compile do not appear here: `speed.py` wraps the model and
sets up the device before `fit` is called. Choosing, recording and loading runs is `runs/`'s job.
"""
from __future__ import annotations

import time

import torch
from torch import nn


def init_weights(module: nn.Module) -> None:
    """Xavier-uniform weights for Linear and Conv2d, as d2l.train_ch6 does (biases keep PyTorch's)."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)


def evaluate_accuracy(net: nn.Module, data_iter) -> torch.Tensor:
    """The number of correct predictions on `data_iter`, as a tensor on the device (no host sync)."""
    net.eval()
    correct = torch.zeros((), dtype=torch.int64, device=data_iter.device)
    with torch.no_grad():
        for X, y in data_iter:
            correct += (net(X).argmax(dim=1) == y).sum()
    return correct


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


def fit(net, train_iter, test_iter, num_epochs, optimizer, *, loss=None, scheduler=None,
        on_epoch=None, check_every=50):
    """Train `net` like d2l.train_ch6; return one dict of metrics per epoch.

    `net` is already on the loaders' device (`train_iter.device`). `on_epoch(row)` is called after
    every epoch (live curves, a progress bar, a record of the run); it may raise to stop training.
    Every `check_every` batches the host looks at the running loss, so a loss that became NaN or
    infinite stops the run within that many steps (FloatingPointError) instead of at the epoch's end.
    """
    loss = loss or nn.CrossEntropyLoss()
    device, timer, rows = train_iter.device, Timer(train_iter.device), []
    for epoch in range(1, num_epochs + 1):
        timer.start()
        net.train()
        loss_sum = torch.zeros((), device=device)                  # summed on the device...
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for i, (X, y) in enumerate(train_iter, start=1):
            y_hat = net(X)
            l = loss(y_hat, y)
            optimizer.zero_grad()
            l.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            loss_sum += l.detach() * len(y)
            correct += (y_hat.argmax(dim=1) == y).sum()
            if i % check_every == 0 and not torch.isfinite(loss_sum):  # a sync every check_every steps
                raise FloatingPointError(f"the training loss became {loss_sum.item()} at step {i} of "
                                         f"epoch {epoch}")
        test_correct = evaluate_accuracy(net, test_iter)
        seconds = timer.stop()
        # ...and read once per epoch: the one host-device sync point of the epoch.
        loss_total, train_correct, test_total = torch.stack(
            [loss_sum, correct.float(), test_correct.float()]).tolist()
        n, m = len(train_iter.labels), len(test_iter.labels)
        row = {"epoch": epoch, "loss": loss_total / n, "train_acc": train_correct / n,
               "test_acc": test_total / m, "seconds": seconds}
        rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
    return rows
