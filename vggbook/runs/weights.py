"""Trained weights that go with a recorded run, for looking inside the trained network (06).

A recorded run keeps numbers; to show what the network learned, the book also keeps, for the
configurations in `experiments.MODEL_RECORDED`:
- the conv blocks' weights, in `<record>.features.safetensors` next to the record (the narrow VGG-11's
  conv layers are 0.58 M parameters, 2.3 MB in fp32: small enough to ship in the package);
- the test-set predictions, in the record itself (`History.predictions`, 10,000 labels).
The fully connected layers are 17 M parameters at 32 px (42.5 M at 224 px), too large to ship: the
whole model goes to a cache on the machine that trained it (~/.cache/vggbook/models/), and a notebook
that needs it and finds no cached copy trains it.
safetensors files hold tensors only (no pickled code), so loading one runs nothing from the file.
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from .config import TrainConfig
from .history import RecordError
from .records import CPU_RESULTS_DIR, RESULTS_DIR, record_name

MODEL_CACHE = Path.home() / ".cache" / "vggbook" / "models"


def _stem(cfg: TrainConfig, kind: str) -> str:
    return f"{kind}-{record_name(cfg).removesuffix('.json')}"


def features_path(cfg: TrainConfig, kind: str = "cpu") -> Path:
    folder = CPU_RESULTS_DIR if kind == "cpu" else RESULTS_DIR
    return folder / f"{record_name(cfg).removesuffix('.json')}.features.safetensors"


def model_path(cfg: TrainConfig, kind: str = "cpu", cache: Path = MODEL_CACHE) -> Path:
    return cache / f"{_stem(cfg, kind)}.safetensors"


def _blocks(net: nn.Sequential) -> int:
    """How many leading modules of `net` are conv blocks (everything before Flatten)."""
    return next(i for i, m in enumerate(net) if isinstance(m, nn.Flatten))


def save_features(net: nn.Sequential, cfg: TrainConfig, kind: str = "cpu") -> Path:
    from safetensors.torch import save_file
    n = _blocks(net)
    state = {k: v.detach().cpu().contiguous() for k, v in net[:n].state_dict().items()}
    path = features_path(cfg, kind)
    save_file(state, str(path), metadata={"record": record_name(cfg)})
    return path


def save_model(net: nn.Module, cfg: TrainConfig, kind: str = "cpu", cache: Path = MODEL_CACHE) -> Path:
    from safetensors.torch import save_file
    path = model_path(cfg, kind, cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def _load_into(module: nn.Module, path: Path) -> nn.Module:
    from safetensors.torch import load_file
    try:
        state = load_file(str(path))
    except Exception as e:  # a truncated or foreign file
        raise RecordError(f"{path} is not a readable safetensors file ({e}): restore it "
                          f"(git checkout -- {path}) or record the run again") from None
    expected = module.state_dict()
    wrong = sorted(set(expected) ^ set(state)) + [k for k in expected if k in state
                                                   and state[k].shape != expected[k].shape]
    if wrong:
        raise RecordError(f"{path} does not fit this network ({', '.join(wrong[:4])}…): it belongs to "
                          f"another configuration or version; record the run again")
    module.load_state_dict(state)
    return module.eval()


def load_features(cfg: TrainConfig, kind: str = "cpu") -> nn.Sequential:
    """The conv blocks of the recorded run of `cfg`, with its trained weights, in eval mode."""
    from .config import PROFILES
    from .trainer import make_model
    path = features_path(cfg, kind)
    if not path.is_file():
        raise RecordError(f"no recorded weights for {cfg.label()} ({path} is missing): record them with "
                          f"python -m vggbook record --{kind} --only {record_name(cfg).removesuffix('.json')}")
    net = make_model(PROFILES["cpu" if kind == "cpu" else "full"].apply(cfg))
    return _load_into(net[:_blocks(net)], path)


def load_model(cfg: TrainConfig, kind: str = "cpu", cache: Path = MODEL_CACHE) -> nn.Sequential | None:
    """The whole trained network of the recorded run of `cfg` from this machine's cache, or None."""
    from .config import PROFILES
    from .trainer import make_model
    path = model_path(cfg, kind, cache)
    if not path.is_file():
        return None
    return _load_into(make_model(PROFILES["cpu" if kind == "cpu" else "full"].apply(cfg)), path)
