"""What makes a sampled folk tune playable, checked token by token while it is being sampled.

`BarRule` says which bar lengths a musician (and music21) accepts: every bar full, except the tune's pickup
and, where a section has a pickup, the bar that closes the section, short by exactly that pickup so a repeat
comes round in time: before :|, |: or the end, or as the first bar of a second ending |2 (before the next
section's pickup, which must then fill that same gap). A short bar and its complement between two plain bar
lines mid-section is refused: music21 reads two bars of the wrong length there, and folk-rnn tokens write
a double bar || as |, so nothing tells a section's turn from a slip.

`TuneGuard` follows one tune's tokens and says which tokens may come next so that the decoder has nothing to
repair (chords closed, tuplets filled inside the bar, broken rhythm between two notes, repeats and endings
nested) and every bar keeps to `BarRule`; it looks ahead far enough never to reach a dead end (a tuplet or a
broken pair must be able to end on the 64th-note grid inside the bar). A repeat the model leaves open is
closed for it when it ends (`ending`). The sampler masks the model's choices with it; `studio
evaluate-samples` counts playable tunes with `bad_bars`.

Lengths are integers in `UNIT`ths of an eighth note, exact for every duration, tuplet and broken rhythm the
vocabulary can say.
"""
from __future__ import annotations

import copy
import functools
import re
from fractions import Fraction as F

import numpy as np

from .lexer import default_tuplet_q
from .melody import is_event, plain_length, timeline
from .decode import METER_OF_TOKEN
from .vocab import BARS, TIE, split_duration

UNIT = 2 ** 6 * 3 ** 4 * 5 * 7  # 181440 per eighth: /8 and /3 lengths, x 1/2 or 3/2, x q/p for p <= 9
GRID = UNIT // 8  # where a note may end outside a tuplet or broken pair: 64th notes
MAX_CHORD = 4
BROKEN_FACTORS = {">": ((3, 2), (1, 2)), "<": ((1, 2), (3, 2))}  # what A>B and A<B do to A and to B


def units(value: F) -> int:
    return int(value * UNIT)


def full_bar(meter: tuple[int, int]) -> int:
    return units(F(8 * meter[0], meter[1]))


class BarRule:
    """Bar lengths as a musician checks them: `fits` says whether a bar of `length` may end with `sign`."""

    def __init__(self, meter: tuple[int, int]):
        self.meter = meter
        self.full = full_bar(meter)
        self.bars = 0  # bars with notes closed so far
        self.pickup = 0  # the current section's pickup (0: it starts on the beat)
        self.opening = 0  # the tune's own pickup: the last bar may complete it too
        self.gap = 0  # what the last bar lacked when it was short: the next section's pickup may fill it
        self.must_pair = False  # the last bar was short and closed by |: the next bar must fill its gap (only
        self.closes_section = False  # after an ending), or a repeat sign or the end follow if it was full - pickup
        self.ending = False  # the bar being written is the first of a second ending (it may close a section)
        self.may_pair = False  # the short bar just closed by | was such a bar: the next section's pickup may fill it

    def limit(self) -> int:
        """The longest the bar being written may become."""
        if self.must_pair:
            return self.gap if self.may_pair else 0  # after a short bar and |: its complement, or nothing
        return self.full

    def fits(self, length: int, sign: str) -> bool:
        if self.must_pair:
            if length == 0:
                return sign in ("|", "|:") or self.closes_section and sign in (":|", "</s>")
            return length == self.gap and sign != "</s>" and self.may_pair
        if length == 0 or length == self.full:
            return True
        if length > self.full:
            return False
        if self.bars == 0 or length == self.gap:
            return True  # the tune's pickup, or the next section's pickup filling the gap the last one left
        if length not in (self.full - self.pickup, self.full - self.opening):
            return False
        return sign in ("|", ":|", "|:", "</s>")  # a section's closing bar (`close` says what may follow a |)

    def close(self, length: int, sign: str) -> None:
        """Follow a bar closed by `sign` (whether or not it `fits`)."""
        if length == 0:
            if sign in ("|:", ":|") and self.closes_section:
                self.must_pair = False
            self.ending = self.ending or sign == "|2"
            return
        ending, self.ending = self.ending, False
        if self.must_pair or length < self.full and (self.bars == 0 or length == self.gap):
            self.pickup, self.gap, self.must_pair = length % self.full, 0, False
            if self.bars == 0:
                self.opening = self.pickup
        elif length < self.full:
            self.gap = self.full - length
            self.closes_section = length in (self.full - self.pickup, self.full - self.opening)
            self.must_pair = sign == "|"  # then only the end, a repeat sign or (after an ending) its complement
            self.may_pair = ending
        else:
            self.gap = 0
        self.bars += 1


