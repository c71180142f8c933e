"""Start a training run from a trained model's weights (warm start), where the new vocabulary extends the old.

    python scripts/warm_start.py RUN_DIR MODEL_DIR

RUN_DIR is a run `studio train` has just begun (its checkpoint at step 1 or so); MODEL_DIR a model folder
(weights.safetensors + model.json) of the same shape whose codec's vocabulary is a prefix of the run's
(the folk codec's `wide` vocabulary extends folk-rnn v2's without moving an id). The old weights replace the
run's in its checkpoint (rows and columns of the tokens the old model did not know keep their fresh
initialisation), the optimizer's moments are cleared, and `studio train --resume RUN_DIR --steps N` then
continues from there: on a CPU, hours of earlier training are not thrown away when the corpus grows.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.atomic import write_bytes  # noqa: E402
from studio.training.checkpoint import CHECKPOINT, META_KEY, read_checkpoint  # noqa: E402


def warm_start(run_dir: Path, model_dir: Path) -> str:
    tensors, meta = read_checkpoint(run_dir / CHECKPOINT)
    card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    old_vocab, new_vocab = card["codec"]["vocab"], meta["codec"]["vocab"]
    if new_vocab[:len(old_vocab)] != old_vocab:
        raise SystemExit(f"{model_dir}'s vocabulary is not a prefix of the run's: ids would change meaning")
    old = load_file(str(model_dir / "weights.safetensors"))
    n = len(old_vocab)
    for name, value in old.items():
        key = f"model.{name}"
        if key not in tensors:
            raise SystemExit(f"the run has no weight {name}: not the same architecture")
        target = tensors[key].clone()
        if target.shape == value.shape:
            target = value.clone()
        elif name == "head.weight" or name == "head.bias":
            target[:n] = value
        elif name == "rnn.weight_ih_l0":
            target[:, :n] = value
        else:
            raise SystemExit(f"{name}: shape {tuple(value.shape)} does not fit {tuple(target.shape)}")
        tensors[key] = target.contiguous()
    for key in tensors:
        if key.startswith("optim.") and key.rsplit(".", 1)[-1] in ("exp_avg", "exp_avg_sq"):
            tensors[key] = torch.zeros_like(tensors[key])
    meta = {**meta, "warm_start": {"from": str(model_dir), "tokens": n}}
    write_bytes(run_dir / CHECKPOINT, save(tensors, metadata={META_KEY: json.dumps(meta)}))
    return f"{run_dir}: weights of {model_dir} ({n} of {len(new_vocab)} tokens) in the checkpoint at step {meta.get('step')}"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(warm_start(Path(sys.argv[1]), Path(sys.argv[2])))
