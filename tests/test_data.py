import gzip
import hashlib
import os
import shutil
from pathlib import Path

import pytest
import torch

from vggbook import data, loader
from vggbook.data import DataCorruptError, DataNotFoundError, FILES


def test_real_data_counts(fmnist):
    assert fmnist.train_images.shape == (60000, 28, 28) and fmnist.train_images.dtype == torch.uint8
    assert fmnist.test_images.shape == (10000, 28, 28)
    assert torch.bincount(fmnist.train_labels).tolist() == [6000] * 10
    assert torch.bincount(fmnist.test_labels).tolist() == [1000] * 10


SOURCE = data.find_data()  # VGGBOOK_DATA or the usual places, before any test hides them


def _source() -> Path:
    return SOURCE


def _debian_header(gz: bytes) -> bytes:
    """The same deflate stream behind a 10-byte header without file name and time stamp."""
    assert gz[:2] == b"\x1f\x8b"
    flags, pos = gz[3], 10
    if flags & 4:  # FEXTRA
        pos += 2 + int.from_bytes(gz[pos:pos + 2], "little")
    for bit in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & bit:
            pos = gz.index(b"\0", pos) + 1
    if flags & 2:  # FHCRC
        pos += 2
    return gz[:3] + b"\0" + b"\0\0\0\0" + gz[8:10] + gz[pos:]


@pytest.fixture
def copy_dir(tmp_path):
    src = _source()
    dst = tmp_path / "fm"
    dst.mkdir()
    for name in FILES:
        p = data._file_in(src, name)
        shutil.copy(p, dst / p.name)
    return dst


def test_debian_reheadered_archives_pass(tmp_path):
    src = _source()
    dst = tmp_path / "debian"
    dst.mkdir()
    for name in FILES:
        gz = (src / f"{name}.gz").read_bytes()
        deb = _debian_header(gz)
        assert hashlib.md5(deb).digest() != hashlib.md5(gz).digest()
        (dst / f"{name}.gz").write_bytes(deb)
    d = data.load_fashion_mnist(dst)
    assert d.folder == dst and len(d.test_labels) == 10000


def test_unpacked_files_in_torchvision_layout(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        (raw / name).write_bytes(gzip.decompress((_source() / f"{name}.gz").read_bytes()))
    assert data.find_data(tmp_path) == raw


def test_environment_variable_is_used(copy_dir, monkeypatch):
    monkeypatch.setenv("VGGBOOK_DATA", str(copy_dir))
    assert data.find_data() == copy_dir


def test_truncated_archive_names_file_and_checksum(copy_dir):
    p = copy_dir / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:2000])
    with pytest.raises(DataCorruptError) as e:
        data.load_fashion_mnist(copy_dir)
    assert str(p) in str(e.value) and FILES["t10k-labels-idx1-ubyte"][0] in str(e.value)


def test_corrupt_content_names_file_and_checksum(copy_dir):
    p = copy_dir / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(p.read_bytes()))
    raw[100] ^= 1
    p.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataCorruptError, match="应为 15d484375f8d13e6eb1aabb0c3f46965") as e:
        data.load_fashion_mnist(copy_dir)
    assert str(p) in str(e.value)


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No data in any of the usual places; the cache in tmp_path/cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VGGBOOK_DATA", raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache" / "data")
    monkeypatch.setattr(data, "_project_dirs", lambda: [tmp_path / "data"])
    return tmp_path


def test_missing_data_names_every_place_and_three_ways(nowhere):
    with pytest.raises(DataNotFoundError) as e:
        data.find_data()
    msg = str(e.value)
    for place in ("data", "no-debian", "cache/data"):
        assert str(nowhere / place) in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "python -m vggbook data" in msg
    # the fix comes first, in a notebook's terms as well as the shell's, then where it looked
    assert msg.index("%env VGGBOOK_DATA=") < msg.index("export VGGBOOK_DATA=") < msg.index("找过这些地方")


