"""Our own ABC reader for the folk codec: one tune's text -> meter, unit, key and a flat list of melody items.

music21 parses about 13 tunes a second, far too slow to tokenize thousands of tunes, so the codec reads ABC
with this regular-expression lexer and keeps music21 for checking. Pitches are read the way music21 reads
them (accidentals carry through a bar only when the file declares ABC 2.x), so the faithfulness check
compares like with like. Everything we cannot represent raises `TuneSkip` with a reason a user can act on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from fractions import Fraction as F

from .vocab import LETTERS, MARK_ALTER, MODE_FIFTHS, key_alters


class TuneSkip(Exception):
    """This tune cannot be represented faithfully; the message says why."""


@dataclass(slots=True)
class Note:
    """A note (step = 7*octave + letter, C4 = 28) or a rest (step None); dur is the written length in eighths."""

    step: int | None
    alter: int = 0
    dur: F = F(1)
    tie: bool = False
    mark: str | None = None  # accidental as written in a token stream (the decoder works out `alter`)
    merged: bool = False  # made by merging tied notes


@dataclass(slots=True)
class Chord:
    notes: list[Note]
    dur: F = F(1)
    tie: bool = False


@dataclass
class Key:
    letter: int  # tonic letter index C..B
    alter: int  # tonic accidental
    mode: str  # maj min dor mix phr lyd loc

    @property
    def fifths(self) -> int:
        base = {0: 0, 1: 2, 2: 4, 3: -1, 4: 1, 5: 3, 6: 5}[self.letter] + 7 * self.alter
        return base + MODE_FIFTHS[self.mode]

    @property
    def alters(self) -> tuple[int, ...]:
        return key_alters(self.fifths)

    @property
    def tonic(self) -> str:
        return LETTERS[self.letter] + {1: "#", -1: "b"}.get(self.alter, "")

    @property
    def name(self) -> str:
        return self.tonic + {"maj": "", "min": "m"}.get(self.mode, self.mode)


@dataclass
class LexedTune:
    meter: tuple[int, int]
    key: Key
    items: list = field(default_factory=list)  # Note | Chord | str (bar, tuplet "(3", broken ">"/"<")
    title: str = ""
    # key and meter changes after the first note: (index in items, Key or (beats, unit)), in order
    key_changes: list = field(default_factory=list)
    meter_changes: list = field(default_factory=list)


_TONICS = sorted(["c", "g", "d", "a", "e", "b", "f#", "g#", "a#", "f", "bb", "eb", "d#", "ab", "e#", "db",
                  "c#", "gb", "cb", "hp"], key=len, reverse=True)
_MODES = (("dor", "dor"), ("phr", "phr"), ("lyd", "lyd"), ("mix", "mix"), ("maj", "maj"), ("ion", "maj"),
          ("aeo", "min"), ("loc", "loc"), ("m", "min"))
_FIELD_LINE = re.compile(r"^([A-Za-z+]):(.*)$")
_VERSION = re.compile(r"%abc-(\d+)\.(\d+)")

_LEX = re.compile(r"""
 (?P<ws>\s+)
