"""The one data model for a piece of music, used by every other part of the studio.

Notes live in one numpy structured array (times in seconds), so a 20,000-note piece is cheap to copy,
slice, transpose and stretch. Tempo, meter and key are small arrays/lists beside it; they do not change
what the notes sound like (times are absolute) but they let us show bars and beats and write scores.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

NOTE_DTYPE = np.dtype(
    [
        ("pitch", np.int16),
        ("start", np.float64),  # seconds
        ("end", np.float64),  # seconds
        ("velocity", np.int16),  # 1..127
        ("program", np.int16),  # General MIDI program 0..127
        ("is_drum", np.bool_),
        ("track", np.int16),  # index into Piece.track_names; keeps separate tracks apart on write
    ]
)
PEDAL_DTYPE = np.dtype([("start", np.float64), ("end", np.float64), ("track", np.int16)])
TEMPO_DTYPE = np.dtype([("time", np.float64), ("qpm", np.float64)])
TIME_SIGNATURE_DTYPE = np.dtype([("time", np.float64), ("numerator", np.int16), ("denominator", np.int16)])

DEFAULT_QPM = 120.0


def empty_notes(n: int = 0) -> np.ndarray:
    return np.zeros(n, dtype=NOTE_DTYPE)


def make_notes(
    pitch: Iterable[int],
    start: Iterable[float],
    end: Iterable[float],
    velocity: Iterable[int] | int = 100,
    program: Iterable[int] | int = 0,
    is_drum: Iterable[bool] | bool = False,
    track: Iterable[int] | int = 0,
) -> np.ndarray:
    """Build a note array from columns (scalars broadcast)."""
    pitch = np.asarray(list(pitch) if not isinstance(pitch, np.ndarray) else pitch)
    notes = empty_notes(len(pitch))
    notes["pitch"] = pitch
    notes["start"] = np.asarray(list(start) if not isinstance(start, np.ndarray) else start, dtype=float)
    notes["end"] = np.asarray(list(end) if not isinstance(end, np.ndarray) else end, dtype=float)
    for name, value in (("velocity", velocity), ("program", program), ("is_drum", is_drum), ("track", track)):
        notes[name] = value if np.isscalar(value) else np.asarray(list(value))
    return notes


@dataclass
class KeySignature:
    time: float
    tonic: str  # e.g. "D", "F#", "Bb"
    mode: str  # "major", "minor", "dorian", "mixolydian", ...

    def __str__(self) -> str:
        return f"{self.tonic} {self.mode}"


@dataclass
class Piece:
    """A piece of music: notes in seconds, pedal, tempo map, meter, key, title and where it came from."""

    notes: np.ndarray = field(default_factory=empty_notes)
    pedals: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=PEDAL_DTYPE))
    tempos: np.ndarray = field(default_factory=lambda: np.array([(0.0, DEFAULT_QPM)], dtype=TEMPO_DTYPE))
    time_signatures: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=TIME_SIGNATURE_DTYPE))
    key_signatures: list[KeySignature] = field(default_factory=list)
    title: str = ""
    source: str = ""  # file path (and tune number for ABC books) it was read from
    track_names: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # format-specific extras (e.g. ABC text, tune number)
    warnings: list[str] = field(default_factory=list)  # what the reader had to repair or leave out

    def __post_init__(self) -> None:
        self.notes = np.asarray(self.notes, dtype=NOTE_DTYPE)
        self.pedals = np.asarray(self.pedals, dtype=PEDAL_DTYPE)
        self.tempos = np.asarray(self.tempos, dtype=TEMPO_DTYPE)
        if len(self.tempos) == 0:
            self.tempos = np.array([(0.0, DEFAULT_QPM)], dtype=TEMPO_DTYPE)
        self.time_signatures = np.asarray(self.time_signatures, dtype=TIME_SIGNATURE_DTYPE)

    # ----------------------------------------------------------------- reading and writing
    @classmethod
    def read(cls, path: str | Path) -> "Piece":
        """Read any supported file (.mid/.midi, .abc, .musicxml/.xml/.mxl). ABC books: the first tune."""
        from .io import read_pieces

        return read_pieces(path)[0]

    @classmethod
    def read_all(cls, path: str | Path) -> list["Piece"]:
        """Every piece in a file: one for MIDI and MusicXML, one per tune for an ABC book."""
        from .io import read_pieces

        return read_pieces(path)

    def write_midi(self, path: str | Path) -> None:
        from .midi_io import write_midi

        write_midi(self, path)

    def write(self, path: str | Path) -> None:
        """Write by extension (.mid/.midi, .musicxml/.xml)."""
        from .io import write_piece

        write_piece(self, path)

    # ----------------------------------------------------------------- facts
    def __len__(self) -> int:
        return len(self.notes)

    @property
    def duration(self) -> float:
        """Seconds from 0 to the last note end or pedal release."""
        ends = [0.0]
        if len(self.notes):
            ends.append(float(self.notes["end"].max()))
        if len(self.pedals):
            ends.append(float(self.pedals["end"].max()))
        return max(ends)

    @property
    def key(self) -> KeySignature | None:
        return self.key_signatures[0] if self.key_signatures else None

    @property
    def programs(self) -> list[tuple[int, bool]]:
        """Distinct (program, is_drum) pairs in first-use order."""
        seen: dict[tuple[int, bool], None] = {}
        for p, d in zip(self.notes["program"].tolist(), self.notes["is_drum"].tolist()):
            seen.setdefault((int(p), bool(d)), None)
        return list(seen)

    # ----------------------------------------------------------------- time conversions
    def _tempo_segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        times = self.tempos["time"]
        qpm = self.tempos["qpm"]
        order = np.argsort(times, kind="stable")
        times, qpm = times[order], qpm[order]
        if times[0] > 0:  # the tempo before the first change is the first tempo
            times = np.concatenate([[0.0], times])
            qpm = np.concatenate([[qpm[0]], qpm])
        beats_at = np.concatenate([[0.0], np.cumsum(np.diff(times) * qpm[:-1] / 60.0)])
        return times, qpm, beats_at

    def seconds_to_beats(self, seconds):
        """Quarter-note beats from the start at the given time(s) in seconds, following the tempo map."""
        times, qpm, beats_at = self._tempo_segments()
        s = np.asarray(seconds, dtype=float)
        i = np.clip(np.searchsorted(times, s, side="right") - 1, 0, len(times) - 1)
        out = beats_at[i] + (s - times[i]) * qpm[i] / 60.0
        return float(out) if out.ndim == 0 else out

    def beats_to_seconds(self, beats):
        """Seconds at the given quarter-note beat(s), following the tempo map."""
        times, qpm, beats_at = self._tempo_segments()
        b = np.asarray(beats, dtype=float)
        i = np.clip(np.searchsorted(beats_at, b, side="right") - 1, 0, len(times) - 1)
        out = times[i] + (b - beats_at[i]) * 60.0 / qpm[i]
        return float(out) if out.ndim == 0 else out

    # ----------------------------------------------------------------- cheap transforms (all return copies)
    def copy(self) -> "Piece":
        return dataclasses.replace(
            self,
            notes=self.notes.copy(),
            pedals=self.pedals.copy(),
            tempos=self.tempos.copy(),
            time_signatures=self.time_signatures.copy(),
            key_signatures=[dataclasses.replace(k) for k in self.key_signatures],
            track_names=list(self.track_names),
            meta=dict(self.meta),
            warnings=list(self.warnings),
        )

    def with_notes(self, notes: np.ndarray) -> "Piece":
        """A copy of this piece holding other notes (everything else kept)."""
        out = self.copy()
        out.notes = np.asarray(notes, dtype=NOTE_DTYPE).copy()
        return out

    def sorted(self) -> "Piece":
        """Notes ordered by (start, pitch, end)."""
        order = np.lexsort((self.notes["end"], self.notes["pitch"], self.notes["start"]))
        return self.with_notes(self.notes[order])

    def transpose(self, semitones: int) -> "Piece":
        """Shift every pitched (non-drum) note; notes pushed outside 0..127 are dropped."""
        out = self.copy()
        pitched = ~out.notes["is_drum"]
        out.notes["pitch"][pitched] += semitones
        keep = (out.notes["pitch"] >= 0) & (out.notes["pitch"] <= 127)
        out.notes = out.notes[keep]
        return out

    def stretch(self, factor: float) -> "Piece":
        """Play `factor` times as long (2.0 = half speed); tempo marks scale so bars stay bars."""
        if factor <= 0:
            raise ValueError("stretch factor must be positive")
        out = self.copy()
        for arr in (out.notes, out.pedals):
            arr["start"] *= factor
            arr["end"] *= factor
        out.tempos["time"] *= factor
        out.tempos["qpm"] /= factor
        out.time_signatures["time"] *= factor
        for k in out.key_signatures:
            k.time *= factor
        return out

    def slice(self, start: float, end: float, shift: bool = True) -> "Piece":
        """Notes sounding inside [start, end), cut at the edges; with `shift` the result starts at 0."""
        n = self.notes
        keep = (n["start"] < end) & (n["end"] > start)
        notes = n[keep].copy()
        notes["start"] = np.maximum(notes["start"], start)
        notes["end"] = np.minimum(notes["end"], end)
        p = self.pedals
        pk = (p["start"] < end) & (p["end"] > start)
        pedals = p[pk].copy()
        pedals["start"] = np.maximum(pedals["start"], start)
        pedals["end"] = np.minimum(pedals["end"], end)
        out = self.copy()
        out.notes, out.pedals = notes, pedals
        if shift and start:
            out = out.shift(-start)
        return out

    def shift(self, seconds: float) -> "Piece":
        """Move everything by `seconds` (negative moves earlier; times never go below 0)."""
        out = self.copy()
        for arr in (out.notes, out.pedals):
            arr["start"] = np.maximum(arr["start"] + seconds, 0.0)
            arr["end"] = np.maximum(arr["end"] + seconds, 0.0)
        # Keep the tempo/meter in force at the new time 0.
        for name in ("tempos", "time_signatures"):
            arr = getattr(out, name)
            if len(arr) == 0:
                continue
            t = arr["time"] + seconds
            before = np.nonzero(t <= 0)[0]
            keep = t > 0
            if len(before):
                keep[before[-1]] = True
            arr = arr[keep]
            arr["time"] = np.maximum(arr["time"] + seconds, 0.0)
            setattr(out, name, arr)
        ks = [k for k in out.key_signatures if k.time + seconds > 0]
        earlier = [k for k in out.key_signatures if k.time + seconds <= 0]
        if earlier:
            ks.insert(0, earlier[-1])
        for k in ks:
            k.time = max(k.time + seconds, 0.0)
        out.key_signatures = ks
        return out

    def apply_sustain(self) -> "Piece":
        """A copy with the sustain pedal folded into note ends (Magenta's rules) and the pedal removed."""
        from .sustain import apply_sustain

        return apply_sustain(self)

    # ----------------------------------------------------------------- summary
    def summary(self) -> dict:
        """The facts `studio info` prints (JSON-ready)."""
        return {
            "title": self.title,
            "source": self.source,
            "notes": int(len(self.notes)),
            "duration_seconds": round(self.duration, 6),
            "tempos": [{"time": round(float(t), 6), "qpm": round(float(q), 4)} for t, q in self.tempos.tolist()],
            "time_signatures": [
                {"time": round(float(t), 6), "numerator": int(n), "denominator": int(d)}
                for t, n, d in self.time_signatures.tolist()
            ],
            "key": str(self.key) if self.key else None,
            "key_signatures": [{"time": round(k.time, 6), "key": str(k)} for k in self.key_signatures],
            "instruments": [
                {"program": p, "is_drum": d, "notes": int(((self.notes["program"] == p) & (self.notes["is_drum"] == d)).sum())}
                for p, d in self.programs
            ],
            "pedal_events": int(len(self.pedals)),
        }
