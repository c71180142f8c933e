#!/usr/bin/env bash
# The whole GPU job for the shipped models, in one call that fits a short GPU lease (issues 12 and 13):
#   1. bench/cuda_check.py: CUDA and mixed precision through our trainer on a tiny model (the job stops if
#      it fails, having cost a minute);
#   2. bench/train_throughput.py at the real run's shape: the engine against a bare cuDNN nn.LSTM loop;
#   3. the real runs, side by side on the one GPU, for the minutes given: the performance model (3x512 LSTM,
#      controls, Magenta's recipe, batch 128 x 512) and the folk model (folk-rnn's 3x512, whole tunes), each
#      with a cosine schedule sized from the speed measured in step 2, stopped with a checkpoint (SIGINT) if
#      it runs over; then each is scored on its held-out split;
#   4. what comes back, in OUT (files under 16 MB): each model's best weights in float16
#      (performance.safetensors, folk.safetensors) and report.tar.gz (model cards, metrics, checks, logs).
#
#   scripts/gpu_job.sh --prepare                    # here, before the lease: pack the corpora and wheels
#   scripts/gpu_job.sh OUT MINUTES                  # on the GPU machine, from the repository root
#   GPU_JOB_DEVICE=cpu GPU_JOB_DRY=1 scripts/gpu_job.sh /tmp/gpu-out 1    # the dry run of it all on a CPU
#
# The device tool's call (carry gpu and .whl; the machine has torch, numpy, safetensors, tqdm, not platformdirs):
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site;
#   bash scripts/gpu_job.sh $OUT 7
# To ship what comes back: NAME.safetensors -> models/NAME/weights.safetensors and NAME.model.json (in
# report.tar.gz) -> models/NAME/model.json, then the card's prose and figures as train_default_models.sh's
# publish step and the benches (bench/performance_targets.py, bench/folk_model.py) give them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python

if [ "${1:-}" = --prepare ]; then
    # The imported corpora (token ids, not the MIDI/ABC they came from) and the wheels the GPU machine lacks.
    home=${STUDIO_HOME:-runs/studio-home}
    mkdir -p gpu .whl
    grep -qx '/gpu/' .git/info/exclude 2>/dev/null || echo /gpu/ >> .git/info/exclude
    tar czf gpu/corpora.tar.gz -C "$home/corpora" asap folk-all
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux2014_x86_64 -d .whl "platformdirs>=3"
    du -h gpu/corpora.tar.gz .whl/*
    exit 0
fi

OUT=${1:?usage: scripts/gpu_job.sh OUT MINUTES}
MINUTES=${2:?usage: scripts/gpu_job.sh OUT MINUTES}
DEVICE=${GPU_JOB_DEVICE:-cuda}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export STUDIO_HOME=${STUDIO_HOME:-/tmp/studio-home} PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
work=$(mktemp -d /tmp/gpu-job.XXXXXX)
mkdir -p "$STUDIO_HOME/corpora"
for c in asap folk-all; do
    [ -f "$STUDIO_HOME/corpora/$c/corpus.json" ] || tar xzf gpu/corpora.tar.gz -C "$STUDIO_HOME/corpora" "$c"
done
began=$(date +%s)
log() { echo "[gpu-job $(( $(date +%s) - began )) s] $*" | tee -a "$work/job.log"; }

# shapes: the real ones, or tiny ones for the dry run
if [ -n "${GPU_JOB_DRY:-}" ]; then
    PERF=(--layers 1 --units 32 --batch 4 --seq-len 64); FOLK=(--layers 1 --units 32 --batch 4); WORKERS=1
else
    PERF=(--layers 3 --units 512 --batch 128 --seq-len 512); FOLK=(--layers 3 --units 512 --batch 64); WORKERS=6
fi

log "1. CUDA and mixed-precision check on $DEVICE"
"$PY" bench/cuda_check.py --device "$DEVICE" --corpus asap --json "$work/check.json" > "$work/check.log" 2>&1 \
    || { log "the check failed: see check.log"; tar czf "$OUT/report.tar.gz" -C "$work" .; exit 1; }

log "2. throughput at the performance run's shape"
"$PY" bench/train_throughput.py --device "$DEVICE" --presets performance-rnn --controls --steps 10 \
    --batch "${PERF[5]}" --seq-len "${PERF[7]}" --loader-workers "$WORKERS" 2>&1 | tee "$work/throughput.txt"
# positions/s of the engine -> the steps that fit the minutes left (both runs share the GPU: count it twice)
rate=$(sed -n 's/.*engine \([0-9,]*\) positions.*/\1/p' "$work/throughput.txt" | tr -d , | tail -1)
left=$(( MINUTES * 60 - ($(date +%s) - began) - 60 ))  # a minute for scoring and packing
steps=$(( rate * left / (2 * ${PERF[5]} * ${PERF[7]}) ))
[ "$steps" -ge 20 ] || steps=20
log "performance: ${rate} positions/s alone -> $steps steps in $left s (shared GPU)"

log "3. training (performance and folk side by side)"
common=(--cell lstm --embedding 0 --device "$DEVICE" --loader-workers "$WORKERS" --checkpoint-every 500 --seed 0)
timeout -s INT -k 60 "$left" "$PY" -m studio train --corpus asap --out "$work/performance" "${PERF[@]}" \
    --dropout 0.1 --controls --batching windows --optimizer adam --lr 0.001 --warmup 200 --decay cosine --clip 3 \
    --steps "$steps" --eval-every $(( steps / 8 + 1 )) "${common[@]}" > "$work/performance.log" 2>&1 &
perf=$!
folk_steps=$(( steps * 4 ))  # whole tunes of ~180 tokens: a folk step is about a quarter of a performance one
timeout -s INT -k 60 "$left" "$PY" -m studio train --corpus folk-all --out "$work/folk" "${FOLK[@]}" \
    --dropout 0.5 --batching tunes --optimizer rmsprop --lr 0.003 --warmup 100 --decay cosine --clip 5 \
    --steps "$folk_steps" --eval-every $(( folk_steps / 8 + 1 )) "${common[@]}" > "$work/folk.log" 2>&1 &
folk=$!
wait $perf || log "performance run ended with status $? (124/130: stopped by the clock, checkpoint kept)"
wait $folk || log "folk run ended with status $? (124/130: stopped by the clock, checkpoint kept)"

log "4. scoring and packing"
for name in performance folk; do
    corpus=asap split=test
    [ $name = folk ] && corpus=folk-all split=valid
    [ -f "$work/$name/weights.safetensors" ] || { log "$name: no weights written"; continue; }
    "$PY" -m studio evaluate --model "$work/$name" --corpus $corpus --split $split --device "$DEVICE" --json \
        > "$work/$name-$split.json" 2>> "$work/job.log" || log "$name: evaluation failed"
    "$PY" - "$work/$name/weights.safetensors" "$OUT/$name.safetensors" <<'PYEOF'
import sys
from safetensors.torch import load_file, save_file
save_file({k: v.half().contiguous() for k, v in load_file(sys.argv[1]).items()}, sys.argv[2])
PYEOF
    for f in model.json metrics.jsonl; do cp "$work/$name/$f" "$work/$name.$f" 2>/dev/null || true; done
done
log "done"
tar czf "$OUT/report.tar.gz" -C "$work" --exclude='./performance' --exclude='./folk' .
ls -la "$OUT"
