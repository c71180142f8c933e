"""Scene units: x is seconds times PX_PER_SECOND, y is one ROW_HEIGHT row per MIDI pitch, 127 at the top.
Zoom is the view's transform, so the scene never changes when the user zooms."""
from __future__ import annotations

import math

PX_PER_SECOND = 100.0
ROW_HEIGHT = 10.0
PITCHES = 128
SCENE_HEIGHT = PITCHES * ROW_HEIGHT
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BLACK_KEYS = frozenset((1, 3, 6, 8, 10))


def x_of(seconds):
    return seconds * PX_PER_SECOND


def seconds_of(x: float) -> float:
    return x / PX_PER_SECOND


def y_of(pitch):
    """Top edge of the pitch's row."""
    return (PITCHES - 1 - pitch) * ROW_HEIGHT


def pitch_of(y: float) -> int:
    return int(min(PITCHES - 1, max(0, PITCHES - 1 - math.floor(y / ROW_HEIGHT))))


def note_name(pitch: int) -> str:
    """MIDI 60 = C4 (MIDI 0 = C-1), the MuseScore convention."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def is_black(pitch: int) -> bool:
    return pitch % 12 in BLACK_KEYS
