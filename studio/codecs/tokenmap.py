"""The facts inspection keeps per token: time, the notes tokens make, text spans, and musical features
("find cells" correlates units with them). Each codec fills one in with its `token_map`."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FEATURES = ("bar position", "bar in part", "pitch height", "notes sounding", "inside repeat", "time since note")


@dataclass
class TokenMap:
    """Facts per body token (arrays of length T) and the notes the tokens make."""

    time: np.ndarray | None  # seconds at each token (None when the codec has no time)
    features: dict[str, np.ndarray]  # name -> float array [T]; NaN where a feature means nothing
    notes: list[dict] = field(default_factory=list)  # {"pitch", "start", "end", "tokens": [indices]}
    spans: list | None = None  # folk: (start, end) character span in the ABC text per token, or None


def nan_array(T: int) -> np.ndarray:
    return np.full(T, np.nan)


def bar_features(times: np.ndarray, piece) -> tuple[np.ndarray, np.ndarray]:
    """Position in the bar (0..1) and bar number from a piece's tempo map and first time signature."""
    if piece is None or len(piece.time_signatures) == 0:
        beats, per_bar = times * 2.0, 4.0  # 120 BPM in 4/4, what MIDI files mean by default
    else:
        ts = piece.time_signatures[0]
        beats = np.asarray(piece.seconds_to_beats(times), dtype=float)
        per_bar = float(ts["numerator"]) * 4.0 / float(ts["denominator"])
    return (beats % per_bar) / per_bar, np.floor(beats / per_bar)
