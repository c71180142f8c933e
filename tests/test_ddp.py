"""Two CPU processes under torchrun (gloo) train the same model as one process on the same global batch."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from studio.training import Trainer, make_config
from studio.training.checkpoint import CHECKPOINT, model_weights, read_checkpoint
from train_helpers import patterned_corpus

REPO = Path(__file__).resolve().parent.parent

SETTINGS = dict(layers=2, units=24, embedding=8, dropout=0.0, batch_size=8, steps=6, warmup_steps=2,
                eval_every=3, log_every=1, checkpoint_every=3, device="cpu", seed=3, batching="tunes")

RANK_SCRIPT = textwrap.dedent("""
    import sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    import train_helpers  # registers the test codec
    from studio.corpus.store import Corpus
    from studio.training import Trainer, make_config
    Trainer({out!r}, make_config("small", **{settings!r}), Corpus.open({corpus!r})).run()
""")


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path):
    corpus = patterned_corpus(augment=True)
    Trainer(tmp_path / "single", make_config("small", **SETTINGS), corpus).run()
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests"), settings=SETTINGS,
                                         out=str(tmp_path / "ddp"), corpus=str(corpus.path)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    single, meta_single = read_checkpoint(tmp_path / "single" / CHECKPOINT)
    ddp, meta_ddp = read_checkpoint(tmp_path / "ddp" / CHECKPOINT)
    assert meta_ddp["step"] == meta_single["step"] == 6
    assert meta_ddp["tokens_seen"] == meta_single["tokens_seen"]
    for name, tensor in model_weights(single).items():
        torch.testing.assert_close(model_weights(ddp)[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    assert abs(meta_ddp["last_loss"] - meta_single["last_loss"]) < 1e-4
