"""Performance RNN event tokens (Magenta's `performance_with_dynamics` layout) for MIDI performances.

A piece becomes a stream of NOTE_ON / NOTE_OFF / TIME_SHIFT / VELOCITY events in absolute time (10 ms
steps), so tempo changes are harmless and expressive timing survives. Defaults give Magenta's 388 events,
then `<pad> <s> </s>`. Every parameter lives in the config that travels with corpora and models.

What is kept (decisions, tested in tests/test_performance_codec.py):
- the sustain pedal is folded into note ends first (Magenta's rules; `sustain=False` turns it off);
- drum notes are left out; every pitched program and track is merged into one piano-like stream, and a
  decoded piece is program 0 (Magenta instead discards a file using more than one program);
- notes outside [min_pitch, max_pitch] are left out;
- a note that overlaps a later note of the same pitch is ended at that note's onset (what a piano does on a
  re-strike), and of two same-pitch notes with one onset only the longer is kept; without this, nested
  overlaps would decode with their ends swapped;
- a note whose onset and offset round to the same step (even a zero-length one) is encoded one step long; at one step, every
  NOTE_OFF comes before every NOTE_ON, and onsets go in (time, pitch) order;
- decoding closes a note-off's oldest open note of that pitch (FIFO), ignores note-offs with nothing open,
  specials and unknown ids, drops notes that start and end on one step, and ends notes left open at the
  end of the sequence but at most `max_note_seconds` after their onset (its warnings tell the notes held
  past that limit, which the model never let go, from those still sounding where the sequence stops).

Encoding, decoding and augmentation are whole-array numpy operations (no per-event Python loop).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InvalidArgument
from ..music import Piece
from ..music.piece import NOTE_DTYPE
from ..music.sustain import apply_sustain
from .base import SPECIAL_TOKENS, Codec, Encoded, Skipped, decode_ids

@dataclass
class PerformanceConfig:
    """The performance codec's settings, typed (like MidiTok's TokenizerConfig); JSON-ready, they travel
    with corpora and models inside the codec config next to the vocabulary they give."""

    steps_per_second: int = 100
    max_shift_steps: int = 100
    velocity_bins: int = 32
    min_pitch: int = 0
    max_pitch: int = 127
    sustain: bool = True
    max_note_seconds: float = 5.0  # notes a sequence leaves open end at most this long after their onset
    default_velocity: int = 100  # used by the decoder before the first VELOCITY event
    transpose: list = field(default_factory=lambda: [-3, 3])  # augmentation: semitones, inclusive range
    stretch: list = field(default_factory=lambda: [0.95, 0.975, 1.0, 1.025, 1.05])  # augmentation: time-stretch factors

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PerformanceConfig":
        """The settings from a saved config (other keys such as `codec` and `vocab` ignored). A config saved
        before augmentation existed has no `transpose`/`stretch`: it did not augment."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {"transpose": [0, 0], "stretch": [1.0]}
        values.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items() if k in names})
        return cls(**values)  # `default` checks new settings; a saved config is read as it was made


DEFAULTS = PerformanceConfig().to_dict()


