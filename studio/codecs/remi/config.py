"""The REMI codec's settings as a typed dataclass (like MidiTok's TokenizerConfig) and the vocabulary they give.

Every field is JSON-ready and travels with corpora and models inside the codec config, next to the
vocabulary itself, so a token id keeps its meaning forever.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

from ...errors import InvalidArgument
from ..base import SPECIAL_TOKENS

# Meters a bar may have; a file's time signature outside the list is ignored (POP909's 1/4 marks, say).
DEFAULT_TIME_SIGNATURES = ("2/4", "3/4", "4/4", "5/4", "6/4", "2/2", "3/2", "3/8", "6/8", "9/8", "12/8")


@dataclass
class RemiConfig:
    """What the REMI codec keeps and at which resolution (see studio/codecs/remi/codec.py for the layout)."""

    positions_per_beat: int = 4  # grid steps per quarter note: 4 = sixteenth notes, 12 adds triplets
    min_pitch: int = 21  # pitched notes outside [min_pitch, max_pitch] are left out (piano range by default)
    max_pitch: int = 108
    drum_min_pitch: int = 27  # drum notes (own PitchDrum tokens, never transposed) outside are left out
    drum_max_pitch: int = 87
    programs: bool = True  # Program tokens keep instruments apart; False merges everything into program 0
    velocity_bins: int = 32
    max_duration_beats: int = 8  # longer notes are cut to this (Duration tokens: 1 .. this * positions_per_beat)
    tempo_range: list = field(default_factory=lambda: [30, 240])  # Tempo tokens: every whole qpm in range
    time_signatures: list = field(default_factory=lambda: list(DEFAULT_TIME_SIGNATURES))
    default_time_signature: str = "4/4"  # meter of a file without a usable one
    default_tempo: int = 120  # qpm before the first Tempo token
    sustain: bool = False  # fold the sustain pedal into note ends (off: notes as written, for notation)
    transpose: list = field(default_factory=lambda: [-3, 3])  # augmentation: semitones, inclusive range

    # ------------------------------------------------------------------------------- dict round trip
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RemiConfig":
        """The config from a dict (extra keys such as `codec` and `vocab` are ignored); checked."""
        names = {f.name for f in dataclasses.fields(cls)}
        config = cls(**{k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items() if k in names})
        config.check()
        return config

    @classmethod
    def from_options(cls, **options) -> "RemiConfig":
        """Defaults with single options overridden; unknown names are refused, naming the known ones."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = set(options) - set(names)
        if unknown:
            raise InvalidArgument(f"unknown remi codec option(s) {', '.join(sorted(unknown))}; known: {', '.join(names)}")
        return cls.from_dict({**cls().to_dict(), **options})

    # ------------------------------------------------------------------------------- checks and sizes
    def check(self) -> None:
        def need(ok: bool, what: str):
            if not ok:
                raise InvalidArgument(f"remi codec: {what}")

        need(1 <= int(self.positions_per_beat) <= 96, "positions_per_beat must be 1..96")
        need(0 <= int(self.min_pitch) <= int(self.max_pitch) <= 127, "need 0 <= min_pitch <= max_pitch <= 127")
        need(0 <= int(self.drum_min_pitch) <= int(self.drum_max_pitch) <= 127,
             "need 0 <= drum_min_pitch <= drum_max_pitch <= 127")
        need(1 <= int(self.velocity_bins) <= 127, "velocity_bins must be 1..127")
        need(1 <= int(self.max_duration_beats) <= 64, "max_duration_beats must be 1..64")
        need(len(self.tempo_range) == 2 and 1 <= int(self.tempo_range[0]) <= int(self.tempo_range[1]) <= 1000,
             "tempo_range must be [low, high] qpm, 1..1000")
        need(int(self.tempo_range[0]) <= int(self.default_tempo) <= int(self.tempo_range[1]),
             "default_tempo must lie in tempo_range")
        need(len(self.transpose) == 2 and int(self.transpose[0]) <= int(self.transpose[1]),
             "transpose must be [low, high] semitones")
        need(len(self.time_signatures) > 0, "time_signatures must name at least one meter")
        for sig in list(self.time_signatures) + [self.default_time_signature]:
            parsed = parse_time_signature(sig)
            need(parsed is not None, f"time signature {sig!r} is not NUMERATOR/DENOMINATOR (denominator 1..64, a power of 2)")
            positions = Fraction(4 * parsed[0], parsed[1]) * int(self.positions_per_beat)
            need(positions.denominator == 1, f"a bar of {sig} is not a whole number of positions at "
                                             f"{self.positions_per_beat} per beat")
        need(self.default_time_signature in self.time_signatures, "default_time_signature must be in time_signatures")

    def bar_positions(self, sig: str) -> int:
        num, den = parse_time_signature(sig)
        return int(Fraction(4 * num, den) * int(self.positions_per_beat))

    @property
    def max_bar_positions(self) -> int:
        return max(self.bar_positions(s) for s in self.time_signatures)

    @property
    def max_duration(self) -> int:
        return int(self.max_duration_beats) * int(self.positions_per_beat)

    def vocab(self) -> list[str]:
        """Bar, Position, TimeSig, Tempo, Program, Pitch, PitchDrum, Velocity, Duration; then the specials."""
        lo, hi = (int(x) for x in self.tempo_range)
        return (["Bar"] + [f"Position_{p}" for p in range(self.max_bar_positions)]
                + [f"TimeSig_{s}" for s in self.time_signatures]
                + [f"Tempo_{q}" for q in range(lo, hi + 1)]
                + ([f"Program_{p}" for p in range(128)] if self.programs else [])
                + [f"Pitch_{p}" for p in range(int(self.min_pitch), int(self.max_pitch) + 1)]
                + [f"PitchDrum_{p}" for p in range(int(self.drum_min_pitch), int(self.drum_max_pitch) + 1)]
                + [f"Velocity_{b}" for b in range(1, int(self.velocity_bins) + 1)]
                + [f"Duration_{d}" for d in range(1, self.max_duration + 1)]
                + list(SPECIAL_TOKENS))


def parse_time_signature(text) -> tuple[int, int] | None:
    """(numerator, denominator) of "N/D", or None when it is not a usable meter."""
    try:
        num, den = (int(x) for x in str(text).split("/"))
    except ValueError:
        return None
    if not (1 <= num <= 64 and 1 <= den <= 64 and den & (den - 1) == 0):
        return None
    return num, den
