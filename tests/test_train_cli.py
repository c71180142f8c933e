"""`studio train`, `studio evaluate`, `studio models` as a user runs them (real subprocesses)."""
from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO, run_studio
from studio.cli import main
from studio.codecs import get_codec
from studio.corpus.store import write_corpus

TINY = ["--layers", "1", "--units", "16", "--embedding", "8", "--batch", "4", "--seq-len", "16",
        "--eval-every", "3", "--device", "cpu", "--warmup", "0", "--lr", "0.02"]


@pytest.fixture
def corpus_name():
    """A small corpus in the real performance vocabulary: rising runs of note-on/time-shift/note-off events."""
    codec = get_codec("performance")
    rng = np.random.default_rng(0)
    arrays = []
    for _ in range(30):
        pitch, n = int(rng.integers(40, 80)), int(rng.integers(5, 15))
        events = []
        for k in range(n):
            events += [codec.index[f"NOTE_ON_{pitch + k}"], codec.index["TIME_SHIFT_10"], codec.index[f"NOTE_OFF_{pitch + k}"]]
        arrays.append(np.array(events, dtype=np.int32))
    write_corpus("runs", codec, arrays, split={"method": "hash", "valid": 0.15, "test": 0.15})
    return "runs"


@pytest.mark.slow
def test_train_resume_evaluate_and_list(tmp_path, corpus_name, studio_home, capsys):
    out = tmp_path / "model"
    proc = run_studio("train", "--corpus", corpus_name, "--out", out, "--steps", "6", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "finished at step 6" in proc.stdout
    assert {"weights.safetensors", "model.json", "checkpoint.safetensors", "metrics.jsonl"} <= {p.name for p in out.iterdir()}

    assert main(["train", "--corpus", corpus_name, "--out", str(out), "--steps", "6", *TINY]) == 2
    assert "already holds a training run; continue it with --resume" in capsys.readouterr().err

    assert main(["train", "--resume", str(out), "--steps", "9", "--layers", "2", "--batch", "8"]) == 2
    assert "--layers, --batch cannot change" in capsys.readouterr().err  # refused, never silently ignored
    # a lower peak learning rate from the next step on (what a plateau or a diverged run asks for)
    proc = run_studio("train", "--resume", out, "--steps", "9", "--lr", "0.005")
    assert proc.returncode == 0, proc.stderr
    assert "finished at step 9" in proc.stdout
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 9 and 0 < rows[-1]["lr"] <= 0.005 < rows[0]["lr"]
    assert json.loads((out / "model.json").read_text())["training"]["settings"]["lr"] == 0.005

    assert main(["evaluate", "--model", str(out), "--corpus", corpus_name, "--split", "test", "--json"]) == 0
    score = json.loads(capsys.readouterr().out)
    assert score["tokens"] > 0 and math.isclose(score["perplexity"], math.exp(score["nll_per_token"]))
    assert score["nll_per_token"] < math.log(get_codec("performance").vocab_size)  # it learned something

    shutil.copytree(out, studio_home / "models" / "mine", ignore=shutil.ignore_patterns("checkpoint*", "metrics*"))
    (studio_home / "models" / "broken").mkdir()
    (studio_home / "models" / "broken" / "model.json").write_text("{")
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert "mine  (yours" in listing and "1x16 LSTM, embedding 8" in listing
    assert "performance (391 tokens)" in listing and "9 steps" in listing
    assert "broken  (yours" in listing and "unusable" in listing and "not valid JSON" in listing


def test_ctrl_c_stops_with_a_checkpoint(tmp_path, corpus_name):
    out = tmp_path / "model"
    env_path = str(REPO)
    proc = subprocess.Popen([sys.executable, "-m", "studio", "train", "--corpus", corpus_name, "--out", str(out),
                             "--steps", "100000", *TINY], cwd=env_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / "metrics.jsonl").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "stopped at step" in stdout and "studio train --resume" in stdout
    from studio.training.checkpoint import CHECKPOINT, read_checkpoint

    step = read_checkpoint(out / CHECKPOINT)[1]["step"]
    assert f"stopped at step {step}:" in stdout and step < 100000


@pytest.mark.parametrize("args,expected", [
    (["train", "--corpus", "nothing-here", "--out", "{tmp}/m", "--steps", "2"], "no corpus called 'nothing-here'"),
    (["train", "--resume", "{tmp}/never-trained"], "checkpoint.safetensors: no checkpoint here"),
    (["train", "--corpus", "runs", "--out", "{tmp}/m", "--tie-weights"], "weight tying needs an embedding as wide"),
    (["train", "--corpus", "runs"], "give --corpus NAME and --out DIR"),
    (["evaluate", "--model", "{tmp}/none", "--corpus", "runs"], "no such model folder"),
])
def test_clear_errors(tmp_path, corpus_name, capsys, args, expected):
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    assert expected in capsys.readouterr().err


@pytest.mark.slow
def test_init_from_a_trained_model_keeps_what_it_learned(tmp_path, corpus_name, studio_home, capsys):
    """A run started from a smaller model (--init-from, more --units, a vocabulary with more tokens) predicts
    at its first step exactly what that model did, and its card says where it came from."""
    import torch

    from studio.nn import load_model
    from studio.nn.model import ModelConfig, SequenceModel
    from studio.training.warm_start import initialise_from

    onehot = [a for a in TINY if a not in ("--embedding", "8")] + ["--embedding", "0", "--controls"]
    old_dir = tmp_path / "old"
    assert main(["train", "--corpus", corpus_name, "--out", str(old_dir), "--steps", "4", *onehot]) == 0
    old = load_model(old_dir)
    vocab = old.codec_config["vocab"] + ["EXTRA_A", "EXTRA_B"]  # a vocabulary that extends the old one
    wide = SequenceModel(ModelConfig(**{**old.config.to_dict(), "units": 40, "vocab_size": len(vocab)}))
    info = initialise_from(wide, {**old.codec_config, "vocab": vocab}, old_dir)
    assert info["units"] == 16 and info["tokens"] == old.config.vocab_size
    wide.eval()
    tokens = torch.randint(0, old.config.vocab_size, (3, 50))
    controls = torch.rand(3, 50, old.config.control_size)
    expected, _ = old(tokens, controls=controls)
    got, _ = wide(tokens, controls=controls)
    assert torch.allclose(got[..., :old.config.vocab_size], expected, atol=1e-5)

    new_dir = tmp_path / "wide"
    args = ["train", "--corpus", corpus_name, "--out", str(new_dir), "--steps", "2", *onehot, "--units", "32"]
    assert main(args + ["--init-from", str(old_dir)]) == 0
    card = json.loads((new_dir / "model.json").read_text())
    assert card["architecture"]["units"] == 32
    assert card["training"]["initialised_from"]["path"] == str(old_dir)
    assert main(["train", "--resume", str(new_dir), "--steps", "3"]) == 0  # the provenance survives a resume
    card = json.loads((new_dir / "model.json").read_text())
    assert card["training"]["initialised_from"]["units"] == 16
    from studio.commands.train import describe_model
    from studio.nn.folder import InstalledModel

    listing = describe_model(InstalledModel("wide", new_dir, False, card))  # as `studio models` prints it
    assert f"started:   from {old_dir.name} (16 units" in listing and str(old_dir) in listing
    capsys.readouterr()
    assert main(["train", "--corpus", corpus_name, "--out", str(tmp_path / "deeper"), "--steps", "2", *onehot,
                 "--layers", "2", "--init-from", str(old_dir)]) == 2
    assert "has layers 1, this run 2" in capsys.readouterr().err
    assert not (tmp_path / "deeper").exists()  # refused before anything was written
    assert main(["train", "--corpus", corpus_name, "--out", str(tmp_path / "narrower"), "--steps", "2", *onehot,
                 "--units", "8", "--init-from", str(old_dir)]) == 2
    assert "16 units per layer, more than this run's 8" in capsys.readouterr().err