def test_a_named_folder_without_the_data_is_an_error_not_skipped(nowhere, copy_dir, monkeypatch):
    monkeypatch.setattr(data, "_project_dirs", lambda: [copy_dir])  # data elsewhere: still an error
    with pytest.raises(DataNotFoundError, match="你指定的文件夹 .*arg（参数或 VGGBOOK_DATA）中没有 Fashion-MNIST") as e:
        data.find_data(nowhere / "arg")
    assert "unset VGGBOOK_DATA" in str(e.value)
    assert data.find_data() == copy_dir


@pytest.fixture
def local_mirror(tmp_path):
    """A web server on the loopback address serving the four archives, as the download's mirror."""
    import functools
    import http.server
    import threading
    site = tmp_path / "site"
    site.mkdir()
    for name in FILES:
        shutil.copy(_source() / f"{name}.gz", site / f"{name}.gz")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_download_into_the_cache_when_nothing_is_local(nowhere, local_mirror, monkeypatch):
    from torchvision.datasets import FashionMNIST
    monkeypatch.setattr(FashionMNIST, "mirrors", [local_mirror])
    folder = data.find_data(download=True)
    assert folder == data.CACHE_DIR / "FashionMNIST" / "raw"
    assert len(data.load_fashion_mnist(download=False).train_labels) == 60000  # now found locally
    leftovers = [p.name for p in data.CACHE_DIR.parent.iterdir() if p.name != data.CACHE_DIR.name]
    assert leftovers == []  # the download's temporary folder is gone


def test_offline_download_fails_clearly_and_leaves_nothing(nowhere, monkeypatch):
    import socket
    from torchvision.datasets import FashionMNIST
    with socket.socket() as s:  # a port on the loopback address where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(FashionMNIST, "mirrors", [f"http://127.0.0.1:{port}/"])
    with pytest.raises(DataNotFoundError, match=r"(?s)下载到 .* 失败.*没有联网") as e:
        data.load_fashion_mnist()
    assert "apt-get install dataset-fashion-mnist" in str(e.value)
    assert not (nowhere / "cache").exists() or list((nowhere / "cache").rglob("*")) == []


def test_prepare_d2l_is_atomic_and_offline(tmp_path, monkeypatch):
    root = tmp_path / "data"
    dest = data.prepare_d2l(root)
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in dest.iterdir())  # readable, like any file
    # an interrupted write leaves no partial file behind
    (dest / "t10k-labels-idx1-ubyte").unlink()
    real_replace = os.replace

    def boom(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        data.prepare_d2l(root)
    monkeypatch.setattr(os, "replace", real_replace)
    assert sorted(p.name for p in dest.iterdir()) == sorted(set(FILES) - {"t10k-labels-idx1-ubyte"})
    data.prepare_d2l(root)
    # d2l's own loader now finds the data without a network
    from d2l import torch as d2l
    monkeypatch.chdir(tmp_path / "data")  # d2l reads ../data
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    train_iter, test_iter = d2l.load_data_fashion_mnist(32, resize=64)
    assert len(train_iter.dataset) == 60000 and len(test_iter.dataset) == 10000
    X, y = train_iter.dataset[0]
    assert X.shape == (1, 64, 64)


def test_gpu_style_resize_matches_torchvision_pil(fmnist):
    from PIL import Image
    from torchvision import transforms
    x = fmnist.train_images[:32]
    for size in (32, 96, 224):
        ours = loader.resize_batch(x, size)
        tf = transforms.Compose([transforms.Resize(size), transforms.ToTensor()])
        ref = torch.stack([tf(Image.fromarray(i.numpy())) for i in x])
        assert ours.shape == ref.shape
        assert (ours - ref).abs().max() <= 1 / 255 + 1e-6  # PIL rounds to uint8, we keep floats
        assert (ours - ref).abs().mean() < 1e-3


def test_device_loader_batches(fmnist):
    dl = loader.DeviceLoader(fmnist.test_images[:300], fmnist.test_labels[:300], 128, resize=32,
                             shuffle=True, augment=True)
    batches = list(dl)
    assert len(batches) == len(dl) == 3
    assert batches[0][0].shape == (128, 1, 32, 32) and batches[-1][0].shape == (44, 1, 32, 32)
    assert 0 <= batches[0][0].min() and batches[0][0].max() <= 1
    assert sorted(torch.cat([y for _, y in batches]).tolist()) == sorted(fmnist.test_labels[:300].tolist())
