#!/usr/bin/env bash
# The GPU job of .github/workflows/ci.yml, runnable by hand on any CUDA machine:
#   1. nbval over every notebook with the full profile and forced training; every run the notebooks
#      train is also written to runs/retrained/full/ (VGGBOOK_RUNS_DIR), and a configuration that a later
#      notebook asks for again is taken from there rather than trained twice;
#   2. those retrained runs are compared with the recorded ones in vggbook/results/ (every recorded
#      configuration retrained, final test accuracy within TOLERANCE, default 0.015).
# One training pass in all. PY is the Python to use (default: the set-up's .venv/bin/python).
# The runs folder must be new or empty, or hold only an earlier job's runs (it is marked by a file
# .vggbook-gpu-job): nothing else in it is ever deleted. Prints the time each part took; exits
# non-zero when either part fails.
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT_DIR=${VGGBOOK_RUNS_DIR:-runs/retrained}
OUT_DIR=${OUT_DIR%/}   # find prints paths below it as $OUT_DIR/...
MARK=.vggbook-gpu-job
"$PY" -c "import torch, sys; torch.cuda.is_available() or sys.exit('the GPU job needs a CUDA GPU: torch.cuda.is_available() is False here'); print(torch.cuda.get_device_name(), 'torch', torch.__version__)"
if [ -d "$OUT_DIR" ] && [ -n "$(ls -A "$OUT_DIR")" ]; then
  # An earlier job's folder holds the mark and <profile>/<name>.json files (vggbook.runs.run): anything
  # else, a folder below a profile's or a file that is not a run, means it is not one.
  others=$(find "$OUT_DIR" -mindepth 1 ! -path "$OUT_DIR/$MARK" \
             ! \( -type d \( -path "$OUT_DIR/full" -o -path "$OUT_DIR/cpu" -o -path "$OUT_DIR/smoke" \) \) \
             ! \( -type f -path "$OUT_DIR/*/*.json" ! -path "$OUT_DIR/*/*/*" \) | head -n 3)
  if [ ! -e "$OUT_DIR/$MARK" ] || [ -n "$others" ]; then
    echo "error: $OUT_DIR is not empty and is not an earlier GPU job's runs folder${others:+ (it holds $others)}:" \
         "nothing was deleted. Set VGGBOOK_RUNS_DIR to a new folder, or move this one away." >&2
    exit 2
  fi
  find "$OUT_DIR" -mindepth 2 -maxdepth 2 -type f -name '*.json' -delete   # an earlier job's runs, only those
fi
mkdir -p "$OUT_DIR"
touch "$OUT_DIR/$MARK"
export VGGBOOK_PROFILE=full VGGBOOK_RETRAIN=1 VGGBOOK_RUNS_DIR=$OUT_DIR
start=$(date +%s)
"$PY" -m pytest notebooks --nbval ${PYTEST_ARGS:-}   # nbval's other options: pyproject.toml
echo "nbval (full profile, forced training): $(( $(date +%s) - start )) s"
"$PY" -m vggbook compare "$OUT_DIR" --tolerance "${TOLERANCE:-0.015}"
echo "GPU job: $(( $(date +%s) - start )) s"
