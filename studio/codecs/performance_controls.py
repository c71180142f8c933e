"""Magenta's performance controls: note density and pitch-class histogram, as extra model inputs.

A conditioned Performance RNN is told, at every step, what the music from there on should be like: how
many notes per second over the next 3 s, and how the sounding time of the next 5 s is shared among the 12
pitch classes (Magenta's `performance_controls.py`; facts in the project's encodings notes, section 1.7).
Both look *forward* from each event, as Magenta's do: during training the control describes what actually
follows, so at sampling time asking for a density or a scale makes the model play it.

Each control may be absent (Magenta's "optional" configs): training hides each one at random, and one
model samples with either, both or neither. The vector fed to the model (CONTROL_SIZE floats) is
    [density present, density one-hot over 8 bins (edges 1,2,4,8,16,32,64), log2(1 + density) / 6,
     histogram present, 12 pitch-class weights summing to 1]
with every slot of an absent control zero. The continuous density slot (ours) lets a request between
Magenta's octave-wide bins be told apart.
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidArgument

DENSITY_WINDOW_STEPS = 300  # 3 s at 100 steps per second
HISTOGRAM_WINDOW_STEPS = 500  # 5 s
DENSITY_EDGES = np.array([1, 2, 4, 8, 16, 32, 64], dtype=np.float64)
HISTOGRAM_PRIOR = 0.01
CONTROL_SIZE = 1 + 8 + 1 + 1 + 12
DENSITY_SLOTS = slice(0, 10)
HISTOGRAM_SLOTS = slice(10, 23)
MAX_DENSITY = 200.0

# Named pitch-class sets (C = 0) for presets: a major or minor scale of any key is a rotation of these.
SCALES = {
    "major": [0, 2, 4, 5, 7, 9, 11],
    "minor": [0, 2, 3, 5, 7, 8, 10],
    "harmonic minor": [0, 2, 3, 5, 7, 8, 11],
    "major pentatonic": [0, 2, 4, 7, 9],
    "minor pentatonic": [0, 3, 5, 7, 10],
    "whole-tone": [0, 2, 4, 6, 8, 10],
    "chromatic": list(range(12)),
}
PITCH_CLASS_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


def scale_histogram(tonic: int | str = 0, scale: str = "major") -> list[float]:
    """12 weights: 1 for the pitch classes of `scale` on `tonic` (0-11 or a name like "F#"), else 0."""
    if isinstance(tonic, str):
        names = {n.lower(): i for i, n in enumerate(PITCH_CLASS_NAMES)}
        names.update({"db": 1, "d#": 3, "gb": 6, "g#": 8, "a#": 10})
        if tonic.lower() not in names:
            raise InvalidArgument(f"unknown key {tonic!r}; use one of {', '.join(PITCH_CLASS_NAMES)}")
        tonic = names[tonic.lower()]
    if scale not in SCALES:
        raise InvalidArgument(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    weights = [0.0] * 12
    for step in SCALES[scale]:
        weights[(int(tonic) + step) % 12] = 1.0
    return weights


def piece_histogram(notes: np.ndarray) -> list[float]:
    """12 weights: the share of sounding time of each pitch class in `notes` (a Piece's notes; drums left
    out), what Magenta's histogram control measures; all zero when nothing sounds."""
    pitched = notes[~notes["is_drum"]] if "is_drum" in notes.dtype.names else notes
    weights = np.bincount(pitched["pitch"].astype(np.int64) % 12,
                          weights=np.maximum(pitched["end"] - pitched["start"], 0.0), minlength=12)
    total = weights.sum()
    return (weights / total if total > 0 else weights).tolist()


def density_slots(density: float) -> np.ndarray:
    """The 10 density slots for a density known to be present."""
    out = np.zeros(10, dtype=np.float32)
    out[0] = 1.0
    out[1 + int(np.searchsorted(DENSITY_EDGES, density, side="right"))] = 1.0
    out[9] = np.log2(1.0 + density) / 6.0
    return out


def check_density(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"note density must be a number of notes per second, not {value!r}") from None
    if not 0 <= value <= MAX_DENSITY:
        raise InvalidArgument(f"note density must be between 0 and {MAX_DENSITY:g} notes per second, not {value:g}")
    return value


