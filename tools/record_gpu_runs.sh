#!/usr/bin/env bash
# On a CUDA GPU: record every full-profile run the notebooks show (vggbook/results/*.json), then the
# side-by-side benchmark (vggbook/results/benchmark.json). Logs go to runs/gpu/.
#   bash tools/record_gpu_runs.sh            # everything not yet recorded, then the benchmark
#   RECORD_ALL=1 bash tools/record_gpu_runs.sh   # re-record every run
# REF_EPOCHS (default 10) sets how many epochs the slow d2l reference runs in the benchmark; with
# fewer, the benchmark extrapolates its 10-epoch wall time from the measured steady epochs and says so.
set -u
log=runs/gpu
mkdir -p "$log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$log/gpu.txt"
python3 -c "import torch, sys; print('python', sys.version.split()[0], '| torch', torch.__version__, '|', torch.cuda.get_device_name())" | tee -a "$log/gpu.txt"
missing=--missing; [ "${RECORD_ALL:-0}" = 1 ] && missing=
start=$(date +%s)
timeout "${RECORD_TIMEOUT:-1800}" python3 -m vggbook record $missing 2>&1 | tee "$log/record.log"
echo "record: $(( $(date +%s) - start )) s" | tee -a "$log/gpu.txt"
start=$(date +%s)
timeout "${BENCH_TIMEOUT:-900}" python3 -m vggbook bench --reference-epochs "${REF_EPOCHS:-10}" \
  --out vggbook/results/benchmark.json 2>&1 | tee "$log/bench.log"
echo "bench: $(( $(date +%s) - start )) s" | tee -a "$log/gpu.txt"
