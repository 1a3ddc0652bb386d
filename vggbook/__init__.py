"""vggbook: the helper package of the VGG course book (models, data, training, inspection, plots)."""
from .models import VGG11_ARCH, alexnet, narrow, table1, vgg, vgg_block

__version__ = "0.1.0"
__all__ = ["VGG11_ARCH", "alexnet", "narrow", "table1", "vgg", "vgg_block"]
