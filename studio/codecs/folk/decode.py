"""Any token sequence -> a well-formed tune (meter, mode, melody items) plus the list of repairs made.

A model can emit anything: tokens in the wrong place, chords never closed, a repeat end with no start,
tuplets cut short. Each problem is repaired in the obvious way and named in a warning; nothing raises.
"""
from __future__ import annotations

import re
from fractions import Fraction as F

from .lexer import Chord, Note
from .melody import is_event, plain_length, tidy_bars
from .vocab import BARS, TIE, LETTERS, MARK_ALTER, MODE_FIFTHS, key_alters, split_duration

_PITCH = re.compile(r"^(\^\^|__|\^|_|=)?([A-Ga-g])([,']*)$")
MODE_OF_TOKEN = re.compile(r"^K:C(maj|min|dor|mix|phr|lyd|loc)$")
METER_OF_TOKEN = re.compile(r"^M:(\d+)/(\d+)$")


def parse_pitch(token: str) -> Note | None:
    m = _PITCH.match(token)
    if not m:
        return None
    letter_ch, marks = m.group(2), m.group(3)
    octave = (5 if letter_ch.islower() else 4) + marks.count("'") - marks.count(",")
    return Note(7 * octave + LETTERS.index(letter_ch.upper()), 0, F(1), mark=m.group(1))


class TuneBuilder:
    """Reads tokens one by one into items, repairing as it goes; `finish()` returns the tune."""

    def __init__(self):
        self.meter: tuple[int, int] | None = None
        self.mode: str | None = None
        self.items: list = []
        self.chord: list[Note] | None = None
        self.warnings: list[str] = []
        self.dur_set = False  # the last event already has an explicit duration

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def close_chord(self, reason: str = "") -> None:
        notes, self.chord = self.chord, None
        if notes is None:
            return
        if reason:
            self.warn(f"closed an unbalanced chord [ {reason}")
        unique, seen = [], set()
        for n in notes:
            if (n.step, n.mark) not in seen:
                seen.add((n.step, n.mark))
                unique.append(n)
        if not unique:
            self.warn("dropped an empty chord [ ]")
            return
        dur = next((n.dur for n in unique if n.dur != 1), F(1))
        for n in unique:
            n.dur = dur
        self.items.append(unique[0] if len(unique) == 1 else Chord(unique, dur))
        self.dur_set = False

    def add(self, token: str) -> None:
        m = METER_OF_TOKEN.match(token)
        if m:
            if self.meter is None and not any(is_event(i) for i in self.items):
                self.meter = (int(m.group(1)), int(m.group(2)))
            else:
                self.warn(f"dropped meter token {token} inside the tune")
            return
        m = MODE_OF_TOKEN.match(token)
        if m:
            if self.mode is None and not any(is_event(i) for i in self.items):
                self.mode = m.group(1)
            else:
                self.warn(f"dropped key token {token} inside the tune")
            return
        note = parse_pitch(token)
        if note is not None or token == "z":
            if self.chord is not None:
                if note is None:
                    self.warn("dropped a rest inside a chord")
                else:
                    self.chord.append(note)
                return
            self.items.append(note if note is not None else Note(None))
            self.dur_set = False
            return
        if token == "[":
            if self.chord is not None:
                self.warn("dropped a [ inside a chord")
            else:
                self.chord = []
            return
        if token == "]":
            if self.chord is None:
                self.warn("dropped a ] with no [")
            else:
                self.close_chord()
            return
        value, broken = split_duration(token)
        if self.chord is not None:
            if value is not None and not broken and self.chord:
                self.chord[-1].dur = value
                return
            self.close_chord(f"before {token}")
        if value is not None or broken:
            self.duration_or_broken(token, value, broken)
            return
        if token in BARS:
            self.items.append(token)
            return
        if token == TIE:
            last = self.items[-1] if self.items else None
            if is_event(last):
                last.tie = True
            else:
                self.warn("dropped a tie - that follows no note")
            return
        if re.fullmatch(r"\(\d", token):
            self.items.append(token)
            return
        self.warn(f"dropped unknown token {token!r}")

    def duration_or_broken(self, token: str, value: F | None, broken: str) -> None:
        last = self.items[-1] if self.items else None
        if not is_event(last):
            self.warn(f"dropped {token} that follows no note")
            return
        if value is not None and value > 0:
            if self.dur_set:
                self.warn(f"dropped a second duration {token} on one note")
            else:
                last.dur = value
                self.dur_set = True
        elif value is not None:
            self.warn(f"dropped zero duration {token}")
        if broken:
            self.items.append(broken)

    def finish(self) -> tuple[tuple[int, int], str, list, list[str]]:
        if self.chord is not None:
            self.close_chord("at the end")
        if self.meter is None:
            self.meter = (4, 4)
            self.warn("no meter token: assumed M:4/4")
        if self.mode is None:
            self.mode = "maj"
            self.warn("no key token: assumed K:Cmaj")
        items = self.repair_rhythm(self.items)
        items = balance_repeats(tidy_bars(items), self.warn)
        if not any(is_event(i) for i in items):
            self.warn("no notes: wrote one bar of rest")
            items = [Note(None, 0, F(8 * self.meter[0], self.meter[1]))]
        if items[-1] not in BARS:
            items.append("|")
        apply_accidentals(items, key_alters(MODE_FIFTHS[self.mode]))
        return self.meter, self.mode, items, self.warnings

    def repair_rhythm(self, items: list) -> list:
        """Tuplets only where enough notes of plain lengths follow in the bar; broken rhythm only between
        two notes outside tuplets."""
        out, n = [], len(items)
        in_tuplet = 0  # notes of an open tuplet still to come
        last_in_tuplet = False
        for i, item in enumerate(items):
            if isinstance(item, str) and item[0] == "(":
                need, j = int(item[1:]), i + 1
                while need and j < n and is_event(items[j]) and plain_length(items[j].dur):
                    need -= 1
                    j += 1
                if need or in_tuplet:
                    self.warn(f"dropped tuplet {item} that is not followed by {item[1:]} notes of plain lengths")
                    continue
                in_tuplet = int(item[1:])
            elif item in ("<", ">"):
                if in_tuplet or last_in_tuplet or not (out and is_event(out[-1]) and i + 1 < n
                                                       and is_event(items[i + 1])):
                    self.warn(f"dropped broken rhythm {item} that is not between two notes outside a tuplet")
                    continue
            elif is_event(item):
                last_in_tuplet = in_tuplet > 0
                in_tuplet = max(0, in_tuplet - 1)
            out.append(item)
        return out


