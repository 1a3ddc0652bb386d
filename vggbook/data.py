"""Fashion-MNIST without a network: find it, verify it and load it (batches: loader.py).

Where the archives are looked for, in order:
  1. the `root` argument, else the environment variable VGGBOOK_DATA;
  2. the project folder `data/` (next to the notebooks' parent, or in the current directory);
  3. Debian's package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/);
  4. torchvision's download into ~/.cache/vggbook/data (needs the internet; off with download=False).
Each folder may hold the four files directly, or in FashionMNIST/raw/ as torchvision lays them out;
`.gz` archives and unpacked files are both accepted. Content is checked by the MD5 of the unpacked
bytes, so the official archives and Debian's re-headered ones both pass.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CACHE_DIR = Path.home() / ".cache" / "vggbook" / "data"

# name -> (MD5 of the unpacked file, unpacked size in bytes)
FILES = {
    "train-images-idx3-ubyte": ("f4a8712d7a061bf5bd6d2ca38dc4d50a", 47040016),
    "train-labels-idx1-ubyte": ("9018921c3c673c538a1fc5bad174d6f9", 60008),
    "t10k-images-idx3-ubyte": ("8181f5470baa50b63fa0f6fddb340f0a", 7840016),
    "t10k-labels-idx1-ubyte": ("15d484375f8d13e6eb1aabb0c3f46965", 10008),
}
CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle boot")
CLASSES_ZH = ("T恤", "裤子", "套衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴")

HOW_TO_GET = (
    "怎样修复：把 Fashion-MNIST 的四个文件（train-images-idx3-ubyte.gz 等）放进一个文件夹，然后\n"
    "  - 在笔记本里：在一个单元中执行 %env VGGBOOK_DATA=/那个/文件夹，再重新运行出错的单元"
    "（或把文件夹作为参数传给 load_fashion_mnist）；\n"
    "  - 在终端里：export VGGBOOK_DATA=/那个/文件夹；\n"
    "  - 或者在 Debian/Ubuntu 上：sudo apt-get install dataset-fashion-mnist；\n"
    f"  - 或者联网时运行 python -m vggbook data（下载到 {CACHE_DIR}）。")


class DataNotFoundError(FileNotFoundError):
    """No complete copy of Fashion-MNIST was found in any of the places looked."""


class DataCorruptError(ValueError):
    """A Fashion-MNIST file exists but its content is not what it should be."""


def _project_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent.parent  # the repository root for an editable install
    return [Path.cwd() / "data", Path.cwd().parent / "data", here / "data"]


def _candidates(folder: Path) -> list[Path]:
    return [folder, folder / "FashionMNIST" / "raw", folder / "raw"]


def _file_in(folder: Path, name: str) -> Path | None:
    for p in (folder / name, folder / f"{name}.gz"):
        if p.is_file():
            return p
    return None


def _complete(folder: Path) -> bool:
    return all(_file_in(folder, n) is not None for n in FILES)


def search_path(root: str | os.PathLike | None = None) -> list[Path]:
    """The folders looked in, in order (before any download): `root` (or VGGBOOK_DATA) alone when given."""
    root = root if root is not None else (os.environ.get("VGGBOOK_DATA", "").strip() or None)
    if root is not None:
        return [Path(root).expanduser()]
    seen, out = set(), []
    for p in _project_dirs() + [DEBIAN_DIR, CACHE_DIR]:
        key = str(p.expanduser().resolve())
        if key not in seen:
            seen.add(key)
            out.append(p.expanduser())
    return out


def find_data(root: str | os.PathLike | None = None, *, download: bool = False) -> Path:
    """The folder that holds all four Fashion-MNIST files.

    With `root` (or VGGBOOK_DATA) only that folder is looked in: a folder you named that does
    not hold the data is an error, not silently passed over. Without it, the usual places are looked
    in, then (with `download=True`) torchvision downloads the data into ~/.cache/vggbook/data.
    DataNotFoundError names every place looked and the ways to get the data.
    """
    root = root if root is not None else (os.environ.get("VGGBOOK_DATA", "").strip() or None)
    looked = []
    for place in search_path(root):
        for folder in _candidates(place):
            looked.append(folder)
            if _complete(folder):
                return folder
    if root is not None:
        raise DataNotFoundError(
            f"你指定的文件夹 {root}（参数或 VGGBOOK_DATA）中没有 Fashion-MNIST。改正路径（在笔记本里："
            f"%env VGGBOOK_DATA=/正确的/文件夹，再重新运行这个单元），或者取消这个设置（unset VGGBOOK_DATA）"
            f"以查找通常的位置。Looked for {', '.join(FILES)} (.gz or unpacked) in: "
            + ", ".join(str(p) for p in looked))
    if not download:
        raise DataNotFoundError(_not_found_message(looked, "没有尝试下载（download=False）"))
    try:
        return _download(CACHE_DIR)
    except Exception as e:  # no network, a proxy, a server down: say so, then the ways out
        raise DataNotFoundError(_not_found_message(
            looked,
            f"torchvision 下载到 {CACHE_DIR} 失败（{type(e).__name__}: {e}）；这台机器可能没有联网")) from None


def _download(cache: Path) -> Path:
    """torchvision's download into a fresh folder beside `cache`, moved into place only when complete.

    A failed or interrupted download leaves nothing behind: no empty folders, no partial files.
    """
    from torchvision.datasets import FashionMNIST

    cache.parent.mkdir(parents=True, exist_ok=True)
    made_parent = not cache.exists()
    tmp = Path(tempfile.mkdtemp(dir=cache.parent, prefix=f".{cache.name}.download."))
    try:
        FashionMNIST(str(tmp), train=True, download=True)
        FashionMNIST(str(tmp), train=False, download=True)
        raw = tmp / "FashionMNIST" / "raw"
        for name in FILES:  # verify before anything is moved into the cache
            read_verified(_file_in(raw, name))
        dest = cache / "FashionMNIST" / "raw"
        dest.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            os.replace(_file_in(raw, name), dest / _file_in(raw, name).name)
        return dest
    except BaseException:
        if made_parent and cache.exists() and not any(cache.rglob("*")):
            shutil.rmtree(cache, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _not_found_message(looked: list[Path], download_note: str) -> str:
    return (f"找不到 Fashion-MNIST（{download_note}）。\n{HOW_TO_GET}\n"
            f"找过这些地方：{', '.join(str(p) for p in looked)}")


def read_verified(path: Path) -> bytes:
    """The unpacked bytes of one Fashion-MNIST file, checked against its known MD5."""
    name = path.name.removesuffix(".gz")
    md5, size = FILES[name]
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataCorruptError(
            f"{path} 读不出来或解压失败（{e}）：文件不完整或已损坏。解压后的内容应有 MD5 {md5}"
            f"（{size:,} 字节）。删掉它，重新取一份。\n"
            f"{HOW_TO_GET}") from e
    got = hashlib.md5(data).hexdigest()
    if got != md5:
        raise DataCorruptError(
            f"{path} 已损坏或不完整：解压后的内容 MD5 为 {got}（{len(data):,} 字节），应为 {md5}"
            f"（{size:,} 字节）。删掉它，重新取一份。\n{HOW_TO_GET}")
    return data


def _parse_idx(data: bytes) -> torch.Tensor:
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    t = torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8)
    return t.reshape(dims)


@dataclass
class FashionMNIST:
    """The whole data set as uint8 images (N, 28, 28) and int64 labels (N,), on the CPU."""
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    folder: Path


def load_fashion_mnist(root: str | os.PathLike | None = None, *, download: bool = True) -> FashionMNIST:
    """Find (or, online, download), verify and load Fashion-MNIST (about 1 s; 55 MB of uint8 in memory)."""
    folder = find_data(root, download=download)
    t = {name: _parse_idx(read_verified(_file_in(folder, name))) for name in FILES}
    return FashionMNIST(t["train-images-idx3-ubyte"], t["train-labels-idx1-ubyte"].long(),
                        t["t10k-images-idx3-ubyte"], t["t10k-labels-idx1-ubyte"].long(), folder)


def prepare_d2l(root: str | os.PathLike, source: str | os.PathLike | None = None) -> Path:
    """Make `d2l.load_data_fashion_mnist` work offline: write the unpacked files (55 MB) under `root`.

    d2l always reads '../data' relative to the working directory, through torchvision, which finds
    the unpacked files in root/FashionMNIST/raw/ and then skips its download. This writes them there,
    verified, each through a temporary file and a rename, so an interrupted call leaves no half file;
    files already there and intact are kept. `root` has no default: say where the 55 MB go.
    """
    src = find_data(source, download=True)
    dest = Path(root) / "FashionMNIST" / "raw"
    dest.mkdir(parents=True, exist_ok=True)
    for name, (md5, _) in FILES.items():
        target = dest / name
        if target.is_file() and hashlib.md5(target.read_bytes()).hexdigest() == md5:
            continue
        part = dest / f".{name}.part"
        try:
            part.write_bytes(read_verified(_file_in(src, name)))
            os.replace(part, target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    return dest