class PerformanceCodec(Codec):
    name = "performance"
    file_extensions = (".mid", ".midi")
    unit = "seconds"  # performances are unmetered: lengths and edit points are times
    default_max_tokens = 20000  # about 100 events a second: a few minutes of music

    @classmethod
    def default(cls, **options) -> "PerformanceCodec":
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise InvalidArgument(f"unknown performance codec option(s) {', '.join(sorted(unknown))}; "
                                  f"known: {', '.join(DEFAULTS)}")
        params = {**DEFAULTS, **options}
        _check(params)
        return cls({"codec": cls.name, **params, "vocab": _vocab(params)})

    def __init__(self, config: dict):
        super().__init__(config)
        self.settings = PerformanceConfig.from_dict(self.config)
        c = self.config
        self.steps_per_second = int(c["steps_per_second"])
        self.max_shift = int(c["max_shift_steps"])
        self.velocity_bins = int(c["velocity_bins"])
        self.min_pitch, self.max_pitch = int(c["min_pitch"]), int(c["max_pitch"])
        self.pitches = self.max_pitch - self.min_pitch + 1
        self.note_off0 = self.pitches
        self.shift0 = 2 * self.pitches
        self.velocity0 = self.shift0 + self.max_shift
        self.events = self.velocity0 + self.velocity_bins
        self.bin_width = math.ceil(127 / self.velocity_bins) if self.velocity_bins else 0
        self.transpose_range = tuple(int(x) for x in c.get("transpose", (0, 0)))
        self.stretch_factors = [float(x) for x in c.get("stretch", [1.0])]

    @property
    def controls(self):
        """Note density and pitch-class histogram (Magenta's performance controls) for conditioned models."""
        from .performance_controls import PerformanceControls

        return PerformanceControls(self)

    # ------------------------------------------------------------------------------------ encoding
    def prepare(self, piece: Piece) -> Piece:
        """The piece exactly as the codec sees it (pedal folded, drums and out-of-range pitches left out,
        same-pitch overlaps ended at the re-strike), notes in (start, pitch) order: decode(encode(piece))
        matches this to within half a step."""
        if self.config.get("sustain", True) and len(piece.pedals):
            piece = apply_sustain(piece)
        n = piece.notes
        n = n[~n["is_drum"] & (n["pitch"] >= self.min_pitch) & (n["pitch"] <= self.max_pitch)]
        out = piece.with_notes(_end_overlaps(n))
        out.pedals = out.pedals[:0]
        return out

    def encode(self, piece: Piece) -> np.ndarray:
        return self.encode_notes(self.prepare(piece).notes)

    def encode_notes(self, notes: np.ndarray) -> np.ndarray:
        """Ids for notes already prepared (sorted by start then pitch; see `prepare`)."""
        n = len(notes)
        if n == 0:
            return np.zeros(0, dtype=np.int32)
        sps = self.steps_per_second
        on = np.maximum(np.floor(notes["start"] * sps + 0.5), 0).astype(np.int64)
        off = np.maximum(np.floor(notes["end"] * sps + 0.5).astype(np.int64), on + 1)
        index = np.arange(n)
        steps = np.concatenate([on, off])
        is_off = np.repeat([False, True], n)
        note = np.concatenate([index, index])
        order = np.lexsort((is_off, note, steps))  # Magenta's order: step, note index, on before off
        steps, is_off, note = steps[order], is_off[order], note[order]
        pitch = notes["pitch"][note].astype(np.int64) - self.min_pitch
        tokens = np.where(is_off, self.note_off0 + pitch, pitch)
        delta = np.diff(steps, prepend=0)
        if self.velocity_bins:
            tokens, delta = self._with_velocities(tokens, delta, is_off, notes["velocity"][note])
        return self._join(tokens, delta)

    def _with_velocities(self, tokens, delta, is_off, velocity):
        """Insert a VELOCITY event before each NOTE_ON whose bin differs from the one in force."""
        bins = self.velocity_bin(velocity)
        ons = np.nonzero(~is_off)[0]
        on_bins = bins[ons]
        change = np.zeros(len(tokens), dtype=bool)
        change[ons] = on_bins != np.concatenate([[0], on_bins[:-1]])
        slots = 1 + change
        at = np.repeat(np.arange(len(tokens)), slots)
        first = np.concatenate([[True], at[1:] != at[:-1]])
        is_velocity = first & change[at]
        new_tokens = np.where(is_velocity, self.velocity0 + bins[at] - 1, tokens[at])
        new_delta = np.where(first, delta[at], 0)  # the shift goes before the VELOCITY, none between
        return new_tokens, new_delta

    def _join(self, tokens: np.ndarray, delta: np.ndarray, tail: int = 0) -> np.ndarray:
        """Event tokens, each preceded by TIME_SHIFTs covering `delta` steps (full shifts, then the rest)."""
        m = self.max_shift
        delta = np.concatenate([delta, [tail]]) if tail else delta
        tokens = np.concatenate([tokens, [-1]]) if tail else tokens
        shifts = (delta + m - 1) // m
        rest = delta - (shifts - 1) * m
        counts = shifts + 1
        at = np.repeat(np.arange(len(tokens)), counts)
        pos = np.arange(len(at)) - np.repeat(np.cumsum(counts) - counts, counts)
        k = shifts[at]
        out = np.where(pos < k - 1, self.shift0 + m - 1,
                       np.where(pos == k - 1, self.shift0 + rest[at] - 1, tokens[at]))
        if tail:
            out = out[:-1]
        return out.astype(np.int32)

    def velocity_bin(self, velocity) -> np.ndarray:
        v = np.clip(np.asarray(velocity, dtype=np.int64), 1, 127)
        return np.minimum((v - 1) // self.bin_width + 1, self.velocity_bins)

    def bin_velocity(self, bins) -> np.ndarray:
        return 1 + (np.asarray(bins, dtype=np.int64) - 1) * self.bin_width

    # ------------------------------------------------------------------------------------ decoding
    def decode(self, ids) -> Piece:
        ids = decode_ids(ids)
        unknown = int(((ids < 0) | (ids >= self.vocab_size)).sum())
        ids = ids[(ids >= 0) & (ids < self.events)]
        is_shift = (ids >= self.shift0) & (ids < self.velocity0)
        clock = np.cumsum(np.where(is_shift, ids - self.shift0 + 1, 0))
        final_step = int(clock[-1]) if len(clock) else 0
        is_on = ids < self.note_off0
        is_off = (ids >= self.note_off0) & (ids < self.shift0)
        velocity = self._velocity_in_force(ids)

        where = np.nonzero(is_on | is_off)[0]
        pitch = np.where(is_on[where], ids[where], ids[where] - self.note_off0)
        order = np.argsort(pitch, kind="stable")  # by pitch, in sequence order within a pitch
        where, pitch = where[order], pitch[order]
        on = is_on[where]
        valid_off, on_rank, off_rank = _fifo_ranks(pitch, on)
        on_pos, on_pitch, on_rank = where[on], pitch[on], on_rank[on]
        off_pos, off_pitch, off_rank = where[valid_off], pitch[valid_off], off_rank[valid_off]
        # The m-th accepted NOTE_OFF of a pitch closes the m-th NOTE_ON of that pitch (FIFO).
        key = lambda p, r: p.astype(np.int64) * (len(ids) + 1) + r  # noqa: E731
        match = np.searchsorted(key(on_pitch, on_rank), key(off_pitch, off_rank))
        start = clock[on_pos]
        end = np.full(len(on_pos), -1, dtype=np.int64)
        end[match] = clock[off_pos]
        open_ = end < 0
        limit = max(1, int(round(float(self.config["max_note_seconds"]) * self.steps_per_second)))
        stuck = open_ & (start + limit < final_step)  # held past the limit: the model never let go
        end[open_] = np.minimum(start[open_] + limit, final_step)
        keep = end > start

        notes = np.zeros(int(keep.sum()), dtype=NOTE_DTYPE)
        notes["pitch"] = on_pitch[keep] + self.min_pitch
        notes["start"] = start[keep] / self.steps_per_second
        notes["end"] = end[keep] / self.steps_per_second
        notes["velocity"] = velocity[on_pos[keep]]
        notes = notes[np.lexsort((notes["pitch"], notes["start"]))]
        piece = Piece(notes=notes, title="", source="")
        stray = int(is_off.sum() - valid_off.sum())
        for count, what in ((unknown, "ids outside the vocabulary ignored"),
                            (stray, "note-offs with no open note ignored"),
                            (int((stuck & keep).sum()), f"notes never ended, closed after "
                                                        f"{self.config['max_note_seconds']:g} s"),
                            (int((open_ & ~stuck & keep).sum()), "notes still sounding at the end, ended there")):
            if count:
                piece.warnings.append(f"{count} {what}")
        return piece

    def _velocity_in_force(self, ids: np.ndarray) -> np.ndarray:
        default = int(self.config.get("default_velocity", 100))
        if not self.velocity_bins:
            return np.full(len(ids), default, dtype=np.int64)
        is_velocity = (ids >= self.velocity0) & (ids < self.events)
        last = np.maximum.accumulate(np.where(is_velocity, np.arange(len(ids)), -1)) if len(ids) else ids
        return np.where(last >= 0, self.bin_velocity(ids[np.maximum(last, 0)] - self.velocity0 + 1), default)

    # ------------------------------------------------------------------------------------ files
    def iter_file(self, path: str | Path) -> Iterator[Encoded | Skipped]:
        piece = self.prepared_midi(path, f"drum notes and pitches outside {self.min_pitch}..{self.max_pitch}")
        if isinstance(piece, Skipped):
            yield piece
            return
        yield Encoded(str(path), self.encode_notes(piece.notes), notes=len(piece.notes), seconds=piece.duration,
                      warnings=list(piece.warnings))

    # ------------------------------------------------------------------------------------ augmentation
    def rules(self):
        from .performance_rules import PerformanceRules

        return PerformanceRules(self)

    def token_map(self, ids, piece=None, text=None):
        from .performance_inspect import performance_map

        return performance_map(self, ids, piece)

    def describe(self, token_id):
        from .performance_inspect import describe

        return describe(self, token_id)

    def insert_token(self, piece, ids, time_of, index, token_id):
        """The event acts on the notes at the token's time; every other note stays exactly as it was."""
        from .performance_inspect import insert_event

        return insert_event(self, piece, ids, time_of, index, int(token_id))

    def evaluate(self, sequences, corpus=None, model_corpus=None) -> dict:
        """The decoded notes' figures, and the share of notes the decoder closed because no NOTE_OFF did."""
        report = super().evaluate(sequences, corpus, model_corpus)
        closed = sum(never_ended(self, ids) for ids in sequences)
        total = sum(len(self.decode(ids).notes) for ids in sequences)
        report["notes_closed_by_decoder_share"] = closed / total if total else None
        return report

    def augment(self, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A transposed and time-stretched copy of a token window, the same length as the window.

        Transposition is drawn from the `transpose` range and left out (0) when a pitch of the window
        would leave the pitch range; the stretch factor is drawn from `stretch`. Specials pass through.
        """
        ids = np.asarray(ids)
        out = ids.astype(np.int64)
        lo, hi = self.transpose_range
        semitones = int(rng.integers(lo, hi + 1)) if hi > lo else lo
        if semitones:
            out = self.transpose_ids(out, semitones)
        factor = float(rng.choice(self.stretch_factors)) if self.stretch_factors else 1.0
        if factor != 1.0:
            out = self.stretch_ids(out, factor)
        return out.astype(ids.dtype, copy=False)

    def transpose_ids(self, ids: np.ndarray, semitones: int) -> np.ndarray:
        """Shift NOTE_ON/NOTE_OFF pitches; unchanged when any pitch would leave the range."""
        ids = np.asarray(ids, dtype=np.int64)
        is_note = (ids >= 0) & (ids < self.shift0)
        offset = np.where(ids >= self.note_off0, self.note_off0, 0)
        pitch = ids - offset + semitones
        if ((pitch[is_note] < 0) | (pitch[is_note] >= self.pitches)).any():
            return ids.copy()
        return np.where(is_note, offset + pitch, ids)

    def stretch_ids(self, ids: np.ndarray, factor: float) -> np.ndarray:
        """Scale every time shift by `factor` (rounded on the absolute clock, so errors do not add up),
        keeping the window's length: a longer result is cut at the end, a shorter one splits shifts."""
        ids = np.asarray(ids, dtype=np.int64)
        n = len(ids)
        is_shift = (ids >= self.shift0) & (ids < self.velocity0)
        steps = np.where(is_shift, ids - self.shift0 + 1, 0)
        clock = np.cumsum(steps)
        anchors = np.nonzero(~is_shift)[0]
        new_clock = np.floor(clock[anchors] * factor + 0.5).astype(np.int64)
        total = int(np.floor((clock[-1] if n else 0) * factor + 0.5))
        delta = np.diff(new_clock, prepend=0)
        tail = total - (int(new_clock[-1]) if len(anchors) else 0)
        out = _fit_length(self._join(ids[anchors], delta, tail), n, self.shift0, self.velocity0)
        return out if len(out) == n else ids.copy()


# ---------------------------------------------------------------------------------------------- helpers
def never_ended(codec, ids: np.ndarray) -> int:
    """NOTE_ONs that no NOTE_OFF closes (the decoder's FIFO rule)."""
    open_ = np.zeros(codec.pitches, dtype=np.int64)
    for t in ids[ids < codec.shift0].tolist():
        if t < codec.note_off0:
            open_[t] += 1
        elif open_[t - codec.note_off0]:
            open_[t - codec.note_off0] -= 1
    return int(open_.sum())


def _check(p: dict) -> None:
    def need(ok: bool, what: str):
        if not ok:
            raise InvalidArgument(f"performance codec: {what}")

    need(int(p["steps_per_second"]) > 0, "steps_per_second must be positive")
    need(int(p["max_shift_steps"]) > 0, "max_shift_steps must be positive")
    need(0 <= int(p["velocity_bins"]) <= 127, "velocity_bins must be 0..127")
    need(0 <= int(p["min_pitch"]) <= int(p["max_pitch"]) <= 127, "need 0 <= min_pitch <= max_pitch <= 127")
    need(float(p["max_note_seconds"]) > 0, "max_note_seconds must be positive")
    need(1 <= int(p["default_velocity"]) <= 127, "default_velocity must be 1..127")
    need(len(p["transpose"]) == 2 and int(p["transpose"][0]) <= int(p["transpose"][1]),
         "transpose must be [low, high] semitones")
    need(len(p["stretch"]) > 0 and all(float(f) > 0 for f in p["stretch"]), "stretch factors must be positive")


def _vocab(p: dict) -> list[str]:
    pitches = range(int(p["min_pitch"]), int(p["max_pitch"]) + 1)
    return ([f"NOTE_ON_{q}" for q in pitches] + [f"NOTE_OFF_{q}" for q in pitches]
            + [f"TIME_SHIFT_{k}" for k in range(1, int(p["max_shift_steps"]) + 1)]
            + [f"VELOCITY_{b}" for b in range(1, int(p["velocity_bins"]) + 1)] + list(SPECIAL_TOKENS))


def _end_overlaps(notes: np.ndarray) -> np.ndarray:
    """Notes in (start, pitch) order with each note ended at the next onset of its pitch, if earlier; of
    two notes of one pitch starting together only the longer survives. (Columns first, one gather at the
    end: gathering whole records is the slow part.)"""
    pitch, start, end = notes["pitch"], notes["start"], notes["end"]
    order = np.lexsort((end, start, pitch))
    p, s, e = pitch[order], start[order], end[order]
    same = np.concatenate([p[1:] == p[:-1], [False]])
    next_start = np.concatenate([s[1:], [np.inf]])
    cut = same & (next_start < e)
    e = np.where(cut, next_start, e)
    alive = ~(cut & (e <= s))
    order, e = order[alive], e[alive]
    final = np.lexsort((pitch[order], start[order]))
    out = notes[order[final]]
    out["end"] = e[final]
    return out


def _fifo_ranks(pitch: np.ndarray, on: np.ndarray):
    """For on/off events grouped by pitch (sequence order within a pitch): which offs find an open note,
    and the rank of each on and each accepted off within its pitch."""
    n = len(pitch)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=bool), empty, empty
    step = np.where(on, 1, -1)
    group_start = np.concatenate([[True], pitch[1:] != pitch[:-1]])
    group = np.cumsum(group_start) - 1
    first = np.nonzero(group_start)[0]
    total = np.cumsum(step)
    level = total - np.concatenate([[0], total])[first][group]  # open count if nothing were ignored
    # Lowest level so far within the pitch (groups pushed apart so earlier ones never win), floored at 0;
    # an off is ignored exactly when it would take the level below that floor (nothing open).
    spread = 2 * n + 2
    low = np.minimum.accumulate(level - group * spread) + group * spread
    floor = np.minimum(low, 0)
    prev_floor = np.where(group_start, 0, np.concatenate([[0], floor[:-1]]))
    valid_off = ~on & (level >= prev_floor)
    on_rank = _rank_within(on, group, first)
    off_rank = _rank_within(valid_off, group, first)
    return valid_off, on_rank, off_rank


def _rank_within(mask: np.ndarray, group: np.ndarray, first: np.ndarray) -> np.ndarray:
    count = np.cumsum(mask)
    before = np.concatenate([[0], count])[first][group]
    return count - before - 1


def _fit_length(ids: np.ndarray, n: int, shift0: int, shift_end: int) -> np.ndarray:
    """Cut to n tokens, or reach n by splitting the longest TIME_SHIFTs in two (same total time)."""
    ids = ids.astype(np.int64)
    while len(ids) < n:
        steps = np.where((ids >= shift0) & (ids < shift_end), ids - shift0 + 1, 0)
        splittable = np.nonzero(steps >= 2)[0]
        if not len(splittable):
            break
        pick = splittable[np.argsort(-steps[splittable], kind="stable")[: n - len(ids)]]
        first = (steps[pick] + 1) // 2
        second = steps[pick] - first
        ids[pick] = shift0 + first - 1
        ids = np.insert(ids, pick + 1, shift0 + second - 1)
    return ids[:n]
