"""Sampling rules of the performance codec: lengths in seconds, counted by TIME_SHIFT steps; a primer piece
(or the music before an edit point) becomes the prefix; the last shift is cut back to the length asked for.

Editing: the music before the point (the last `context_seconds`, pedal folded in) is the primer; what is
sampled is decoded on its own and moved into place, so the original notes outside the span are kept exactly
(notes sounding across the start of the span end there). A regenerated span is sampled to exactly its
length and every note it opens is closed by its end, so nothing hangs into the music after it; same-pitch
overlaps inside the new material are ended at the re-strike.
"""
from __future__ import annotations

import copy

import numpy as np

from ..errors import InvalidArgument
from ..music import Piece
from .rules import EditPlan, Plan, SamplingRules

DEFAULT_SECONDS = 30.0  # when neither --seconds nor --max-tokens is given


class NoteGuard:
    """The performance encoding's grammar, for one candidate: a NOTE_OFF only for a pitch that sounds and has
    sounded for at least one time step. The model's raw choices break it: a 30 s sample of the shipped model
    (step 5,000) ended about 75 pitches that were not sounding while ~75 of its ~200 notes hung on until the
    decoder closed them. With `guard_groups` the model still decides when a key is released; the guard
    only makes it one that is down. (Forbidding a NOTE_ON of a sounding pitch, as the encoding never has
    one, gave more polyphony, not less: the re-strikes' mass went to other notes.) Numpy, so it runs
    wherever the sampler does."""

    def __init__(self, codec):
        self.pitches, self.shift0, self.velocity0 = codec.pitches, codec.shift0, codec.velocity0
        self.base = np.ones(codec.vocab_size, dtype=bool)
        self.sounding = np.zeros(codec.pitches, dtype=np.int64)  # open notes per pitch (a re-strike opens another)
        self.fresh = np.zeros(codec.pitches, dtype=bool)  # struck since the last TIME_SHIFT

    def allowed(self) -> np.ndarray:
        m = self.base.copy()
        p = self.pitches
        m[p:2 * p] = (self.sounding > 0) & ~self.fresh
        return m

    def push(self, token: int) -> None:
        p = self.pitches
        if 0 <= token < p:
            self.sounding[token] += 1
            self.fresh[token] = True
        elif p <= token < 2 * p:
            self.sounding[token - p] = max(0, self.sounding[token - p] - 1)
            self.fresh[token - p] = False
        elif self.shift0 <= token < self.velocity0:
            self.fresh[:] = False

    def copy(self) -> "NoteGuard":
        other = copy.copy(self)  # (`base` is shared: never written)
        other.sounding, other.fresh = self.sounding.copy(), self.fresh.copy()
        return other


