#!/usr/bin/env bash
# The GPU job of .github/workflows/ci.yml, runnable by hand on any CUDA machine:
#   1. nbval over every notebook with the full profile and forced training; every run the notebooks
#      train is also written to runs/retrained/ (VGGBOOK_RUNS_DIR), and a configuration that a later
#      notebook asks for again is taken from there rather than trained twice;
#   2. those retrained runs are compared with the recorded ones in vggbook/results/ (every recorded
#      configuration retrained, final test accuracy within TOLERANCE, default 0.015).
# One training pass in all. PY is the Python to use (default: the set-up's .venv/bin/python).
# Prints the time each part took; exits non-zero when either part fails.
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT_DIR=${VGGBOOK_RUNS_DIR:-runs/retrained}
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
export VGGBOOK_PROFILE=full VGGBOOK_RETRAIN=1 VGGBOOK_RUNS_DIR=$OUT_DIR
"$PY" -c "import torch; assert torch.cuda.is_available(), 'the GPU job needs a CUDA GPU: torch.cuda.is_available() is False here'; print(torch.cuda.get_device_name(), 'torch', torch.__version__)"
start=$(date +%s)
"$PY" -m pytest notebooks --nbval ${PYTEST_ARGS:-}   # nbval's other options: pyproject.toml
echo "nbval (full profile, forced training): $(( $(date +%s) - start )) s"
"$PY" -m vggbook compare "$OUT_DIR" --tolerance "${TOLERANCE:-0.015}"
echo "GPU job: $(( $(date +%s) - start )) s"
