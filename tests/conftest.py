import pytest


@pytest.fixture(scope="session")
def settings():
    from vggbook.runs import Settings
    return Settings.from_env()


@pytest.fixture(scope="session")
def fmnist(settings):
    from vggbook.data import load_fashion_mnist
    return load_fashion_mnist(settings.data_dir)
