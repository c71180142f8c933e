#!/usr/bin/env bash
# Rebuild the two models shipped in models/ with the engine itself (CPU-sized; resumable).
#
#   scripts/train_default_models.sh            # both; run again after an interruption to resume
#   FOLK_STEPS=800 scripts/train_default_models.sh folk
#
# Runs go to runs/<name>/ (checkpoint, metrics.jsonl); when a run finishes, its model folder
# (weights.safetensors + model.json with the card) is copied to models/<name>/. Corpora are imported into
# $STUDIO_HOME (default: runs/studio-home). Each model grows in stages: a new stage starts from the shipped
# model (--init-from) with a fresh cosine schedule, and an interrupted stage resumes from runs/NAME (or from
# scripts/checkpoints when an earlier session left it there). scripts/gpu_job.sh is the same on a GPU lease.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export STUDIO_HOME=${STUDIO_HOME:-$PWD/runs/studio-home}
ASAP=${ASAP:-../shared/corpora/asap/performances}
CHECKPOINTS=scripts/checkpoints  # latest checkpoints of runs that span sessions (not installed with the package)
mkdir -p "$CHECKPOINTS"
# The folk model: all folk corpora (../shared/corpora/folk: Nottingham, folkwiki; music21's Irish books). On a
# GPU, train from scratch at folk-rnn's size: FOLK_FROM= FOLK_LAYERS=3 FOLK_UNITS=512 FOLK_STEPS=20000
# FOLK_DEVICE=cuda. On a CPU, each stage starts from the shipped model (--init-from, widened when FOLK_UNITS is
# larger) with a fresh cosine schedule; an interrupted stage resumes from runs/folk. The shipped model's
# history: 13,400 steps (2x256) on the Irish books alone; 2,650 steps at lr 0.001 on folk-all; 1,400 at
# 0.0005 on the corpus re-imported (reader 2); 6,000 steps of a cosine schedule from 0.0003; then widened to
# 2x512 and 1,800 steps of a cosine schedule from 0.0004 (this script's defaults).
FOLK_SHARED=${FOLK_SHARED:-../shared/corpora/folk}
FOLK_FROM=${FOLK_FROM-models/folk}
FOLK_LAYERS=${FOLK_LAYERS:-2}
FOLK_UNITS=${FOLK_UNITS:-512}
FOLK_STEPS=${FOLK_STEPS:-1800}
FOLK_SHAPE="--cell lstm --layers $FOLK_LAYERS --units $FOLK_UNITS --embedding 0 --dropout 0.2 --batching tunes \
    --batch 32 --optimizer adam --lr ${FOLK_LR:-0.0004} --warmup 50 --decay cosine --clip 5 --eval-every 200 \
    --checkpoint-every 25 --seed 4 --device ${FOLK_DEVICE:-auto}"
WHICH=${1:-all}
studio() { "$PY" -m studio "$@"; }

last_step() { "$PY" -c "import json, sys; print(json.loads(open(sys.argv[1] + '/metrics.jsonl').readlines()[-1])['step'])" "$1"; }

has_corpus() { [ -f "$STUDIO_HOME/corpora/$1/corpus.json" ]; }

# train NAME CORPUS ARGS...: start, or resume when runs/NAME has a checkpoint (extending to the step count)
train() {
    local name=$1 corpus=$2 steps=$3; shift 3
    if [ -f "runs/$name/checkpoint.safetensors" ]; then
        studio train --resume "runs/$name" --steps "$steps"
    else
        studio train --corpus "$corpus" --out "runs/$name" --steps "$steps" "$@"
    fi
}

# publish NAME DESCRIPTION LICENCE: copy the model folder into models/NAME (weights in float16: half the size,
# the same held-out NLL to 4 decimals; they load as float32) and put the card's prose in
publish() {
    mkdir -p "models/$1"
    cp "runs/$1/model.json" "models/$1/"
    "$PY" - "$@" <<'PYEOF'
import json, sys
from studio.atomic import write_json
from studio.nn.folder import write_half_weights
name, description, licence = sys.argv[1:4]
write_half_weights(f"runs/{name}/weights.safetensors", f"models/{name}/weights.safetensors")
path = f"models/{name}/model.json"
card = json.load(open(path))
card.update(name=name, description=description, licence=licence)
write_json(path, card)
PYEOF
    du -h "models/$1/weights.safetensors"
}

if [ "$WHICH" = all ] || [ "$WHICH" = folk ]; then
    # Every folk tune we hold, in the wide vocabulary (ties, more meters and modes), 5% of each source held out
    # for validation by a hash of the tune (so NLL per source can be measured on tunes the model never saw).
    if ! has_corpus folk-all; then
        "$PY" - "$FOLK_SHARED" <<'PYEOF'
import sys
from pathlib import Path
from studio.codecs import get_codec
from studio.corpus.importer import import_corpus
folk = Path(sys.argv[1])
sources = ["builtin:oneills1850", "builtin:ryansMammoth", "builtin:airdsAirs"]
sources += [str(p) for p in (folk / "nottingham", folk / "folkwiki" / "folkwiki_tokenized.txt") if p.exists()]
report = import_corpus("folk-all", get_codec("folk", wide=True), sources,
                       split={"method": "hash", "valid": 0.05, "test": 0.0})
