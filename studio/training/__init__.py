"""Training: the Trainer (loop, checkpoints, exact resume, metrics, DDP), its settings and evaluation.

Names are imported on first use, so `studio.training.config` (presets, settings) loads without torch and
light commands start at once.
"""
from __future__ import annotations

import importlib

_HOMES = {
    "PRESETS": "config", "TrainConfig": "config", "make_config": "config", "learning_rate": "config",
    "Evaluation": "scoring", "evaluate": "scoring",
    "Trainer": "trainer", "TrainEvent": "trainer", "TrainingDiverged": "trainer", "TrainResult": "trainer",
    "pick_device": "trainer",
}
__all__ = list(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