def check_histogram(values) -> list[float]:
    """12 non-negative weights, not all zero (they are normalised to sum 1)."""
    try:
        weights = [float(v) for v in values]
    except (TypeError, ValueError):
        raise InvalidArgument(f"pitch histogram must be 12 numbers, not {values!r}") from None
    if len(weights) != 12:
        raise InvalidArgument(f"pitch histogram needs 12 weights (C, C#, ..., B), not {len(weights)}")
    if any(not np.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise InvalidArgument("pitch histogram weights must be non-negative numbers, not all zero")
    return weights


def control_vector(note_density: float | None = None, pitch_histogram=None) -> np.ndarray:
    """The CONTROL_SIZE-float input for constant controls (None: that control absent)."""
    out = np.zeros(CONTROL_SIZE, dtype=np.float32)
    if note_density is not None:
        out[DENSITY_SLOTS] = density_slots(check_density(note_density))
    if pitch_histogram is not None:
        weights = np.asarray(check_histogram(pitch_histogram), dtype=np.float64)
        out[HISTOGRAM_SLOTS.start] = 1.0
        out[HISTOGRAM_SLOTS.start + 1:HISTOGRAM_SLOTS.stop] = weights / weights.sum()
    return out


class PerformanceControls:
    """Computes the controls of a token sequence (what follows each position) for a performance codec."""

    size = CONTROL_SIZE

    def __init__(self, codec):
        self.codec = codec

    def features(self, ids: np.ndarray) -> np.ndarray:
        """[len(ids), CONTROL_SIZE] float32: at each position, the density and histogram of the music from
        there on (both present). A `<s>` starts a new piece: no window looks across it."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(ids), CONTROL_SIZE), dtype=np.float32)
        starts = np.flatnonzero(ids == self.codec.bos_id)
        bounds = np.unique(np.concatenate([[0], starts, [len(ids)]]))
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b > a:
                out[a:b] = self._segment(ids[a:b])
        return out

    def _segment(self, ids: np.ndarray) -> np.ndarray:
        c = self.codec
        n = len(ids)
        is_shift = (ids >= c.shift0) & (ids < c.velocity0)
        steps = np.where(is_shift, ids - c.shift0 + 1, 0)
        clock = np.cumsum(steps)  # time after each token
        before = clock - steps  # time at each token (before its own shift)
        end = int(clock[-1]) if n else 0
        is_on = (ids >= 0) & (ids < c.note_off0)
        out = np.zeros((n, CONTROL_SIZE), dtype=np.float32)
        # note density: onsets at or after this position within the next 3 s
        on_pos = np.flatnonzero(is_on)
        on_time = before[on_pos]
        ons_before = np.concatenate([[0], np.cumsum(is_on)])[:-1]  # onsets strictly before each position
        ons_in_time = np.searchsorted(on_time, before + DENSITY_WINDOW_STEPS, side="left")
        count = np.maximum(ons_in_time - ons_before, 0)
        walked = np.clip(end - before, 0, DENSITY_WINDOW_STEPS)
        density = np.where(count > 0, count * c.steps_per_second / np.maximum(walked, c.steps_per_second // 2), 0.0)
        out[:, 0] = 1.0
        out[np.arange(n), 1 + np.searchsorted(DENSITY_EDGES, density, side="right")] = 1.0
        out[:, 9] = np.log2(1.0 + density) / 6.0
        # pitch-class histogram: sounding time per class within the next 5 s (notes already on count too)
        start, stop, pitch = self._notes(ids, before, end)
        span = end + HISTOGRAM_WINDOW_STEPS + 1
        change = np.zeros((12, span + 1), dtype=np.float64)  # +1 where a note of a class starts, -1 where it stops
        np.add.at(change, (pitch % 12, start), 1.0)
        np.add.at(change, (pitch % 12, stop), -1.0)
        sounding = np.cumsum(change, 1)  # notes of each class sounding during each step
        area = np.concatenate([np.zeros((12, 1)), np.cumsum(sounding, 1)], 1)  # sounding steps before t
        hist = (area[:, before + HISTOGRAM_WINDOW_STEPS] - area[:, before]).T / c.steps_per_second + HISTOGRAM_PRIOR
        out[:, 10] = 1.0
        out[:, 11:] = hist / hist.sum(1, keepdims=True)
        return out

    def _notes(self, ids: np.ndarray, before: np.ndarray, end: int):
        """(start step, end step, pitch) of each note of a segment: a NOTE_OFF ends the oldest open note of
        its pitch; notes left open end at the segment's end (the window cannot see further)."""
        c = self.codec
        from .performance import _fifo_ranks

        is_on = ids < c.note_off0
        is_off = (ids >= c.note_off0) & (ids < c.shift0)
        where = np.flatnonzero((is_on | is_off) & (ids >= 0))
        pitch = np.where(is_on[where], ids[where], ids[where] - c.note_off0)
        order = np.argsort(pitch, kind="stable")
        where, pitch = where[order], pitch[order]
        on = is_on[where]
        valid_off, on_rank, off_rank = _fifo_ranks(pitch, on)
        key = lambda p, r: p.astype(np.int64) * (len(ids) + 1) + r  # noqa: E731
        on_pitch = pitch[on]
        match = np.searchsorted(key(on_pitch, on_rank[on]), key(pitch[valid_off], off_rank[valid_off]))
        start = before[where[on]]
        stop = np.full(len(start), end, dtype=np.int64)
        stop[match] = before[where[valid_off]]
        return start, stop, on_pitch + c.min_pitch

    def vector(self, note_density: float | None = None, pitch_histogram=None) -> np.ndarray:
        return control_vector(note_density, pitch_histogram)

    @staticmethod
    def hide(features: np.ndarray, rng: np.random.Generator, p_absent: float = 0.5) -> np.ndarray:
        """Training rows with each control left out at random (one draw per row and control), so one model
        learns to sample with or without each of them. features: [rows, time, CONTROL_SIZE], changed in place."""
        rows = features.shape[0]
        density_off = rng.random(rows) < p_absent
        histogram_off = rng.random(rows) < p_absent
        features[density_off, :, DENSITY_SLOTS] = 0.0
        features[histogram_off, :, HISTOGRAM_SLOTS] = 0.0
        return features
