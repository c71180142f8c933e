"""Checkpoints: one safetensors file holding everything needed to continue a run exactly.

Tensors: the model weights (`model.*`), the optimizer's per-parameter state (`optim.<param>.<key>`) and
the torch RNG states (`rng.*`); the rest (step, settings, optimizer hyper-parameters, schedule position,
early-stopping record, elapsed time) is JSON in the file's metadata. One file written with temp + fsync +
rename means a kill at any moment leaves either the previous checkpoint or the new one, never half of one.
Nothing is pickled.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_safetensors

from ..atomic import write_bytes
from ..errors import UnreadableFile

CHECKPOINT = "checkpoint.safetensors"
META_KEY = "studio_checkpoint"


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """(tensors, JSON) for an optimizer's state dict: tensors by name, numbers and groups as JSON."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: dict, info: dict) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for idx, values in info["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})


def save_checkpoint(path: str | Path, model_weights: dict, optimizer: torch.optim.Optimizer, meta: dict) -> None:
    tensors = {f"model.{k}": v for k, v in model_weights.items()}
    optim_tensors, optim_info = optimizer_to_tensors(optimizer)
    tensors.update(optim_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    meta = {**meta, "optimizer": optim_info}
    write_bytes(path, save_safetensors(tensors, metadata={META_KEY: json.dumps(meta)}))


def read_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(tensors, meta) of a checkpoint file; a clear error if it is missing or not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(path, None, "no checkpoint here (was this folder made by `studio train`?)")
    try:
        with safe_open(path, framework="pt") as f:
            tensors = {name: f.get_tensor(name) for name in f.keys()}
            meta = json.loads((f.metadata() or {})[META_KEY])
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFile(path, None, f"not a readable studio checkpoint ({exc})") from None
    return tensors, meta


def restore_rng(tensors: dict) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])


def model_weights(tensors: dict) -> dict:
    return {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