def bad_bars(items: list, meter: tuple[int, int]) -> int:
    """How many bars of a decoded tune break `BarRule` (0: every bar has a length a musician accepts)."""
    rule, bad, length = BarRule(meter), 0, 0
    lengths = iter(units(span) for _, _, span in timeline(items, meter))
    for item in items:
        if is_event(item):
            length += next(lengths)
        elif item in BARS:
            bad += not rule.fits(length, item)
            rule.close(length, item)
            length = 0
    return bad + (not rule.fits(length, "</s>"))


@functools.lru_cache(maxsize=8)
def token_table(vocab: tuple[str, ...]) -> "TokenTable":
    """The table for a vocabulary, shared by every sampling run (and so are its memoised masks)."""
    return TokenTable(list(vocab))


class TokenTable:
    """Each vocabulary token's kind and numbers, worked out once per vocabulary."""

    def __init__(self, vocab: list[str]):
        n = len(vocab)
        self.vocab = vocab
        self.kind = [""] * n
        self.dur = np.zeros(n, dtype=np.int64)  # duration tokens (and fused broken ones): their length
        self.plain = np.zeros(n, dtype=bool)  # a duration a tuplet may hold
        self.broken = [""] * n
        self.tuplet = [0] * n
        self.meter: dict[int, tuple[int, int]] = {}
        for i, token in enumerate(vocab):
            value, broken = split_duration(token)  # as the decoder reads it
            if token in ("<s>", "<pad>"):
                kind = "special"
            elif token == "</s>":
                kind = "end"
            elif token.startswith(("M:", "K:")):
                kind = "header"
                m = METER_OF_TOKEN.match(token)
                if m:
                    self.meter[i] = (int(m.group(1)), int(m.group(2)))
            elif token in BARS:
                kind = "bar"
            elif token == "[":
                kind = "open"
            elif token == "]":
                kind = "close"
            elif token == TIE:
                kind = "tie"
            elif re.fullmatch(r"\(\d", token):
                kind, self.tuplet[i] = "tuplet", int(token[1:])
            elif broken:
                kind, self.broken[i] = "broken", broken
                self.dur[i] = units(value) if value else 0
            elif value is not None and value > 0:
                kind, self.dur[i] = "dur", units(value)
                self.plain[i] = plain_length(value)
            elif token == "z":
                kind = "rest"
            else:
                kind = "pitch"
            self.kind[i] = kind
        self.of_kind = {k: np.array([t == k for t in self.kind]) for k in set(self.kind)}
        self.durations = np.flatnonzero(self.of_kind["dur"]) if "dur" in self.of_kind else np.zeros(0, np.int64)
        self.fused = np.array([i for i in range(n) if self.kind[i] == "broken" and self.dur[i]], dtype=np.int64)
        self.plain_broken = np.array([i for i in range(n) if self.kind[i] == "broken" and not self.dur[i]],
                                     dtype=np.int64)
        self.bars = {vocab[i]: i for i in range(n) if self.kind[i] == "bar"}
        self.end = vocab.index("</s>") if "</s>" in vocab else None
        self.shortest = int(min([*self.dur[self.durations], UNIT]))
        starts = self.of_kind.get("pitch", np.zeros(n, bool)) | self.of_kind.get("rest", np.zeros(n, bool)) \
            | self.of_kind.get("open", np.zeros(n, bool))
        self.event_start = starts
        self.none = np.zeros(n, dtype=bool)
        self.lengths = np.unique(np.concatenate([self.dur[self.durations], [UNIT]]))
        self.plain_lengths = np.unique(np.concatenate([self.dur[self.durations][self.plain[self.durations]], [UNIT]]))
        self._sums: dict[int, np.ndarray] = {0: np.zeros(1, dtype=np.int64)}
        self._ends: dict[tuple, bool] = {}
        self.masks: dict[tuple, np.ndarray] = {}  # TuneGuard.allowed by guard state
        self.tuplet_ids = {p: [i for i, x in enumerate(self.tuplet) if x == p] for p in sorted(set(self.tuplet)) if p}

    def can_end(self, length: int, more: np.ndarray, factor: tuple[int, int], limit: int) -> bool:
        """Whether adding one of `more` (times `factor`) to `length` can end on the grid within `limit`
        (memoised: bars revisit the same few lengths)."""
        key = (length, id(more), factor, limit)
        if key not in self._ends:
            ends = length + more * factor[0] // factor[1]
            self._ends[key] = bool(((ends % GRID == 0) & (ends <= limit)).any())
        return self._ends[key]

    def plain_sums(self, notes: int) -> np.ndarray:
        """Every total length `notes` notes of plain lengths can have (up to four bars of 12/8)."""
        if notes not in self._sums:
            more = (self.plain_sums(notes - 1)[:, None] + self.plain_lengths[None, :]).ravel()
            self._sums[notes] = np.unique(more[more <= 48 * UNIT])
        return self._sums[notes]


