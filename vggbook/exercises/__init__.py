"""Exercises the reader does in the notebooks: predict, then check; write it yourself, then check.

Predict, then check (a number, a shape, a short answer):

    answer = ...                      # your prediction
    check("conv3x3-params", answer)   # right, or what is off and a hint (never the answer)

Write it yourself (a function the checker runs):

    def my_vgg_block(num_convs, in_channels, out_channels):
        ...                           # your code
    check_vgg_block(my_vgg_block)     # names the first difference from the chapter's

A placeholder (`...` or None, or a function that returns None) prints one line, "not answered yet",
and raises nothing, so the notebooks run as they are committed. Every answer is computed from the
package, not typed in here. One module per notebook registers its items and defines its checkers:
block (01), network (02), trace (03), training (04), table1 (05), claims (08).
"""
from ._core import ITEMS, PLACEHOLDER, Item, check, not_answered, reference, register, report, task

from . import block, claims, network, table1, trace, training  # each registers its notebook's items
from .block import *  # noqa: E402,F401,F403  (the write-it-yourself checkers, by name)
from .network import *  # noqa: E402,F401,F403
from .trace import *  # noqa: E402,F401,F403
from .training import *  # noqa: E402,F401,F403
from .table1 import *  # noqa: E402,F401,F403
from .claims import *  # noqa: E402,F401,F403
from . import inside  # noqa: E402,F401  (06's items: predict only, no checkers to export)
from . import lab  # noqa: E402,F401  (07's items: predict only, no checkers to export)

__all__ = ["ITEMS", "Item", "PLACEHOLDER", "check", "not_answered", "reference", "register", "report", "task",
           *block.__all__, *network.__all__, *trace.__all__, *training.__all__, *table1.__all__,
           *claims.__all__]
