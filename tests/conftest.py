import pytest


@pytest.fixture(scope="session")
def fmnist():
    from vggbook.data import load_fashion_mnist
    return load_fashion_mnist()  # VGGBOOK_DATA, or the usual places


def pytest_collection_modifyitems(items):
    """Tests that load Fashion-MNIST (the `fmnist` fixture reads and checks 60,000 images) are in the full
    tier only: `make test-fast` runs the rest in about a minute."""
    for item in items:
        if "fmnist" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
