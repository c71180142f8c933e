"""REMI-style beat-based tokens for metered MIDI (Huang & Yang 2020; MidiTok's REMI with programs).

Time is counted in bars and grid positions of the piece's own tempo map, not in seconds, so what a model
makes from these tokens lands on bars and beats and opens as a clean score. A piece becomes, bar by bar:

    Bar [TimeSig_N/D]  Position_p [Tempo_q] [Program_k] Pitch_x Velocity_v Duration_d ...  Bar ...

- `Position_p`: grid step p of the bar, `positions_per_beat` steps per quarter note (4 = sixteenths by
  default; 12 also holds triplets). A Position comes before the first note (or tempo change) at a step.
- `TimeSig_N/D`: after the first Bar and after every Bar whose meter differs from the one before. A file's
  time signature that is not in the codec's list (POP909 marks most songs 1/4) is ignored, with a warning;
  without a usable one the bars are `default_time_signature`. A change that falls inside a bar starts at the
  next bar line.
- `Tempo_q`: the tempo (whole qpm, clamped to `tempo_range`) from this position on, whenever it changes.
- `Program_k`: the General MIDI program of the notes that follow, whenever it changes (`programs=False`
  merges every instrument into program 0). Drum notes use their own `PitchDrum_x` tokens instead.
- `Pitch_x Velocity_v Duration_d`: a note; velocity in `velocity_bins` bins (decoded to the bin's middle),
  duration in grid steps (at least one, cut to `max_duration_beats`).
Notes at one position go in (program, drums last, pitch) order. Of two notes of one pitch and instrument
starting on one step only the longer is kept, and a note is ended at the next onset of its pitch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from ...music import Piece
from ...music.piece import NOTE_DTYPE, TEMPO_DTYPE, TIME_SIGNATURE_DTYPE
from ...music.sustain import apply_sustain
from ..base import Codec, Encoded, Skipped, decode_ids
from .config import RemiConfig, parse_time_signature

# Token kinds (decoding looks each id up in a table of these).
OTHER, BAR, POSITION, TIMESIG, TEMPO, PROGRAM, PITCH, DRUM, VELOCITY, DURATION = range(10)
PREFIXES = {"Bar": BAR, "Position": POSITION, "TimeSig": TIMESIG, "Tempo": TEMPO, "Program": PROGRAM,
            "Pitch": PITCH, "PitchDrum": DRUM, "Velocity": VELOCITY, "Duration": DURATION}
DEFAULT_VELOCITY = 100  # for a decoded note without a Velocity token


class RemiCodec(Codec):
    name = "remi"
    file_extensions = (".mid", ".midi")
    unit = "bars"  # a length is a number of bars of the piece's own meter
    default_max_tokens = 8000  # tokens a sample may take without a length: a few minutes of dense piano

    def rules(self):
        from .rules import RemiRules

        return RemiRules(self)

    @classmethod
    def default(cls, **options) -> "RemiCodec":
        settings = RemiConfig.from_options(**options)
        return cls({"codec": cls.name, **settings.to_dict(), "vocab": settings.vocab()})

    def __init__(self, config: dict):
        super().__init__(config)
        self.settings = s = RemiConfig.from_dict(self.config)
        self.res = int(s.positions_per_beat)
        self.kind = np.zeros(self.vocab_size + 1, dtype=np.int64)  # the last entry: ids out of range
        self.value = np.zeros(self.vocab_size + 1, dtype=np.int64)
        self.signatures = list(s.time_signatures)
        for i, token in enumerate(self.vocab):
            prefix, _, rest = token.partition("_")
            self.kind[i] = PREFIXES.get(prefix, OTHER)
            if self.kind[i] == TIMESIG:
                self.value[i] = self.signatures.index(rest)
            elif rest.lstrip("-").isdigit():
                self.value[i] = int(rest)
        self.first = {k: int(np.argmax(self.kind == k)) for k in PREFIXES.values() if (self.kind == k).any()}
        self.bin_width = -(-127 // int(s.velocity_bins))
        self.transpose_range = tuple(int(x) for x in s.transpose)

    # ------------------------------------------------------------------------------------ encoding
    def prepare(self, piece: Piece) -> Piece:
        """The piece as the codec sees it before quantizing: pedal folded (if `sustain`), notes outside the
        pitch ranges left out, every instrument program 0 when `programs` is off."""
        s = self.settings
        if s.sustain and len(piece.pedals):
            piece = apply_sustain(piece)
        n = piece.notes
        pitch, drum = n["pitch"], n["is_drum"]
        keep = np.where(drum, (pitch >= s.drum_min_pitch) & (pitch <= s.drum_max_pitch),
                        (pitch >= s.min_pitch) & (pitch <= s.max_pitch))
        out = piece.with_notes(n[keep])
        if not s.programs:
            out.notes["program"] = 0
        out.pedals = out.pedals[:0]
        return out

    def encode(self, piece: Piece) -> np.ndarray:
        return self.encode_prepared(self.prepare(piece))[0]

    def encode_prepared(self, piece: Piece) -> tuple[np.ndarray, list[str]]:
        """Ids for a prepared piece, and warnings about what the grid or the vocabulary changed."""
        warnings: list[str] = []
        notes = piece.notes
        if not len(notes):
            return np.zeros(0, dtype=np.int32), warnings
        on, duration, notes, cut = self._quantize(piece)
        if cut:
            warnings.append(f"{cut} note(s) longer than {self.settings.max_duration_beats} beats were cut to that length")
        tempo_at, tempo_ids = self._tempo_changes(piece)
        bar_start, bar_sig = self._bars(piece, max(int(on.max()), int(tempo_at.max(initial=0))), warnings)

        # One row of up to four tokens per item (-1 = none), ordered by (step, kind, program, drum, pitch).
        rows, keys = [], []
        sig_changed = np.concatenate([[True], bar_sig[1:] != bar_sig[:-1]])
        bar_rows = np.full((len(bar_start), 4), -1, dtype=np.int64)
        bar_rows[:, 0] = self.first[BAR]
        bar_rows[:, 1] = np.where(sig_changed, self.first[TIMESIG] + bar_sig, -1)
        rows.append(bar_rows)
        keys.append(np.column_stack([bar_start, np.zeros_like(bar_start), np.zeros((len(bar_start), 3), np.int64)]))

        steps = np.unique(np.concatenate([on, tempo_at]))
        bar_of = np.searchsorted(bar_start, steps, side="right") - 1
        rows.append(np.column_stack([self.first[POSITION] + steps - bar_start[bar_of],
                                     np.full((len(steps), 3), -1, dtype=np.int64)]))
        keys.append(np.column_stack([steps, np.ones_like(steps), np.zeros((len(steps), 3), np.int64)]))

        rows.append(np.column_stack([tempo_ids, np.full((len(tempo_ids), 3), -1, dtype=np.int64)]))
        keys.append(np.column_stack([tempo_at, np.full_like(tempo_at, 2), np.zeros((len(tempo_at), 3), np.int64)]))

        drum = notes["is_drum"].astype(np.int64)
        program = np.where(drum == 1, 0, notes["program"].astype(np.int64))
        pitch = notes["pitch"].astype(np.int64)
        note_rows = np.full((len(notes), 4), -1, dtype=np.int64)
        note_rows[:, 1] = np.where(drum == 1, self.first[DRUM] + pitch - self.settings.drum_min_pitch,
                                   self.first[PITCH] + pitch - self.settings.min_pitch)
        note_rows[:, 2] = self.first[VELOCITY] + self.velocity_bin(notes["velocity"]) - 1
        note_rows[:, 3] = self.first[DURATION] + duration - 1
        rows.append(note_rows)
        keys.append(np.column_stack([on, np.full_like(on, 3), program, drum, pitch]))

        rows, keys = np.concatenate(rows), np.concatenate(keys)
        order = np.lexsort(keys.T[::-1])
        rows, keys = rows[order], keys[order]
        if self.settings.programs:  # a Program token where the pitched notes' program changes
            is_note = keys[:, 1] == 3
            pitched = np.nonzero(is_note & (keys[:, 3] == 0))[0]
            prog = keys[pitched, 2]
            change = np.concatenate([[True], prog[1:] != prog[:-1]])
            rows[pitched[change], 0] = self.first[PROGRAM] + prog[change]
        ids = rows.ravel()
        return ids[ids >= 0].astype(np.int32), warnings

    def _quantize(self, piece: Piece):
        """Onset step and duration in steps of each note (notes reordered), and how many were cut."""
        notes = piece.notes
        res = self.res
        on = np.floor(np.asarray(piece.seconds_to_beats(notes["start"])) * res + 0.5).astype(np.int64)
        off = np.floor(np.asarray(piece.seconds_to_beats(notes["end"])) * res + 0.5).astype(np.int64)
        on = np.maximum(on, 0)
        duration = np.maximum(off - on, 1)
        voice = notes["program"].astype(np.int64) * 2 + notes["is_drum"]
        # Same pitch and instrument: of two onsets on one step keep the longer; end each at the next onset.
        order = np.lexsort((-duration, on, notes["pitch"], voice))
        on, duration, notes, voice = on[order], duration[order], notes[order], voice[order]
        same = np.concatenate([(voice[1:] == voice[:-1]) & (notes["pitch"][1:] == notes["pitch"][:-1]), [False]])
        next_on = np.concatenate([on[1:], [np.iinfo(np.int64).max]])
        keep = np.concatenate([[True], ~(same[:-1] & (on[1:] == on[:-1]))])
        duration = np.where(same & (next_on > on), np.minimum(duration, next_on - on), duration)
        on, duration, notes = on[keep], duration[keep], notes[keep]
        cut = int((duration > self.settings.max_duration).sum())
        return on, np.minimum(duration, self.settings.max_duration), notes, cut

    def _tempo_changes(self, piece: Piece) -> tuple[np.ndarray, np.ndarray]:
        """(step, Tempo id) where the whole-qpm tempo changes, the first at step 0.

        Changes move to the nearest grid step; each tempo is then the average over the span to the next
        change, so the time in seconds at every change is kept even where several changes share a step
        (POP909's ritardandos change tempo every few ticks)."""
        lo, hi = (int(x) for x in self.settings.tempo_range)
        tempos = np.sort(piece.tempos, order="time")
        at = np.floor(np.asarray(piece.seconds_to_beats(tempos["time"])) * self.res + 0.5).astype(np.int64)
        at = np.unique(np.concatenate([[0], np.maximum(at, 0)]))
        beats = at / self.res
        seconds = np.atleast_1d(np.asarray(piece.beats_to_seconds(beats), dtype=np.float64))
        qpm = np.empty(len(at))
        qpm[:-1] = 60.0 * np.diff(beats) / np.maximum(np.diff(seconds), 1e-9)
        qpm[-1] = tempos["qpm"][-1]
        qpm = np.clip(np.floor(qpm + 0.5).astype(np.int64), lo, hi)
        new = np.concatenate([[True], qpm[1:] != qpm[:-1]])
        return at[new], self.first[TEMPO] + qpm[new] - lo

    def _bars(self, piece: Piece, last_step: int, warnings: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Start step and meter (index into the codec's list) of every bar up to `last_step`."""
        changes = []
        ignored = set()
        ts = np.sort(piece.time_signatures, order="time")
        beats = np.asarray(piece.seconds_to_beats(ts["time"])) if len(ts) else np.zeros(0)
        for beat, num, den in zip(np.atleast_1d(beats).tolist(), ts["numerator"].tolist(), ts["denominator"].tolist()):
            sig = f"{num}/{den}"
            if sig in self.signatures:
                changes.append((int(np.floor(beat * self.res + 0.5)), self.signatures.index(sig)))
            else:
                ignored.add(sig)
        if ignored:
            warnings.append(f"time signature(s) {', '.join(sorted(ignored))} not in the codec's list were ignored")
        current = self.signatures.index(self.settings.default_time_signature)
        if changes and changes[0][0] <= 0:
            current = changes[0][1]
        starts, sigs, step, pending = [], [], 0, [c for c in changes if c[0] > 0]
        lengths = [self.settings.bar_positions(s) for s in self.signatures]
        while step <= last_step:
            while pending and pending[0][0] <= step:  # a change inside the last bar starts at this bar line
                current = pending.pop(0)[1]
            starts.append(step)
            sigs.append(current)
            step += lengths[current]
        return np.asarray(starts, dtype=np.int64), np.asarray(sigs, dtype=np.int64)

    def velocity_bin(self, velocity) -> np.ndarray:
        v = np.clip(np.asarray(velocity, dtype=np.int64), 1, 127)
        return np.minimum((v - 1) // self.bin_width + 1, int(self.settings.velocity_bins))

    def bin_velocity(self, bins) -> np.ndarray:
        """The middle of each bin (so a round trip is off by at most half a bin)."""
        lo = 1 + (np.asarray(bins, dtype=np.int64) - 1) * self.bin_width
        return np.minimum(lo + (self.bin_width - 1) // 2, 127)

    # ------------------------------------------------------------------------------------ decoding
    def decode(self, ids) -> Piece:
        """A metered Piece for any ids: bar lines from Bar and TimeSig, times from Position and Tempo.

        Specials and unknown ids are skipped; a Position past the end of its bar, a Velocity or Duration
        that follows no note are ignored; a note without Velocity or Duration gets velocity 100 or one beat.
        """
        ids = decode_ids(ids)
        size = self.vocab_size
        unknown = int(((ids < 0) | (ids >= size)).sum())
        ids = np.where((ids >= 0) & (ids < size), ids, size)
        kinds, values = self.kind[ids].tolist(), self.value[ids].tolist()
        s = self.settings
        lengths = [s.bar_positions(sig) for sig in self.signatures]
        sig = self.signatures.index(s.default_time_signature)
        bar0, pos, started, bar_used = 0, 0, False, False
        bars = [(0, sig)]  # (start step, meter) of each bar
        tempos = []  # (step, qpm)
        program = 0
        notes = []  # [step, pitch, drum, program, velocity bin or 0, duration or 0]
        stray = 0
        for kind, value in zip(kinds, values):
            if kind == BAR:
                if started:
                    bar0 += lengths[bars[-1][1]]
                    bars.append((bar0, sig))
                started, pos, bar_used = True, 0, False
            elif kind == TIMESIG:
                sig = value
                if not bar_used:  # takes effect in this bar when nothing has been placed in it yet
                    bars[-1] = (bars[-1][0], sig)
            elif kind == POSITION:
                if value < lengths[bars[-1][1]]:
                    pos, bar_used = value, True
                else:
                    stray += 1
            elif kind == TEMPO:
                tempos.append((bar0 + pos, value))
                bar_used = True
            elif kind == PROGRAM:
                program = value
            elif kind in (PITCH, DRUM):
                notes.append([bar0 + pos, value, kind == DRUM, 0 if kind == DRUM else program, 0, 0])
                bar_used = True
            elif kind == VELOCITY:
                if notes and not notes[-1][4] and not notes[-1][5]:
                    notes[-1][4] = value
                else:
                    stray += 1
            elif kind == DURATION:
                if notes and not notes[-1][5]:
                    notes[-1][5] = value
                else:
                    stray += 1
        piece = self._piece(notes, bars, tempos)
        missing = sum(1 for n in notes if not n[4] or not n[5])
        for count, what in ((unknown, "ids outside the vocabulary ignored"),
                            (stray, "positions past the bar end, velocities or durations with no note ignored"),
                            (missing, "notes without velocity or duration given velocity 100 / one beat")):
            if count:
                piece.warnings.append(f"{count} {what}")
        return piece

    def _piece(self, notes: list, bars: list, tempos: list) -> Piece:
        res = self.res
        tempo = np.zeros(len(tempos) + 1, dtype=TEMPO_DTYPE)
        at = np.array([0] + [t[0] for t in tempos], dtype=np.float64) / res
        qpm = np.array([int(self.settings.default_tempo)] + [t[1] for t in tempos], dtype=np.float64)
        order = np.argsort(at, kind="stable")
        at, qpm = at[order], qpm[order]
        last = np.concatenate([at[1:] != at[:-1], [True]])  # of changes on one step the last wins
        at, qpm = at[last], qpm[last]
        seconds = np.concatenate([[0.0], np.cumsum(np.diff(at) * 60.0 / qpm[:-1])])
        tempo = np.zeros(len(at), dtype=TEMPO_DTYPE)
        tempo["time"], tempo["qpm"] = seconds, qpm
        piece = Piece(tempos=tempo)

        starts = np.array([b[0] for b in bars], dtype=np.int64)
        sigs = np.array([b[1] for b in bars], dtype=np.int64)
        change = np.concatenate([[True], sigs[1:] != sigs[:-1]])
        ts = np.zeros(int(change.sum()), dtype=TIME_SIGNATURE_DTYPE)
        ts["time"] = piece.beats_to_seconds(starts[change] / res)
        ts["numerator"], ts["denominator"] = zip(*(parse_time_signature(self.signatures[i]) for i in sigs[change]))
        piece.time_signatures = ts

        table = np.array(notes, dtype=np.int64).reshape(-1, 6)
        step, pitch, drum, program, vbin, duration = table.T
        duration = np.where(duration > 0, duration, res)
        velocity = np.where(vbin > 0, self.bin_velocity(np.maximum(vbin, 1)), DEFAULT_VELOCITY)
        voices = sorted(set(zip(drum.tolist(), program.tolist())))  # one track per instrument
        track = np.array([voices.index(v) for v in zip(drum.tolist(), program.tolist())], dtype=np.int64)
        out = np.zeros(len(table), dtype=NOTE_DTYPE)
        out["pitch"], out["velocity"], out["program"] = pitch, velocity, np.where(drum == 1, 0, program)
        out["is_drum"], out["track"] = drum == 1, track
        out["start"] = piece.beats_to_seconds(step / res)
        out["end"] = piece.beats_to_seconds((step + duration) / res)
        piece.notes = out[np.lexsort((out["pitch"], out["start"]))]
        piece.track_names = ["Drums" if d else "" for d, _ in voices]
        return piece

    # ------------------------------------------------------------------------------------ files
    def iter_file(self, path: str | Path) -> Iterator[Encoded | Skipped]:
        label = str(path)
        piece = self.prepared_midi(path, f"pitches outside {self.settings.min_pitch}..{self.settings.max_pitch}")
        if isinstance(piece, Skipped):
            yield piece
            return
        ids, warnings = self.encode_prepared(piece)
        yield Encoded(label, ids, notes=len(piece.notes), seconds=piece.duration,
                      warnings=list(piece.warnings) + [f"{label}: {w}" for w in warnings])

    def write_decoded(self, ids, path: str | Path) -> list[str]:
        """Decode and write by extension; MusicXML is notated from the grid itself (whole measures)."""
        if Path(path).suffix.lower() not in (".musicxml", ".xml"):
            return super().write_decoded(ids, path)
        from .score import write_score

        piece = self.decode(ids)
        write_score(piece, path, self.res)
        return list(piece.warnings)

    # ------------------------------------------------------------------------------------ augmentation
    def augment(self, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A transposed copy of a token window (drums untouched); unchanged when a pitch would leave the range."""
        lo, hi = self.transpose_range
        semitones = int(rng.integers(lo, hi + 1)) if hi > lo else lo
        return self.transpose_ids(ids, semitones) if semitones else np.asarray(ids)

    def transpose_ids(self, ids, semitones: int) -> np.ndarray:
        ids = np.asarray(ids)
        safe = np.clip(ids.astype(np.int64), 0, self.vocab_size)
        is_pitch = self.kind[np.where((ids >= 0) & (ids < self.vocab_size), safe, self.vocab_size)] == PITCH
        pitch = self.value[safe[is_pitch]] + semitones
        if ((pitch < self.settings.min_pitch) | (pitch > self.settings.max_pitch)).any():
            return ids.copy()
        out = ids.copy()
        out[is_pitch] = ids[is_pitch] + semitones
        return out
