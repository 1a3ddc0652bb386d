"""The on-device data loader: d2l's `load_data_fashion_mnist(batch_size, resize)`, fast on a GPU.

d2l resizes every image with PIL in DataLoader worker processes and copies each batch to the GPU.
Here the 28x28 uint8 images (47 MB for the training set) are copied to the device once; a batch is
an index slice of a permutation made there, and it is resized there. Nothing syncs with the host.
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from .data import FashionMNIST, load_fashion_mnist


def subset(images: torch.Tensor, labels: torch.Tensor, limit: int | None, seed: int = 0):
    """A fixed random subset of `limit` examples (all of them when limit is None)."""
    if limit is None or limit >= len(labels):
        return images, labels
    idx = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:limit]
    return images[idx], labels[idx]


def resize_batch(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """uint8 (B, H, W) -> float32 (B, 1, size, size) in [0, 1], bilinear with antialiasing.

    Matches torchvision's `Resize(size)` on PIL images followed by `ToTensor()` (what d2l does) to
    within one grey level: PIL rounds to uint8 after resizing, this keeps the floats.
    """
    x = images.unsqueeze(1).float().div_(255)
    if size is None or size == x.shape[-1]:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def _augment(images: torch.Tensor, generator: torch.Generator, shift: int = 2) -> torch.Tensor:
    """Random horizontal flips and translations of up to `shift` px, on uint8 (B, 28, 28)."""
    b, h, w = images.shape
    flip = torch.rand(b, device=images.device, generator=generator) < 0.5
    images = torch.where(flip[:, None, None], images.flip(-1), images)
    padded = F.pad(images, (shift, shift, shift, shift))
    dy = torch.randint(0, 2 * shift + 1, (b,), device=images.device, generator=generator)
    dx = torch.randint(0, 2 * shift + 1, (b,), device=images.device, generator=generator)
    rows = (dy[:, None] + torch.arange(h, device=images.device))[:, :, None]
    cols = (dx[:, None] + torch.arange(w, device=images.device))[:, None, :]
    return padded[torch.arange(b, device=images.device)[:, None, None], rows, cols]


class DeviceLoader:
    """Batches from uint8 images kept on the device, resized there batch by batch.

    Instead of a DataLoader with PIL resizing in worker processes, the 28x28 uint8 images (47 MB for
    the training set) live on the GPU, batches are index slices of a permutation made on the device,
    and each batch is resized to `resize` px on the device. Nothing in `__iter__` syncs with the host.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, *,
                 resize: int | None = None, shuffle: bool = False, device: str | torch.device = "cpu",
                 channels_last: bool = False, augment: bool = False, seed: int = 0, on_batch=None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size, self.resize, self.shuffle = batch_size, resize, shuffle
        self.channels_last, self.augment = channels_last, augment
        self.on_batch = on_batch  # called after each batch is used (a progress bar's update)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = (torch.randperm(n, device=self.device, generator=self.generator) if self.shuffle
                 else torch.arange(n, device=self.device))
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            images = self.images[idx]
            if self.augment:
                images = _augment(images, self.generator)
            x = resize_batch(images, self.resize)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, self.labels[idx]
            if self.on_batch is not None:
                self.on_batch()


def loaders(batch_size: int = 128, resize: int | None = 224, *, train_limit: int | None = None,
            test_limit: int | None = None, device: str | torch.device = "cpu", channels_last: bool = False,
            augment: bool = False, seed: int = 0, root: str | os.PathLike | None = None,
            data: FashionMNIST | None = None, on_batch=None) -> tuple[DeviceLoader, DeviceLoader]:
    """Training and test loaders, like `d2l.load_data_fashion_mnist(batch_size, resize)`.

    `on_batch()` is called after each training batch (a progress bar's update)."""
    data = data or load_fashion_mnist(root)
    tx, ty = subset(data.train_images, data.train_labels, train_limit, seed)
    vx, vy = subset(data.test_images, data.test_labels, test_limit, seed)
    train = DeviceLoader(tx, ty, batch_size, resize=resize, shuffle=True, device=device,
                         channels_last=channels_last, augment=augment, seed=seed, on_batch=on_batch)
    # Evaluation keeps no activations for backward, so a batch twice as large fits in the same memory.
    test = DeviceLoader(vx, vy, 2 * batch_size,
                        resize=resize, device=device, channels_last=channels_last, seed=seed)
    return train, test
