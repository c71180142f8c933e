"""The roll's edit operations as plain array functions (note array + selection mask in, new ones out).

Kept apart from Qt so each can be checked on its own; the view calls them and records the result as one
undo step through `PieceDocument.edit`.
"""
from __future__ import annotations

import numpy as np

from ...music.piece import NOTE_DTYPE, make_notes
from .grid import Grid

MIN_LENGTH = 0.01  # seconds; a resize never makes a note vanish


def transpose(notes: np.ndarray, mask: np.ndarray, semitones: int) -> tuple[np.ndarray, np.ndarray]:
    """Move the selected pitched notes; the whole move is refused (returned unchanged) if one would leave 0..127."""
    out = notes.copy()
    moving = mask & ~notes["is_drum"]
    new = out["pitch"][moving].astype(int) + semitones
    if len(new) and (new.min() < 0 or new.max() > 127):
        return notes.copy(), mask.copy()
    out["pitch"][moving] = new
    return out, mask.copy()


def move(notes: np.ndarray, mask: np.ndarray, seconds: float, semitones: int) -> np.ndarray:
    """Shift the selected notes in time and pitch (clamped so nothing starts before 0 or leaves 0..127)."""
    out = notes.copy()
    if not mask.any():
        return out
    sel = out[mask]
    seconds = max(seconds, -float(sel["start"].min()))
    lo, hi = int(sel["pitch"].min()), int(sel["pitch"].max())
    semitones = int(np.clip(semitones, -lo, 127 - hi))
    out["start"][mask] += seconds
    out["end"][mask] += seconds
    out["pitch"][mask] += semitones
    return out


def resize(notes: np.ndarray, mask: np.ndarray, seconds: float, edge: str) -> np.ndarray:
    """Move the selected notes' start ("left") or end ("right") edge, never shorter than MIN_LENGTH."""
    out = notes.copy()
    if edge == "right":
        out["end"][mask] = np.maximum(out["end"][mask] + seconds, out["start"][mask] + MIN_LENGTH)
    else:
        out["start"][mask] = np.clip(out["start"][mask] + seconds, 0.0, out["end"][mask] - MIN_LENGTH)
    return out


def quantize(notes: np.ndarray, mask: np.ndarray, grid: Grid) -> np.ndarray:
    """Snap the selected notes' starts and ends to the grid (a note never collapses below one step)."""
    out = notes.copy()
    if grid.step_beats is None or not mask.any():
        return out
    starts = np.asarray(grid.snap(out["start"][mask]), dtype=float)
    ends = np.asarray(grid.snap(out["end"][mask]), dtype=float)
    one_step = np.asarray(grid.piece.beats_to_seconds(grid.piece.seconds_to_beats(starts) + grid.step_beats)) - starts
    out["start"][mask] = starts
    out["end"][mask] = np.maximum(ends, starts + one_step)
    return out


def set_velocity(notes: np.ndarray, mask: np.ndarray, velocity: int) -> np.ndarray:
    out = notes.copy()
    out["velocity"][mask] = int(np.clip(velocity, 1, 127))
    return out


def delete(notes: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = ~mask
    return notes[keep].copy(), np.zeros(int(keep.sum()), dtype=bool)


def add_note(notes: np.ndarray, pitch: int, start: float, end: float, velocity: int = 100,
             program: int = 0, track: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Append one note; the new note alone is selected (so it can be dragged or deleted at once)."""
    new = make_notes([pitch], [start], [max(end, start + MIN_LENGTH)], velocity=velocity, program=program, track=track)
    out = np.concatenate([notes, new]).astype(NOTE_DTYPE)
    sel = np.zeros(len(out), dtype=bool)
    sel[-1] = True
    return out, sel


def clip_of(notes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The selected notes as a clipboard clip, starting at time 0."""
    clip = notes[mask].copy()
    if len(clip):
        t0 = clip["start"].min()
        clip["start"] -= t0
        clip["end"] -= t0
    return clip


def paste(notes: np.ndarray, clip: np.ndarray, at: float) -> tuple[np.ndarray, np.ndarray]:
    """Insert a clip at a time; the pasted notes become the selection."""
    placed = clip.copy()
    placed["start"] += at
    placed["end"] += at
    out = np.concatenate([notes, placed]).astype(NOTE_DTYPE)
    sel = np.zeros(len(out), dtype=bool)
    sel[len(notes):] = True
    return out, sel
