"""The trainer: exact resume (also after SIGKILL), stop/pause within one step, the NaN guard, metrics,
and that each cell type learns."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

from conftest import EXAMPLE_ABC
from studio.codecs import get_codec
from studio.corpus.store import write_corpus
from studio.nn import load_model
from studio.training import Trainer, TrainingDiverged, make_config
from studio.training.checkpoint import CHECKPOINT, model_weights, read_checkpoint
from train_helpers import patterned_corpus

REPO = Path(__file__).resolve().parent.parent


def tiny(**kw):
    settings = dict(layers=2, units=24, embedding=8, dropout=0.2, batch_size=4, seq_len=24, steps=12,
                    warmup_steps=3, eval_every=4, log_every=2, checkpoint_every=5, device="cpu", seed=7)
    settings.update(kw)
    return make_config("small", **settings)


@pytest.fixture
def corpus(tmp_path):
    return patterned_corpus(augment=True)


def weights(directory):
    tensors, meta = read_checkpoint(Path(directory) / CHECKPOINT)
    return model_weights(tensors), meta


def metric_rows(directory):
    rows = [json.loads(line) for line in (Path(directory) / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("tokens_per_s", "elapsed_s")} for r in rows]


def assert_same_run(a, b):
    wa, ma = weights(a)
    wb, mb = weights(b)
    assert ma["step"] == mb["step"]
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
    assert metric_rows(a) == metric_rows(b)
    assert ma["optimizer"]["param_groups"] == mb["optimizer"]["param_groups"]


def test_stopped_and_resumed_equals_uninterrupted(tmp_path, corpus):
    config = tiny()
    Trainer(tmp_path / "straight", config, corpus).run()

    def stop_at_6(event):
        if event.kind == "step" and event.step == 6:
            trainer.stop()

    trainer = Trainer(tmp_path / "split", tiny(), corpus, on_event=stop_at_6)
    result = trainer.run()
    assert (result.status, result.step) == ("stopped", 6)  # stopped within one optimizer step
    assert weights(tmp_path / "split")[1]["step"] == 6
    result = Trainer.resume(tmp_path / "split", corpus).run()
    assert (result.status, result.step) == ("finished", 12)
    assert_same_run(tmp_path / "straight", tmp_path / "split")
    # the folder is a model folder too: best validation weights and a card
    model = load_model(tmp_path / "split")
    card = model.card["training"]
    assert card["valid_nll_per_token"] == min(r["val_loss"] for r in metric_rows(tmp_path / "split") if "val_loss" in r)
    assert card["settings"]["units"] == 24 and card["train_pieces"] == len(corpus.indices("train"))


def test_metrics_lines(tmp_path, corpus):
    Trainer(tmp_path / "run", tiny(steps=8), corpus).run()
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [2, 4, 6, 8]
    assert all({"step", "loss", "tokens_per_s", "lr", "elapsed_s"} <= set(r) for r in lines)
    assert [("val_loss" in r) for r in lines] == [False, True, False, True]
    assert lines[0]["lr"] < lines[1]["lr"]  # warm-up


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    import train_helpers  # registers the test codec
    from studio.corpus.store import Corpus
    from studio.training import Trainer, make_config
    config = make_config("small", **{settings!r})
    def kill_at_8(event):
        if event.kind == "step" and event.step == 8:
            os.kill(os.getpid(), signal.SIGKILL)
    Trainer({out!r}, config, Corpus.open({corpus!r}), on_event=kill_at_8).run()
""")