class TuneGuard:
    """One tune's state while it is sampled: `push` each token (header and primer too), `allowed` the next."""

    def __init__(self, table: TokenTable):
        self.t = table
        self.rule: BarRule | None = None
        self.committed = 0  # the current bar's length before the last event
        self.pending = None  # the last event's length factor (num, den), while it can still change
        self.pending_dur = UNIT  # its duration before the factor
        self.dur_set = False
        self.next_factor = (1, 1)  # what a broken rhythm does to the next event
        self.tuplet_left, self.tuplet_factor = 0, (1, 1)
        self.last_in_tuplet = False
        self.after_broken = False
        self.chord: int | None = None  # pitches in the open chord
        self.open_repeat = False
        self.in_first = False
        self.after_close = False  # the last structural token was :| (a |2 may follow)
        self.closed_had_first = False
        self.notes = False

    # ------------------------------------------------------------------ lengths
    def _len(self, dur: int | np.ndarray, factor) -> int | np.ndarray:
        return dur * factor[0] // factor[1]

    @property
    def pending_len(self) -> int:
        return 0 if self.pending is None else int(self._len(self.pending_dur, self.pending))

    @property
    def bar_length(self) -> int:
        return self.committed + self.pending_len

    def _meter(self) -> BarRule:
        if self.rule is None:
            self.rule = BarRule((4, 4))  # the decoder assumes 4/4 when no meter came
        return self.rule

    # ------------------------------------------------------------------ the mask
    def allowed(self) -> np.ndarray:
        """Tokens that keep the tune repair-free with bars of right lengths (may be all False: a dead end).
        Read-only, and shared between guards in the same state (memoised on the token table)."""
        rule = self._meter()
        key = (self.chord, self.committed, self.pending, self.pending_dur, self.dur_set, self.next_factor,
               self.tuplet_left, self.tuplet_factor, self.last_in_tuplet, self.after_broken, self.open_repeat,
               self.in_first, self.after_close, self.closed_had_first, self.notes, rule.meter, rule.bars == 0,
               rule.pickup, rule.opening, rule.gap, rule.must_pair, rule.closes_section, rule.ending, rule.may_pair)
        ok = self.t.masks.get(key)
        if ok is None:
            if len(self.t.masks) > 100_000:
                self.t.masks.clear()
            ok = self.t.masks[key] = self._allowed(rule)
            ok.setflags(write=False)
        return ok

    def _allowed(self, rule: BarRule) -> np.ndarray:
        t, ok = self.t, self.t.none.copy()
        if self.chord is not None:
            if self.chord < MAX_CHORD:
                ok |= t.of_kind["pitch"]
            if self.chord:
                ok[t.of_kind["close"]] = True
            return ok
        length = self.bar_length
        limit = rule.limit()
        room = limit - length  # after the pending event as it stands
        if self.after_broken:  # the note after a broken rhythm
            if room >= self._len(t.shortest, self.next_factor):
                ok |= t.event_start
            return ok
        if self.pending is not None and not self.dur_set:
            after = self.committed + self._len(t.dur[t.durations], self.pending)
            fit = after <= limit
            if self.tuplet_left or self.last_in_tuplet:
                fit &= t.plain[t.durations]
            if self.tuplet_left:  # the notes the tuplet still needs must fit after this one
                fit &= [self._tuplet_can_finish(a, self.tuplet_left, self.tuplet_factor) for a in after]
            else:
                fit &= after % GRID == 0
            ok[t.durations[fit]] = True
        if room < 0:
            return ok  # only a shorter duration for the last note can save this bar
        if self.pending is not None and self.tuplet_left == 0 and not self.last_in_tuplet:
            self._allow_broken(ok, t.plain_broken, self.pending_dur)
            if not self.dur_set:
                for i in t.fused:
                    self._allow_broken(ok, [i], int(t.dur[i]))
        if self.pending is not None and "tie" in t.of_kind:
            ok |= t.of_kind["tie"]
        if self.tuplet_left:
            if self._tuplet_can_finish(length, self.tuplet_left, self.tuplet_factor):
                ok |= t.event_start
            return ok
        if length % GRID:
            return ok  # a finished note, tuplet or broken pair must leave the bar on the grid
        if room >= t.shortest:
            ok |= t.event_start
        for p, ids in t.tuplet_ids.items():
            if self._tuplet_can_finish(length, p, (default_tuplet_q(p, rule.meter), p)):
                ok[ids] = True
        for sign, i in t.bars.items():
            ok[i] = self._bar_ok(sign, length, rule)
        if t.end is not None:
            # an open |: or |1 is closed for the model when it ends (`ending`): it tends to forget them
            ok[t.end] = self.notes and rule.fits(length, "</s>") and \
                (not (self.open_repeat or self.in_first) or rule.fits(length, ":|"))
        return ok

    def _tuplet_can_finish(self, length: int, notes: int, factor: tuple[int, int]) -> bool:
        """Whether `notes` more tuplet notes of plain lengths can end the tuplet on the grid within the bar."""
        return self.t.can_end(length, self.t.plain_sums(notes), factor, self._meter().limit())

    def _allow_broken(self, ok: np.ndarray, ids, dur: int) -> None:
        for i in ids:
            first, second = BROKEN_FACTORS[self.t.broken[i]]
            used = self.committed + self._len(dur, (self.pending[0] * first[0], self.pending[1] * first[1]))
            ok[i] = self.t.can_end(used, self.t.lengths, second, self._meter().limit())  # after the next note

    def _bar_ok(self, sign: str, length: int, rule: BarRule) -> bool:
        if sign == "|:" and self.open_repeat:
            return False
        if sign == "|1" and (self.in_first or not self.open_repeat):
            return False
        if sign == "|2":
            return self.after_close and self.closed_had_first and length == 0
        if length == 0 and (sign == "|" or sign == ":|" and not rule.must_pair):
            return False  # an empty bar or an empty repeat
        return rule.fits(length, sign)

    # ------------------------------------------------------------------ following the tokens
    def push(self, token: int) -> None:
        t = self.t
        kind = t.kind[token] if 0 <= token < len(t.kind) else "special"
        if kind == "header":
            if token in t.meter and self.rule is None and not self.notes:
                self.rule = BarRule(t.meter[token])
            return
        if kind in ("special", "end"):
            return
        if self.chord is not None:
            if kind == "pitch":
                self.chord += 1
                return
            self.chord = None  # the decoder closes it here
            self._event()
            if kind == "close":
                return
        if kind in ("pitch", "rest"):
            self._event()
        elif kind == "open":
            self.chord = 0
        elif kind == "dur" and self.pending is not None and not self.dur_set:
            self.pending_dur, self.dur_set = int(t.dur[token]), True
        elif kind == "broken" and self.pending is not None:
            if t.dur[token] and not self.dur_set:
                self.pending_dur, self.dur_set = int(t.dur[token]), True
            first, second = BROKEN_FACTORS[t.broken[token]]
            self.pending = (self.pending[0] * first[0], self.pending[1] * first[1])
            self.next_factor, self.after_broken = second, True
        elif kind == "tuplet":
            self._commit()
            p = t.tuplet[token]
            self.tuplet_left, self.tuplet_factor = p, (default_tuplet_q(p, self._meter().meter), p)
        elif kind == "bar":
            self._bar(t.vocab[token])

    def _commit(self) -> None:
        self.committed += self.pending_len
        self.pending = None
        self.after_close = False

    def _event(self) -> None:
        self._commit()
        self.notes = True
        if self.tuplet_left:
            self.pending = self.tuplet_factor
            self.tuplet_left -= 1
            self.last_in_tuplet = self.tuplet_left == 0
        else:
            self.pending, self.last_in_tuplet = self.next_factor, False
        self.pending_dur, self.dur_set = UNIT, False
        self.next_factor, self.after_broken = (1, 1), False

    def _bar(self, sign: str) -> None:
        length = self.bar_length
        after_close = self.after_close
        self._commit()
        self.tuplet_left, self.last_in_tuplet, self.after_broken = 0, False, False
        rule = self._meter()
        rule.close(length, sign)
        self.committed = 0
        if sign == "|:":
            self.open_repeat = True
        elif sign == ":|":
            self.closed_had_first = self.in_first
            self.open_repeat = self.in_first = False
        elif sign == "|1":
            self.in_first = True
        self.after_close = sign == ":|" or (after_close and sign == "|" and length == 0)

    def copy(self) -> "TuneGuard":
        """An independent guard in the same state (the table is shared)."""
        twin = copy.copy(self)
        twin.rule = copy.copy(self.rule)
        return twin

    def can_end(self) -> bool:
        """Whether the tune could end cleanly now (a length limit waits for this)."""
        return self.t.end is not None and bool(self.allowed()[self.t.end])

    def ending(self) -> list[int]:
        """Tokens to add when the tune ends here: the :| of a repeat (or first ending) left open."""
        return [self.t.bars[":|"]] if (self.open_repeat or self.in_first) and ":|" in self.t.bars else []
