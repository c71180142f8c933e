"""Where bar lines fall in a piece, from its time signatures: the roll's ruler, the transport's bar counter
and codecs that count lengths in bars all read bars this one way."""
from __future__ import annotations

import numpy as np

from .piece import Piece


def bar_starts(piece: Piece, end_beats: float) -> np.ndarray:
    """Beat positions of every bar line up to `end_beats`, following time-signature changes (4/4 if none)."""
    ts = piece.time_signatures
    if len(ts) == 0:
        changes = [(0.0, 4.0)]
    else:
        order = np.argsort(ts["time"], kind="stable")
        changes = [(float(piece.seconds_to_beats(t)), n * 4.0 / d) for t, n, d in ts[order].tolist()]
        if changes[0][0] > 0:
            changes.insert(0, (0.0, changes[0][1]))
    out = []
    for k, (start, length) in enumerate(changes):
        stop = changes[k + 1][0] if k + 1 < len(changes) else end_beats
        if length <= 0:
            continue
        out.append(np.arange(start, min(stop, end_beats) + 1e-9, length))
    return np.concatenate(out) if out else np.zeros(0)
