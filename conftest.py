"""Settings for every pytest run here, the nbval notebook runs included (their kernels inherit them).

Notebooks and training tests run the tiny smoke profile and really train, unless the caller chose
otherwise (the GPU runner sets VGGBOOK_PROFILE=full).
"""
import os

os.environ.setdefault("VGGBOOK_PROFILE", "smoke")
os.environ.setdefault("VGGBOOK_RETRAIN", "1")
