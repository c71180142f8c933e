"""Scales and keys as pitch classes: which notes belong to a piece's key (or a chosen scale), for the piano
roll's scale highlight and "select out-of-scale notes". A piece without a written key gets one estimated
from its notes (Krumhansl-Kessler key profiles, weighted by duration)."""
from __future__ import annotations

import numpy as np

from ..errors import InvalidArgument
from .piece import KeySignature, Piece

# Semitones above the tonic. The church modes by name, the minors, and the pentatonics.
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),  # natural minor (aeolian)
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "major pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
}
ALIASES = {"ionian": "major", "aeolian": "minor", "maj": "major", "min": "minor", "m": "minor", "dor": "dorian",
           "phr": "phrygian", "lyd": "lydian", "mix": "mixolydian", "loc": "locrian"}
TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def tonic_class(tonic: str) -> int:
    """"F#" -> 6, "Bb" -> 10, "c" -> 0."""
    text = tonic.strip()
    if not text or text[0].upper() not in _LETTERS:
        raise InvalidArgument(f"{tonic!r} is not a key tonic (A-G, then # or b)")
    pc = _LETTERS[text[0].upper()]
    for accidental in text[1:]:
        pc += {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(accidental, 0)
    return pc % 12


def scale_name(mode: str) -> str:
    name = ALIASES.get(mode.strip().lower(), mode.strip().lower())
    if name not in SCALES:
        raise InvalidArgument(f"unknown scale or mode {mode!r}; known: {', '.join(SCALES)}")
    return name


def pitch_classes(tonic: str | int, mode: str) -> frozenset[int]:
    """The pitch classes (0 = C) of `mode` on `tonic`."""
    root = tonic if isinstance(tonic, int) else tonic_class(tonic)
    return frozenset((root + step) % 12 for step in SCALES[scale_name(mode)])


def estimate_key(piece: Piece) -> KeySignature | None:
    """The major or minor key whose profile best matches the piece's duration-weighted pitch classes
    (None for a piece without pitched notes)."""
    notes = piece.notes
    if not len(notes):
        return None
    weights = np.bincount(notes["pitch"] % 12, weights=np.maximum(notes["end"] - notes["start"], 1e-3), minlength=12)
    best, best_r = None, -2.0
    for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
        for root in range(12):
            r = float(np.corrcoef(weights, np.roll(profile, root))[0, 1])
            if r > best_r:
                best, best_r = KeySignature(0.0, TONICS[root], mode), r
    return best


def piece_key(piece: Piece) -> KeySignature | None:
    """The key the piece is written in, else the estimated one."""
    return piece.key or estimate_key(piece)


def out_of_scale(piece: Piece, classes: frozenset[int]) -> np.ndarray:
    """Mask of the notes whose pitch class is not in `classes` (drums too are judged by pitch)."""
    return ~np.isin(piece.notes["pitch"] % 12, sorted(classes))
