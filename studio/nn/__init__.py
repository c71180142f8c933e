"""Sequence models (LSTM/GRU/RNN) and the model folder format (safetensors + model.json).

Names are imported on first use (PEP 562), so importing `studio.nn.cells` does not load torch.
"""
from __future__ import annotations

import importlib

_HOMES = {
    "InstalledModel": "folder", "find_model": "folder", "list_models": "folder", "load_model": "folder",
    "read_card": "folder", "save_model": "folder",
    "CELLS": "model", "ModelConfig": "model", "SequenceModel": "model",
}
__all__ = list(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
