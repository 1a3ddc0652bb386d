import os

import pytest

# Notebooks (nbval) and training tests run the tiny smoke profile and really train, unless the
# caller chose otherwise (the GPU runner sets VGGBOOK_PROFILE=full). The kernels inherit these.
os.environ.setdefault("VGGBOOK_PROFILE", "smoke")
os.environ.setdefault("VGGBOOK_RETRAIN", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def fmnist():
    from vggbook.data import load_fashion_mnist
    return load_fashion_mnist()