print(report.summary())
PYEOF
    fi
    if [ ! -f runs/folk/checkpoint.safetensors ] && [ -f "$CHECKPOINTS/folk.safetensors" ]; then
        mkdir -p runs/folk  # a stage left unfinished by an earlier session, kept in the repository: resume it
        cp "$CHECKPOINTS/folk.safetensors" runs/folk/checkpoint.safetensors
    fi
    # a new run starts from FOLK_FROM's weights (a model on a vocabulary the wide one extends, widened to
    # FOLK_UNITS when it has fewer units)
    train folk folk-all "$FOLK_STEPS" $FOLK_SHAPE ${FOLK_FROM:+--init-from "$FOLK_FROM"}
    if [ "$(last_step runs/folk)" -lt "$FOLK_STEPS" ]; then  # stopped early: keep the stage for the next session
        cp runs/folk/checkpoint.safetensors "$CHECKPOINTS/folk.safetensors"
    else  # a finished stage is the shipped model; the next one starts from it
        rm -f "$CHECKPOINTS/folk.safetensors"
    fi
    publish folk "folk-rnn style ABC model ($FOLK_LAYERS x $FOLK_UNITS LSTM on one-hot tokens, wide folk vocabulary) \
trained on every folk collection this project holds: O'Neill's Music of Ireland (1850), Ryan's Mammoth Collection \
and Aird's Airs (as shipped with music21), the Nottingham Music Database, and folkwiki.se's Swedish tunes; \
5% of each held out." \
        "Model: GPL-3.0, following its most restrictive training data. Training tunes: O'Neill's, Ryan's, Aird's: \
traditional, public domain, as distributed with music21 (BSD); Nottingham Music Database (jukedeck/nottingham-dataset \
ABC_cleaned): GPL-3.0; folkwiki.se tunes via victorwegeborn/folk-rnn's token file (code MIT; tunes on folkwiki.se's terms)."
fi

if [ "$WHICH" = all ] || [ "$WHICH" = performance ]; then
    if ! has_corpus asap; then
        if compgen -G "$ASAP/*.mid" > /dev/null; then
            # split by piece (everything before the last "__" of Composer__Group__Piece__Performer.mid), so
            # validation and test are pieces the model never heard, by any performer
            studio corpus add asap --codec performance "$ASAP" --group '^(.*)__'
        else
            echo "no ASAP performances found in $ASAP (set ASAP=folder); skipping the performance model" >&2
            exit 0
        fi
    fi
    # The shipped model's history: a 3x256 trained on this project's CPU (14,000 steps of 32 x 256 events,
    # 115 M events, about 9 h 30 min on one core over five sessions: lr 0.0015, from step 9,000 0.0007, from
    # 12,420 0.00035; validation 2.73), then widened to Magenta's 3x512 with --init-from on an H200
    # (scripts/gpu_job.sh; 128 x 512 events per step): 3,157 steps of a cosine schedule from lr 0.0007, then
    # resumed (--resume --steps 6300 --lr 0.0004) and stopped by the lease's clock at step 5,730, 373 M events
    # in 9 minutes; validation 2.54. A new stage starts from the shipped model (PERF_FROM) with a fresh cosine
    # schedule; from scratch: PERF_FROM= PERF_LR=0.001 PERF_STEPS=10000. A CPU runs the 3x512 at about 1,200
    # events/s per core (a GPU, about 900,000): further training belongs on a GPU.
    if [ ! -f runs/performance/checkpoint.safetensors ] && [ -f "$CHECKPOINTS/performance.safetensors" ]; then
        mkdir -p runs/performance  # a stage left unfinished by an earlier session: resume it
        cp "$CHECKPOINTS/performance.safetensors" runs/performance/checkpoint.safetensors
    fi
    if "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
        feed=(--batch 128 --seq-len 512 --loader-workers 12)
    else
        feed=(--batch 32 --seq-len 256)
    fi
    PERF_FROM=${PERF_FROM-models/performance}
    PERF_STEPS=${PERF_STEPS:-3000}
    train performance asap "$PERF_STEPS" --cell lstm --layers 3 --units 512 "${feed[@]}" --embedding 0 --dropout 0.1 \
        --controls --batching windows --optimizer adam --lr "${PERF_LR:-0.0004}" --warmup 100 --decay cosine \
        --clip 3 --eval-every 250 --checkpoint-every 100 --seed 0 ${PERF_FROM:+--init-from "$PERF_FROM"}
    if [ "$(last_step runs/performance)" -lt "$PERF_STEPS" ]; then  # stopped early: keep it for the next session
        cp runs/performance/checkpoint.safetensors "$CHECKPOINTS/performance.safetensors"
    else
        rm -f "$CHECKPOINTS/performance.safetensors"
    fi
    publish performance "Performance RNN piano model (3x512 LSTM on Magenta's 388 performance events with 32 \
velocity bins), conditioned on Magenta's note-density and pitch-class-histogram controls (each optional), trained \
on the ASAP corpus: 902 performances (82.4 h) of 212 pieces from the Yamaha e-Piano Competition, split by piece \
(195 pieces train, 12 validation, 5 test), with the codec's transposition and time-stretch augmentation." \
        "Model: CC BY-NC-SA 4.0 (non-commercial, share-alike), following its training data: ASAP (Foscarin et al., \
ISMIR 2020), whose performances come from the Yamaha e-Piano Competition as in MAESTRO (Hawthorne et al. 2019); \
attribution to ASAP and MAESTRO."
fi
studio models
