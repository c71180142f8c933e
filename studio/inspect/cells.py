""""Find cells": which LSTM units follow which musical feature of the open piece.

Every unit's activation (hidden output h and, for LSTMs, cell state c, in every layer) is correlated
(Pearson) with every feature of `tokens.FEATURES` over the piece's tokens; a unit is ranked by its
strongest absolute correlation. Features that are constant or undefined over the piece are skipped.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .activations import ModelRun
from .tokens import TokenMap


@dataclass
class Cell:
    layer: int
    kind: str  # "h" hidden output, "c" cell state
    unit: int
    feature: str
    r: float  # Pearson correlation with the feature

    @property
    def label(self) -> str:
        return f"layer {self.layer} {self.kind} unit {self.unit}"

    def to_dict(self) -> dict:
        return asdict(self)


def _standardise(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0)
    norm = np.sqrt((x * x).sum(axis=0))
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 1e-9)


def find_cells(run: ModelRun, tmap: TokenMap, top: int | None = 20) -> list[Cell]:
    """Units ranked by |r| with their best feature, strongest first (all of them when `top` is None)."""
    names, columns = [], []
    for name, values in tmap.features.items():
        values = np.asarray(values, dtype=np.float64)
        if np.isnan(values).any():
            values = np.where(np.isnan(values), np.nanmean(values) if (~np.isnan(values)).any() else 0.0, values)
        if values.std() > 1e-9:
            names.append(name)
            columns.append(values)
    if not names or not run.hidden or len(run.ids) < 3:
        return []
    feats = _standardise(np.stack(columns, axis=1).astype(np.float32))
    found: list[Cell] = []
    for kind, source in (("h", run.hidden), ("c", run.cell)):
        for layer, acts in enumerate(source or ()):
            r = _standardise(acts.astype(np.float32)).T @ feats  # [units, features]
            best = np.abs(r).argmax(axis=1)
            for unit, f in enumerate(best.tolist()):
                found.append(Cell(layer, kind, unit, names[f], float(r[unit, f])))
    found.sort(key=lambda c: -abs(c.r))
    return found if top is None else found[:top]