class PerformanceRules(SamplingRules):
    """Length in seconds: TIME_SHIFTs advance the clock (in codec steps); the last shift is cut to the limit."""

    settings = ("seconds", "primer_seconds")
    default_length = DEFAULT_SECONDS
    guard_text = ("End only notes that sound", "When the model releases a key, let it be one that is down (the "
                  "model still decides when, and which of the sounding keys by its own odds). Untick to hear "
                  "its raw choices: it often ends a pitch that is not sounding, and the note it meant hangs on")

    def __init__(self, codec):
        super().__init__(codec)
        steps = np.zeros(codec.vocab_size, dtype=np.int64)
        steps[codec.shift0:codec.velocity0] = np.arange(1, codec.max_shift + 1)
        self.shift_steps = steps

    @property
    def scale(self):
        return self.codec.steps_per_second

    def clock_tables(self):
        return {"steps": self.shift_steps}

    def advance(self, clock, tokens, tables):
        clock["clock"] += tables["steps"][tokens]

    def lengths(self):
        return (self.shift_steps / self.codec.steps_per_second).tolist()

    def limit(self, settings):
        seconds = getattr(settings, "seconds", None)
        return None if seconds is None else max(1, round(seconds * self.codec.steps_per_second))

    def finish(self, ids, limit):
        if limit is None or not len(ids):
            return ids
        steps = self.shift_steps[ids]
        over = int(steps.sum()) - limit
        if over > 0 and steps[-1] > over:
            ids = ids.copy()
            ids[-1] -= over  # TIME_SHIFT_k -> TIME_SHIFT_(k - over)
        elif over > 0:
            ids = ids[:-1]
        return ids

    @property
    def guard_groups(self):
        # Without this the mass of the NOTE_OFFs the guard forbids went mostly to NOTE_ONs: more notes, and
        # the ones the model meant to end hung on (step-5,000 model, 8 x 30 s: polyphony 29 against 17
        # unguarded; with it, 5.4).
        return ((self.codec.note_off0, self.codec.shift0),)

    def guards(self, n, prefix):
        guard = NoteGuard(self.codec)
        for token in prefix:
            guard.push(int(token))
        return [guard] + [guard.copy() for _ in range(n - 1)]

    def plan(self, settings, primer: Piece | None = None) -> Plan:
        """`<s>`, then the first `primer_seconds` of the primer piece (all of it when not given). Without a
        primer the first sampled token starts a note (a velocity or NOTE_ON): recorded performances open with
        up to seconds of silence before the first key, which a model learns and a listener (or a jam) would
        sit through; ending notes that never started is no beginning either."""
        if primer is None:
            c = self.codec
            first = self.body.copy()
            first[c.note_off0:c.velocity0] = False  # no NOTE_OFF, no TIME_SHIFT first
            return Plan([c.bos_id], [first], [])
        notes = self.codec.prepare(primer).notes
        seconds = settings.primer_seconds if settings.primer_seconds is not None else float(notes["end"].max(initial=0))
        notes = notes[notes["start"] < seconds].copy()
        notes["end"] = np.minimum(notes["end"], seconds)
        ids = self.primer_ids(notes, seconds)
        return Plan([self.codec.bos_id] + ids, [], ids)

    def shift_ids(self, steps: int) -> list[int]:
        """TIME_SHIFT tokens covering `steps` codec steps (full shifts, then the rest)."""
        c = self.codec
        full, rest = divmod(int(steps), c.max_shift)
        return [c.shift0 + c.max_shift - 1] * full + ([c.shift0 + rest - 1] if rest else [])

    def primer_ids(self, notes: np.ndarray, seconds: float) -> list[int]:
        """Ids for prepared notes (already cut to [0, seconds)), then shifts up to exactly `seconds`."""
        c = self.codec
        ids = c.encode_notes(notes).tolist()
        clock = int(self.shift_steps[ids].sum()) if ids else 0
        return ids + self.shift_ids(round(seconds * c.steps_per_second) - clock)

    # ------------------------------------------------------------------------------------ editing
    def edit_plan(self, piece, start, end, settings, context_seconds):
        start = float(start)
        if start < 0:
            raise InvalidArgument(f"the point to continue from must not be negative (got {start} s)")
        if end is not None and not end > start:
            raise InvalidArgument(f"the span to regenerate is empty ({start} s to {end} s)")
        if end is not None:
            settings.seconds = float(end - start)
        codec = self.codec
        notes = codec.prepare(piece).notes
        begin = max(0.0, start - context_seconds)
        notes = notes[(notes["start"] >= begin) & (notes["start"] < start)].copy()
        notes["end"] = np.minimum(notes["end"], start)
        notes["start"] -= begin
        notes["end"] -= begin
        ids = self.primer_ids(notes, start - begin)
        return EditPlan(Plan([codec.bos_id] + ids, [], ids), settings, {"start": start, "end": end})

    def edited(self, piece, edit, candidate):
        start, end = edit.state["start"], edit.state["end"]
        return _splice(piece, self._new_notes(edit.plan.header, candidate.ids, start), start, end)

    def _new_notes(self, context: list[int], ids: np.ndarray, at: float) -> np.ndarray:
        """The sampled notes alone, at their place in the piece, with the velocity in force at the point."""
        codec = self.codec
        velocities = [t for t in context if codec.velocity0 <= t < codec.events]
        lead = velocities[-1:]
        new = codec.prepare(codec.decode(np.asarray(lead + ids.tolist(), dtype=np.int64))).notes.copy()
        new["start"] += at
        new["end"] += at
        return new


def _splice(piece: Piece, new: np.ndarray, start: float, end: float | None) -> Piece:
    """Original notes before `start` (cut there), the new notes, original notes from `end` on."""
    notes = piece.notes
    before = notes[notes["start"] < start].copy()
    before["end"] = np.minimum(before["end"], start)
    after = notes[notes["start"] >= end] if end is not None else notes[:0]
    pedals = piece.pedals
    kept_pedals = pedals[pedals["start"] < start].copy()
    kept_pedals["end"] = np.minimum(kept_pedals["end"], start)
    if end is not None:
        kept_pedals = np.concatenate([kept_pedals, pedals[pedals["start"] >= end]])
    new = new.astype(notes.dtype)
    if len(new) and len(notes):  # the new notes take the first melodic track and program of the piece
        pitched = notes[~notes["is_drum"]]
        new["track"], new["program"] = (pitched["track"][0], pitched["program"][0]) if len(pitched) else (0, 0)
    merged = np.concatenate([before, new, after])
    out = piece.copy()
    out.notes = merged[np.lexsort((merged["pitch"], merged["start"]))]
    out.pedals = kept_pedals
    out.warnings = []
    return out