@pytest.mark.slow
def test_sigkill_then_resume_from_last_checkpoint(tmp_path, corpus):
    settings = dict(layers=2, units=24, embedding=8, dropout=0.2, batch_size=4, seq_len=24, steps=12,
                    warmup_steps=3, eval_every=4, log_every=2, checkpoint_every=5, device="cpu", seed=7)
    Trainer(tmp_path / "straight", make_config("small", **settings), corpus).run()
    script = KILLED_RUN.format(repo=str(REPO), tests=str(REPO / "tests"), settings=settings,
                               out=str(tmp_path / "killed"), corpus=str(corpus.path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert weights(tmp_path / "killed")[1]["step"] == 5  # the last checkpoint before the kill
    assert max(r["step"] for r in metric_rows(tmp_path / "killed")) == 8  # logged past it, then killed
    with open(tmp_path / "killed" / "metrics.jsonl", "a") as f:
        f.write('{"step": 9, "lo')  # as if killed in the middle of a line
    Trainer.resume(tmp_path / "killed", corpus).run()
    assert_same_run(tmp_path / "straight", tmp_path / "killed")


def test_pause_holds_within_one_step(tmp_path, corpus):
    log = []

    def on_event(event):
        log.append((event.kind, event.step, time.monotonic()))
        if event.kind == "step" and event.step == 3:
            trainer.pause()
            threading.Timer(0.4, trainer.unpause).start()

    trainer = Trainer(tmp_path / "run", tiny(steps=5), corpus, on_event=on_event)
    result = trainer.run()
    assert result.status == "finished"
    kinds = [(k, s) for k, s, _ in log]
    i = kinds.index(("paused", 3))
    assert kinds[i - 1] == ("step", 3) and kinds[i + 1] == ("resumed", 3)
    # the next event of step 4 (a checkpoint may come first: step 4 validates, and the checkpoint precedes weights)
    assert next(k for k in kinds[i + 2:] if k[0] == "step") == ("step", 4)
    assert all(s == 4 for _, s in kinds[i + 2:kinds.index(("step", 4))])
    assert log[i + 1][2] - log[i][2] >= 0.35


def test_stop_while_paused(tmp_path, corpus):
    def on_event(event):
        if event.kind == "step" and event.step == 2:
            trainer.pause()
            threading.Timer(0.2, trainer.stop).start()

    trainer = Trainer(tmp_path / "run", tiny(), corpus, on_event=on_event)
    assert (trainer.run().status, weights(tmp_path / "run")[1]["step"]) == ("stopped", 2)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, corpus):
    def poison(event):
        if event.kind == "step" and event.step == 6:
            with torch.no_grad():
                trainer.model.head.bias[0] = float("nan")

    trainer = Trainer(tmp_path / "run", tiny(), corpus, on_event=poison)
    with pytest.raises(TrainingDiverged) as info:
        trainer.run()
    message = info.value.message()
    assert "step 7" in message and "last good checkpoint (step 5) is kept" in message
    good, meta = weights(tmp_path / "run")
    assert meta["step"] == 5 and all(torch.isfinite(t).all() for t in good.values())
    assert Trainer.resume(tmp_path / "run", corpus).run().step == 12  # and training can go on from it


@pytest.fixture(scope="module")
def session_tunes():
    """The four real tunes of the example ABC book, in folk-rnn tokens."""
    codec = get_codec("folk")
    return codec, codec.encode_file(EXAMPLE_ABC)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_each_cell_learns_real_tunes(tmp_path, session_tunes, cell):
    codec, tunes = session_tunes
    corpus = write_corpus("session", codec, tunes, split={"method": "hash", "valid": 0.0, "test": 0.0})
    config = tiny(cell=cell, layers=1, units=48, dropout=0.0, batch_size=4, steps=25, log_every=5, lr=2e-2,
                  warmup_steps=0, augment=False)
    result = Trainer(tmp_path / cell, config, corpus).run()
    rows = metric_rows(tmp_path / cell)
    assert result.status == "finished" and corpus.codec.name == "folk"
    uniform = math.log(codec.vocab_size)  # the loss of knowing nothing
    assert rows[-1]["loss"] < min(rows[0]["loss"], 0.6 * uniform), [r["loss"] for r in rows]
    assert load_model(tmp_path / cell).card["training"]["batching"] == "tunes"  # folk: whole tunes


def test_early_stopping_when_validation_stops_improving(tmp_path, corpus):
    config = tiny(steps=200, eval_every=2, patience=2, lr=0.0, warmup_steps=0)  # lr 0: nothing improves
    result = Trainer(tmp_path / "run", config, corpus).run()
    assert (result.status, result.step, result.extra["best_step"]) == ("early-stopped", 6, 2)
