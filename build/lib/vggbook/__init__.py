"""vggbook: the helper package of the VGG course book.

Read these: the chapter's code, as the notebooks show it.
  models.py    vgg_block, vgg, narrow, alexnet: the chapter's networks (02 shows vgg)
  loader.py    the on-device data loader, d2l's load_data_fashion_mnist made fast (04)
  train.py     fit: the training loop, d2l.train_ch6's recipe (04 shows it)
  anatomy.py   the shape trace, per-layer parameters, FLOPs and activation memory (03, 05)
  plots.py     learning curves (also live, as an on_epoch callback) and the architecture drawn to scale
  variants.py  the paper's Table 1 and `build`, the one by-name model builder (05)

Machinery: read when curious.
  speed.py     bf16, channels_last, cuDNN autotuning, torch.compile: wraps the model for fit
  data.py      finding, verifying and loading Fashion-MNIST without a network
  runs/        configurations, profiles, run histories, recorded runs, the VGGBOOK_* settings
  tools/       the benchmark and the ablation (the CLI's `bench`)
  __main__.py  the command line: python -m vggbook train|record|compare|data|bench

Imports point one way: tools -> runs -> the lesson modules -> torch.
"""
from .models import VGG11_ARCH, alexnet, narrow, vgg, vgg_block

__version__ = "0.1.0"
__all__ = ["VGG11_ARCH", "alexnet", "narrow", "vgg", "vgg_block"]
