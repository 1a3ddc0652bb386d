import pytest


@pytest.fixture(scope="session")
def fmnist():
    from vggbook.data import load_fashion_mnist
    return load_fashion_mnist()  # VGGBOOK_DATA, or the usual places
