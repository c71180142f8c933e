"""Musical time for the roll: grid divisions, snapping and bar lines, all through the piece's tempo map."""
from __future__ import annotations

import numpy as np

from ...music.bars import bar_starts  # noqa: F401 (the roll's bar lines; importers use this name)
from ...music.piece import Piece

# Name shown in the grid menu -> length in quarter-note beats (None = snap off).
DIVISIONS: dict[str, float | None] = {
    "1/4": 1.0, "1/8": 0.5, "1/16": 0.25, "1/32": 0.125,
    "1/4 triplet": 2 / 3, "1/8 triplet": 1 / 3, "1/16 triplet": 1 / 6, "1/32 triplet": 1 / 12,
    "Off": None,
}
DEFAULT_DIVISION = "1/16"  # LMMS's default quantize


class Grid:
    """Snaps times to the chosen division of the beat; with snap off, times pass through."""

    def __init__(self, piece: Piece, division: str = DEFAULT_DIVISION):
        self.piece = piece
        self.division = division

    @property
    def step_beats(self) -> float | None:
        return DIVISIONS[self.division]

    def snap(self, seconds):
        step = self.step_beats
        if step is None:
            return seconds
        beats = self.piece.seconds_to_beats(np.maximum(seconds, 0.0))
        return self.piece.beats_to_seconds(np.round(np.asarray(beats) / step) * step)

    def snap_floor(self, seconds: float) -> float:
        step = self.step_beats
        if step is None:
            return seconds
        beats = self.piece.seconds_to_beats(max(seconds, 0.0))
        return float(self.piece.beats_to_seconds(np.floor(beats / step + 1e-9) * step))


def bar_length_at(piece: Piece, beats: float) -> float:
    """Bar length in beats at a beat position."""
    bars = bar_starts(piece, beats + 64.0)
    i = int(np.searchsorted(bars, beats, side="right")) - 1
    i = max(0, min(i, len(bars) - 2))
    return float(bars[i + 1] - bars[i]) if len(bars) > 1 else 4.0


SECOND_STEPS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)


def second_step(px_per_second: float, min_px: float = 60.0) -> float:
    """The finest round number of seconds whose ticks are at least `min_px` apart (ruler and grid agree)."""
    return next((s for s in SECOND_STEPS if s * px_per_second >= min_px), SECOND_STEPS[-1])
