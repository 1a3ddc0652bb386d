"""vggbook: the helper package of the VGG course book.

The chapter's code, as the notebooks show it:
  models.py    vgg_block, vgg, narrow, alexnet (02 shows vgg); the paper's Table 1 and `build` (05);
               section 4.1's 5x5 net, fewer pools, a global-average-pooling head (08)
  data.py      finding, verifying and loading Fashion-MNIST without a network (04)
  loader.py    the on-device data loader, d2l's load_data_fashion_mnist made fast (04)
  train.py     fit: the training loop, d2l.train_ch6's recipe (04 shows it); fast: bf16/fp16 on a GPU
  anatomy.py   the shape trace, per-layer parameters, FLOPs and activation memory (03, 05)
  plots.py     learning curves (also live, as an on_epoch callback) and the architecture drawn to scale
Machinery:
  runs.py      configurations, profiles, run histories and the book's recorded runs; run(cfg)
  __main__.py  the command line: python -m vggbook train|record|compare|data
Imports point one way: __main__ -> runs -> the chapter's modules -> torch.
"""
__version__ = "0.1.0"
__all__ = ["VGG11_ARCH", "alexnet", "narrow", "vgg", "vgg_block"]


def __getattr__(name: str):
    """`from vggbook import vgg` reads models.py when first asked: importing the package itself loads no
    torch, so that `python -m vggbook` can answer Ctrl-C during its start-up with one line."""
    if name in __all__:
        from . import models
        return getattr(models, name)
    raise AttributeError(f"module 'vggbook' has no attribute {name!r}")