|(?P<field>\[[A-Za-z]:[^\]\n]*\])
|(?P<quote>"[^"\n]*")
|(?P<deco>![^!\n]*!|\+[^+\n:]*\+)
|(?P<grace>\{[^}]*\})
|(?P<bar>:*(?:\[\||\|\]|\|+)\]?:*|:{2,})(?P<variant>\s*\[?\d+(?:[,\-]\d+)*)?
|(?P<vstart>\[\d+(?:[,\-]\d+)*)
|(?P<copen>\[)
|(?P<cclose>\])(?P<cnum>\d*)(?P<cslash>/*)(?P<cden>\d*)(?P<ctie>-?)
|(?P<note>(?P<acc>\^\^|__|\^|_|=)?(?P<letter>[A-Ga-g])(?P<oct>[,']*)(?P<num>\d*)(?P<slash>/*)(?P<den>\d*)(?P<tie>-?))
|(?P<rest>[zx])(?P<rnum>\d*)(?P<rslash>/*)(?P<rden>\d*)
|(?P<tuplet>\((?P<tp>\d+)(?::(?P<tq>\d*)(?::(?P<tr>\d*))?)?)
|(?P<slur>[()])
|(?P<broken>[<>]+)
|(?P<tiealone>-)
|(?P<deco1>[.~HIJKLMNOPQRSTUVWYhijklmnopqrstuvwy`])
|(?P<cont>\\)
|(?P<other>.)
""", re.VERBOSE)
# what a match is, by its last group: a rest's and a chord close's trailing groups always match (maybe empty)
_KIND = {"rden": "rest", "ctie": "cclose", "variant": "bar"}


def default_tuplet_q(p: int, meter: tuple[int, int]) -> int:
    compound = meter[1] == 8 and meter[0] % 3 == 0 and meter[0] > 3
    return {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)


def parse_key(value: str) -> Key:
    """A K: value as music21 reads it (longest tonic match, mode by prefix); unknown keys are skips."""
    value = value.split("%", 1)[0].strip()
    if not value or value.lower() == "none":
        raise TuneSkip("no key (K: is empty or none)")
    low = value.lower()
    tonic = next((t for t in _TONICS if low.startswith(t)), None)
    if tonic is None:
        raise TuneSkip(f"key {value!r} is not an ABC key")
    if tonic == "hp":
        raise TuneSkip(f"bagpipe key {value!r} has no token")
    rest = value[len(tonic):].strip()
    words = rest.split()
    mode = "maj"
    if words:
        word = words[0].lower()
        mode = next((m for prefix, m in _MODES if word.startswith(prefix)), None)
        if mode is None:
            raise TuneSkip(f"key {value!r}: unknown mode {words[0]!r}")
        extra = words[1:] + ([word[3:]] if len(word) > 3 and not word[3:].isalpha() else [])
        if any(re.match(r"[\^_=]", w) for w in extra):
            raise TuneSkip(f"key {value!r} has explicit accidentals")
    acc = {"#": 1, "b": -1}.get(tonic[1:], 0)
    return Key(LETTERS.index(tonic[0].upper()), acc, mode)


def parse_meter(value: str) -> tuple[int, int]:
    value = value.split("%", 1)[0].strip()
    if value == "C":
        return (4, 4)
    if value == "C|":
        return (2, 2)
    m = re.fullmatch(r"(\d+)\s*/\s*(\d+)", value)
    if not m:
        raise TuneSkip(f"meter {value or 'none'!r} has no token" if value else "no meter (free meter) has no token")
    return int(m.group(1)), int(m.group(2))


def parse_unit(value: str) -> F:
    value = value.split("%", 1)[0].strip()
    try:
        unit = F(value)
    except (ValueError, ZeroDivisionError):
        raise TuneSkip(f"unit length L:{value} is not a fraction") from None
    if unit <= 0:
        raise TuneSkip(f"unit length L:{value} is not positive")
    return unit


@lru_cache(maxsize=4096)
def _scaled(num: str, slash: str, den: str, unit8: F) -> F:
    """A written length in eighth notes (cached: a tune book repeats a few dozen lengths)."""
    return _length(num, slash, den) * unit8


def _length(num: str, slash: str, den: str) -> F:
    n = int(num) if num else 1
    if not slash:
        if den:
            raise TuneSkip(f"unreadable note length {num}{den}")
        return F(n)
    if num and len(slash) > 1:
        raise TuneSkip(f"note length {num}{slash} (readers disagree on it)")
    if den:
        if len(slash) > 1:
            raise TuneSkip(f"unreadable note length {num}{slash}{den}")
        d = int(den)
        if d == 0:
            raise TuneSkip("note length divided by zero")
        return F(n, d)
    return F(n, 2 ** len(slash))


def lex_tune(text: str, meter: str | None = None, key: str | None = None) -> LexedTune:
    """Read one tune (header + body). `meter`/`key` give M:/K: for a body with no header (thesession CSV)."""
    lines = text.splitlines()
    version = _VERSION.search(text[:100])
    propagate = bool(version) and int(version.group(1)) >= 2
    header: dict[str, str] = {}
    if meter is not None:
        header["M"] = meter
    if key is not None:
        header["K"] = key
    voices: list[str] = []
    body_start = 0
    if key is None:
        for i, line in enumerate(lines):
            m = _FIELD_LINE.match(line.strip())
            if not m:
                continue
            name, value = m.group(1), m.group(2).strip()
            if name == "V":
                voices.append(value.split()[0] if value.split() else "")
            elif name in "MLKT" and name not in header:
                header[name] = value
            if name == "K":
                body_start = i + 1
                break
        else:
            body_start = len(lines)
        if "K" not in header:
            raise TuneSkip("no K: field (every ABC tune needs a key line)")
    m_val = header.get("M")
    if m_val is None:
        raise TuneSkip("no meter (free meter) has no token")
    tune_meter = parse_meter(m_val)
    tune_key = parse_key(header["K"])
    unit = parse_unit(header["L"]) if "L" in header else (F(1, 16) if F(*tune_meter) < F(3, 4) else F(1, 8))
    tune = LexedTune(tune_meter, tune_key, title=header.get("T", "").strip())
    _Body(tune, unit, propagate, voices[0] if voices else None).read(lines[body_start:])
    return tune


class _Body:
    """The state of reading a tune body: current unit length, voice, bar accidentals, open chord."""

    def __init__(self, tune: LexedTune, unit: F, propagate: bool, first_voice: str | None):
        self.tune = tune
        self.items = tune.items
        self.unit8 = unit * 8  # eighth notes per unit length
        self.propagate = propagate
        self.voice = first_voice  # the voice we keep
        self.in_voice = True
        self.bar_acc: dict[str, int] = {}
        self.chord: list[Note] | None = None
        self.key, self.meter = tune.key, tune.meter  # in effect here (a part may change them)
        self.sig = tune.key.alters

    def started(self) -> bool:
        return any(isinstance(i, (Note, Chord)) for i in self.items)

    # ------------------------------------------------------------------ fields in the body
    def field(self, name: str, value: str, inline: bool) -> None:
        value = value.split("%", 1)[0].strip()
        if name == "V":
            vid = value.split()[0] if value.split() else ""
            if self.voice is None:
                self.voice = vid
            self.in_voice = vid == self.voice
        elif not self.in_voice:
            return
        elif name == "K":
            if value.split() and value.split()[0].lower() in ("clef=treble", "treble"):
                return
            new = parse_key(value)
            if (new.letter, new.alter, new.mode) != (self.key.letter, self.key.alter, self.key.mode):
                # notes keep their written pitches; the codec decides how the change is spelt
                if self.started() and inline:
                    raise TuneSkip(f"key change [K:{value}] inside a line (readers disagree on it)")
                if self.started():
                    self.tune.key_changes.append((len(self.items), new))
                else:
                    self.tune.key = new
                self.key, self.sig = new, new.alters
        elif name == "M":
            new = parse_meter(value)
            if new != self.meter:
                if self.started():
                    self.tune.meter_changes.append((len(self.items), new))
                else:
                    self.tune.meter = new
                self.meter = new
        elif name == "L":
            unit8 = parse_unit(value) * 8
            if inline and unit8 != self.unit8:
                raise TuneSkip("unit length change inside a line (readers disagree on it)")
            self.unit8 = unit8

    def read(self, lines: list[str]) -> None:
        music = []
        for line in lines:
            stripped = line.strip()
            m = _FIELD_LINE.match(stripped)
            if m and not stripped.startswith("|"):
                if music:
                    self.lex("\n".join(music))
                    music = []
                self.field(m.group(1), m.group(2), inline=False)
                continue
            if self.in_voice:
                music.append(line.split("%", 1)[0] if "%" in line else line)
        if music:
            self.lex("\n".join(music))
        if self.chord is not None:
            raise TuneSkip("chord bracket [ never closed")
        if not any(isinstance(i, (Note, Chord)) and (isinstance(i, Chord) or i.step is not None) for i in self.items):
            raise TuneSkip("the tune has no notes")

    # ------------------------------------------------------------------ the music
    def note(self, m) -> Note:
        letter_ch = m.group("letter")
        letter = LETTERS.index(letter_ch.upper())
        octave = (5 if letter_ch.islower() else 4) + m.group("oct").count("'") - m.group("oct").count(",")
        mark = m.group("acc")
        if mark:
            alter = MARK_ALTER[mark]
            if self.propagate:
                self.bar_acc[letter_ch.upper()] = alter
        elif self.propagate and letter_ch.upper() in self.bar_acc:
            alter = self.bar_acc[letter_ch.upper()]
        else:
            alter = self.sig[letter]
        dur = _scaled(m.group("num"), m.group("slash"), m.group("den"), self.unit8)
        return Note(7 * octave + letter, alter, dur, bool(m.group("tie")))

    def lex(self, text: str) -> None:
        items = self.items
        prev = after_broken = None
        for m in _LEX.finditer(text):
            kind = _KIND.get(m.lastgroup, m.lastgroup)
            if kind in ("ws", "cont", "quote", "deco", "grace", "slur", "deco1"):
                continue  # ornaments and annotations: not melody
            if not self.in_voice and kind != "field":
                continue
            if after_broken and kind not in ("note", "rest", "copen"):
                raise TuneSkip(f"broken rhythm {after_broken} followed by {m.group(0).strip()!r}")
            after_broken = None
            if kind == "broken" and prev not in ("note", "rest", "cclose"):
                raise TuneSkip(f"broken rhythm {m.group(0)} after {prev or 'nothing'}")
            if kind == "broken":
                after_broken = m.group(0)
            prev = kind
            if kind == "note":
                note = self.note(m)
                (self.chord if self.chord is not None else items).append(note)
                continue
            if self.chord is not None and kind != "cclose":
                if kind == "field":
                    raise TuneSkip("inline field inside a chord")
                raise TuneSkip(f"{m.group(0).strip()!r} inside a chord")
            if kind == "field":
                body = m.group(0)[1:-1]
                if body[0] == "V" and body[2:].split() and body[2:].split()[0] != self.voice and self.voice:
                    raise TuneSkip("several voices within one line ([V:] fields)")
                self.field(body[0], body[2:], inline=True)
            elif kind == "bar":
                self.bar(m.group("bar"), (m.group("variant") or "").strip())
            elif kind == "vstart":
                self.bar("", m.group(0))
            elif kind == "copen":
                self.chord = []
            elif kind == "cclose":
                self.close_chord(m)
            elif kind == "rest":
                dur = _scaled(m.group("rnum"), m.group("rslash"), m.group("rden"), self.unit8)
                items.append(Note(None, 0, dur))
            elif kind == "tuplet":
                self.tuplet(m)
            elif kind == "broken":
                sym = m.group(0)
                if len(sym) > 1:
                    raise TuneSkip(f"broken rhythm {sym} has no token")
                items.append(sym)
            elif kind == "tiealone":
                if items and items[-1] in ("<", ">"):
                    raise TuneSkip(f"tie right after broken rhythm {items[-1]}- (readers disagree on it)")
                if items and isinstance(items[-1], (Note, Chord)):
                    items[-1].tie = True
            elif kind == "other":
                ch = m.group(0)
                if ch == "Z":
                    raise TuneSkip("multi-measure rest Z has no token")
                if ch == "&":
                    raise TuneSkip("voice overlay & (two voices in one bar)")
                raise TuneSkip(f"unexpected character {ch!r} in the tune body")

    def close_chord(self, m) -> None:
        notes, self.chord = self.chord, None
        if notes is None:
            raise TuneSkip("chord bracket ] without [")
        if not notes:
            return
        unique = {(n.step, n.alter): n for n in notes}  # a unison double stop is one note of the melody
        notes = list(unique.values())
        mult = _length(m.group("cnum"), m.group("cslash"), m.group("cden"))
        durs = {n.dur for n in notes}
        if len(durs) > 1:
            raise TuneSkip("chord with notes of different lengths")
        if any(n.tie for n in notes):
            raise TuneSkip("tie inside a chord")
        dur = notes[0].dur * mult
        if len(notes) == 1:
            self.items.append(Note(notes[0].step, notes[0].alter, dur, bool(m.group("ctie"))))
        else:
            self.items.append(Chord(notes, dur, bool(m.group("ctie"))))

    def tuplet(self, m) -> None:
        p = int(m.group("tp"))
        q = m.group("tq")
        r = m.group("tr")
        if p < 2 or p > 9:
            raise TuneSkip(f"tuplet ({p} has no token")
        if (q and int(q) != default_tuplet_q(p, self.meter)) or (r and int(r) != p):
            raise TuneSkip(f"tuplet {m.group(0)} has no token")
        self.items.append(f"({p}")

    def bar(self, sym: str, variant: str) -> None:
        self.bar_acc.clear()
        items = self.items
        end = sym.startswith(":") or (sym.startswith("::"))
        start = sym.endswith(":")
        if sym and sym.strip(":") == "":  # "::"
            end = start = True
        if end:
            items.append(":|")
        if start:
            items.append("|:")
        if not end and not start and sym:
            items.append("|")
        if variant:
            number = variant.lstrip("[").strip()
            if number not in ("1", "2"):
                raise TuneSkip(f"variant ending [{number} has no token")
            if items and items[-1] == "|":
                items.pop()
            items.append("|" + number)