def balance_repeats(items: list, warn) -> list:
    """Make |: ... :| and |1 ... :| |2 endings well nested, adding a |: where a repeat end has no start."""
    out: list = []
    open_at = None  # index in out of the open |:, or of the section start after a :|
    section_start = 0
    in_first = in_second = False
    for item in items:
        if in_second and isinstance(item, str) and item in ("|", "|:", ":|", "|1"):
            # The next section starts after the second ending (its first bar line), not at the :| before it:
            # a |: put there would split `:| |2` and leave the second ending without its first (Aird's
            # "Prince Ferdinand's Quick Step": `[1 d4 d4 :| [2 d4 d2 || fg|...[1 d4 d2 :|`).
            in_second = False
            if item == "|":
                out.append(item)
                section_start = len(out)
                continue
            section_start = len(out)
        if not isinstance(item, str):
            out.append(item)
        elif item == "|:":
            if in_first:
                warn("a |: inside a first ending became |")
                out.append("|")
                continue
            if open_at is not None:  # ABC: a :| goes back to the latest |:, so the earlier one is a plain bar
                out[open_at] = "|" if open_at < len(out) and out[open_at] == "|:" else out[open_at]
            open_at = len(out)
            out.append(item)
        elif item == ":|":
            if open_at is None:  # standard ABC: repeat from the start or the last :| (written out here)
                out.insert(section_start, "|:")
            out.append(item)
            open_at, in_first = None, False
            section_start = len(out)
        elif item == "|1":
            if in_first:
                warn("a second |1 became |")
                out.append("|")
                continue
            if open_at is None:  # ABC: the repeat goes back to the start or the last :|
                open_at = section_start
                out.insert(section_start, "|:")
            in_first = True
            out.append(item)
        elif item == "|2":
            if not (out and out[-1] == ":|" and _has_first(out)):
                warn("a second ending |2 without a first ending became |")
                out.append("|")
                continue
            out.append(item)
            in_second = True
        else:
            out.append(item)
    if open_at is not None:
        if in_first:
            warn("a first ending |1 was never closed: added :|")
            out.append(":|")
        elif open_at < len(out) and out[open_at] == "|:":  # a |: that nothing repeats is a plain bar
            out[open_at] = "|"
    return tidy_bars(out)


def _has_first(out: list) -> bool:
    """Whether the section just closed by the last :| holds a |1."""
    for item in reversed(out[:-1]):
        if item == "|1":
            return True
        if item in ("|:", ":|"):
            return False
    return False


def apply_accidentals(items: list, sig: tuple[int, ...]) -> None:
    """Work out each token note's alteration: its own mark, else one earlier in the bar (same letter and
    octave, as ABC 2.1 says), else the key signature."""
    bar: dict[int, int] = {}
    for item in items:
        if isinstance(item, str):
            if item in BARS:
                bar.clear()
            continue
        for note in item.notes if isinstance(item, Chord) else [item]:
            if note.step is None:
                continue
            if note.mark is not None:
                note.alter = MARK_ALTER[note.mark]
                bar[note.step] = note.alter
            else:
                note.alter = bar.get(note.step, sig[note.step % 7])


def build_tune(tokens: list[str]) -> tuple[tuple[int, int], str, list, list[str]]:
    """(meter, mode, items, warnings) for any token sequence; `</s>` ends the tune, `<s>`/`<pad>` are skipped."""
    builder = TuneBuilder()
    for k, token in enumerate(tokens):
        if token in ("<s>", "<pad>"):
            continue
        if token == "</s>":
            if k + 1 < len(tokens):
                builder.warn(f"ignored {len(tokens) - k - 1} tokens after </s>")
            break
        builder.add(token)
    return builder.finish()
