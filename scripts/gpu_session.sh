#!/usr/bin/env bash
# The GPU work of this project as one script, for a CUDA machine with no network where Python's
# packages come from wheels carried along (PY=python3 by default). Runs the parts named, in order,
# logs each to runs/gpu/, and packs runs/gpu/ into one archive: $OUT/gpu-session.tar.gz when OUT is
# set, else runs/gpu-session.tar.gz. Exits non-zero if any part failed (the archive is made anyway).
#
#   bash scripts/gpu_session.sh [PART ...]        (default: job)
#     smoke     scripts/gpu_smoke.py: every CUDA path in a short run (bf16, fp16 with its scaler, fp32,
#               channels_last, Ctrl-C, out of memory, a record read back) -> runs/gpu/smoke.json;
#               SMOKE_ARGS=--chapter adds the chapter's run in bf16 and fp16 (~2 min more)   (~2 min)
#     job       scripts/gpu_job.sh, as the workflow's gpu job runs it: nbval over every notebook with
#               the full profile and forced training, then compare with the recorded runs (~7-8 min)
#     yardstick python bench/bench.py --fresh 2: the d2l reference for all 10 epochs once and the
#               fast path twice, each in a fresh process timed from its start
#               -> runs/gpu/benchmark-fresh.json                                            (~5 min)
#     bench     python bench/bench.py, the d2l reference for REF_EPOCHS epochs (default 2) and the
#               fast path for 10, side by side -> runs/gpu/benchmark.json                   (~1.5 min)
#     ablation  python bench/bench.py --ablation, 3 epochs per variant, at 224 px and at 32 px
#               -> runs/gpu/benchmark-ablation-224px.json, -32px.json                        (~5 min)
#     record    python -m vggbook record: the book's full-profile runs that have no record in
#               vggbook/results/full/ yet (RECORD="alexnet-lr0.01 vgg16-bn-96px": these, recorded again;
#               RECORD_ALL=1: every one of them, ~9 min: raise RECORD_TIMEOUT); vggbook/results/full/ is then copied to
#               runs/gpu/recorded/
#
# BENCH_ARGS is added to the three bench commands: a dry run of this script on a CPU machine is
#   PY=.venv/bin/python BENCH_ARGS="--device cpu --limit 640 --epochs 2 --resize 32 --variants fast sync" \
#     bash scripts/gpu_session.sh bench ablation
# (bench ignores --variants; its --resize 32 overrides the ablation's sizes; ~2 minutes on 2 CPU cores).
# The minutes in brackets are estimates for an H100 from the recorded runs' epoch times. Each part
# has a timeout (JOB_TIMEOUT=560, YARDSTICK_TIMEOUT=540, BENCH_TIMEOUT=300, ABLATION_TIMEOUT=280 per
# size, RECORD_TIMEOUT=420 s) so that the archive is still made inside a 10-minute device command:
# run `job` alone in one command and `bench ablation` in the next.
# Prepare here first: `bash ../shared/tools/device-prep.sh`, then carry .whl and .gpu-data and
# start the device command with the line that script prints. Copy what a run measured into
# vggbook/results/ or bench/benchmark.json (and the book) only after reading it.
set -uo pipefail
cd "$(dirname "$0")/.."
for p in "${@:-job}"; do  # a typo should not cost a device run
  case $p in smoke|job|yardstick|bench|ablation|record) ;; *) echo "unknown part '$p': use smoke, job, yardstick, bench, ablation or record" >&2; exit 2 ;; esac
done
PY=${PY:-python3}
log=runs/gpu
mkdir -p "$log"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$PY" -c "import sys, torch; print('python', sys.version.split()[0], '| torch', torch.__version__, '|',
            torch.cuda.get_device_name() if torch.cuda.is_available() else 'NO CUDA')"
  date -u +%FT%TZ; } 2>&1 | tee "$log/machine.txt"

status=0
part() {  # part NAME TIMEOUT_S COMMAND...: run, log, time, remember a failure
  local name=$1 limit=$2; shift 2
  local start; start=$(date +%s)
  echo "== $name: $*"
  timeout "$limit" "$@" 2>&1 | tee "$log/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $(( $(date +%s) - start )) s" | tee -a "$log/times.txt"
  [ "$rc" = 0 ] || status=1
}

for p in "${@:-job}"; do
  case $p in
    smoke)    part smoke "${SMOKE_TIMEOUT:-400}" "$PY" scripts/gpu_smoke.py --out "$log/smoke.json" ${SMOKE_ARGS:-} ;;
    job)      part job "${JOB_TIMEOUT:-560}" env PY="$PY" VGGBOOK_RUNS_DIR="$log/retrained" \
                PYTEST_ARGS="--junitxml=$log/nbval.xml" bash scripts/gpu_job.sh ;;
    yardstick) part yardstick "${YARDSTICK_TIMEOUT:-540}" "$PY" bench/bench.py --fresh "${REPEATS:-2}" \
                --out "$log/benchmark-fresh.json" ${BENCH_ARGS:-} ;;
    bench)    part bench "${BENCH_TIMEOUT:-300}" "$PY" bench/bench.py --reference-epochs "${REF_EPOCHS:-2}" \
                --out "$log/benchmark.json" ${BENCH_ARGS:-} ;;
    ablation) for px in 224 32; do
                part "ablation-${px}px" "${ABLATION_TIMEOUT:-280}" "$PY" bench/bench.py --ablation \
                  --resize "$px" --out "$log/benchmark-ablation-${px}px.json" ${BENCH_ARGS:-}
              done ;;
    record)   names=${RECORD:-}   # none: every full-profile run of the book that has no record yet
              if [ "${RECORD_ALL:-0}" = 1 ]; then
                names=$("$PY" -c "from vggbook import runs; print(*(runs.sized(c).name() for c in runs.RECORDED['full']))")
              fi
              part record "${RECORD_TIMEOUT:-420}" "$PY" -m vggbook record $names
              mkdir -p "$log/recorded" && cp vggbook/results/full/*.json "$log/recorded/" ;;
  esac
done

archive=${OUT:+$OUT/gpu-session.tar.gz}
archive=${archive:-runs/gpu-session.tar.gz}
tar -czf "$archive" -C runs gpu && echo "packed runs/gpu into $archive"
exit $status
