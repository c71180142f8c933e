"""Operations on a tune's melody items (Note, Chord, and structural strings: bars, "(3", ">"/"<").

Shared by the encoder (lexed ABC -> normalised tokens) and the decoder (tokens -> ABC text and notes):
tie merging, structure checks, transposition with respelling, accidental marking, timing, repeats.
"""
from __future__ import annotations

from fractions import Fraction as F

from .lexer import Chord, Note, TuneSkip, default_tuplet_q
from .vocab import ACCIDENTAL_MARK, BARS, NATURAL_PC, TIE, duration_token, pitch_token, step_midi

LOWEST_STEP, HIGHEST_STEP = 21, 48  # C, (MIDI 48) .. b' (MIDI 95): the octaves folk-rnn tokens cover
FUSED_BROKEN = {(F(1), ">"): ">", (F(2), ">"): "2>", (F(4), ">"): "4>", (F(1, 2), ">"): "/2>",
                (F(1), "<"): "<", (F(2), "<"): "2<", (F(4), "<"): "4<", (F(1, 2), "<"): "/2<"}


def is_event(item) -> bool:
    return isinstance(item, (Note, Chord))


def midi_of(item) -> tuple[int, ...] | None:
    if isinstance(item, Chord):
        return tuple(step_midi(n.step, n.alter) for n in item.notes)
    return None if item.step is None else (step_midi(item.step, item.alter),)


def plain_length(length: F) -> bool:
    """A power of two of an eighth, possibly dotted: music21 can put it in a tuplet or an overfull bar."""
    for base in (length, length / 3 * 2):
        if base.numerator == 1 and base.denominator & (base.denominator - 1) == 0 or \
                base.denominator == 1 and base.numerator & (base.numerator - 1) == 0:
            return True
    return False


def merge_ties(items: list, keep_ties: bool = False, mergeable=lambda value: True) -> list:
    """Merge tied notes of the same pitch (a tie between different pitches is dropped, as a slur); with
    `keep_ties` (a vocabulary with a tie token) a tie across a bar line, or one whose merged length is
    not `mergeable`, stays a tie; otherwise ties that cannot be merged are skips."""
    out: list = []
    pending = None  # index in out of a note whose tie is still open
    crossed = False  # a bar line since the pending note
    tuplet_left = 0
    merged: set[int] = set()
    for item in items:
        if isinstance(item, str):
            if pending is not None:
                if item in BARS and keep_ties:
                    crossed = True
                elif item in BARS:
                    raise TuneSkip("tie across a bar line")
                else:
                    raise TuneSkip(f"tie into {item!r}")
            if item[0] == "(":
                tuplet_left = int(item[1:])
            elif item in "<>" and out and len(out) - 1 in merged:
                raise TuneSkip("tied note in a broken rhythm")
            out.append(item)
            continue
        if pending is not None:
            held = out[pending]
            if isinstance(held, Chord):
                raise TuneSkip("tie between chords")
            same = midi_of(held) == midi_of(item) and midi_of(item) is not None
            if same and keep_ties and (crossed or not mergeable(held.dur + item.dur)):
                pending, crossed = None, False  # the tie stays, written as a token
            elif same:
                if tuplet_left > 0:
                    raise TuneSkip("tie inside a tuplet")
                if pending > 0 and out[pending - 1] in ("<", ">"):
                    raise TuneSkip("tied note in a broken rhythm")
                held.dur += item.dur
                held.tie = item.tie
                held.merged = True
                merged.add(pending)
                pending = pending if item.tie else None
                continue
            else:
                if isinstance(item, Chord):  # (a held chord was refused above)
                    raise TuneSkip("tie between a chord and another note")
                held.tie = False  # a tie between different pitches is a slur: the notes stay apart
                pending, crossed = None, False
        tuplet_left = max(0, tuplet_left - 1)
        out.append(item)
        if item.tie:
            pending = len(out) - 1
    if pending is not None:
        out[pending].tie = False
    return out


def check_overlong_merges(items: list, meter: tuple[int, int]) -> None:
    """Tied notes merged into an odd length (5, 7, 5/2 eighths...) in a bar longer than the meter: music21
    drops such a note, so the tune is left out rather than read two ways."""
    bar, length, odd = F(8 * meter[0], meter[1]), F(0), False
    events = iter(timeline(items, meter))
    for item in items + ["|"]:
        if isinstance(item, str):
            if item in BARS:
                if odd and length > bar:
                    raise TuneSkip("tied notes merged into an odd length in a bar longer than the meter")
                length, odd = F(0), False
            continue
        _, _, span = next(events)
        length += span
        odd = odd or (getattr(item, "merged", False) and not plain_length(item.dur))


def check_structure(items: list) -> None:
    """Tuplets must be filled within a bar and broken rhythms sit between two notes (else: a skip)."""
    n = len(items)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            continue
        if item[0] == "(":
            need, j = int(item[1:]), i + 1
            while need and j < n:
                if is_event(items[j]):
                    need -= 1
                elif items[j] in BARS:
                    raise TuneSkip(f"tuplet {item} crosses a bar line")
                elif items[j][0] == "(":
                    raise TuneSkip(f"tuplet inside tuplet {item}")
                elif items[j] in ("<", ">"):
                    raise TuneSkip(f"broken rhythm inside tuplet {item}")
                j += 1
            if need:
                raise TuneSkip(f"tuplet {item} has too few notes")
            if j < n and items[j] in ("<", ">"):
                raise TuneSkip(f"broken rhythm right after tuplet {item} (readers disagree on it)")
        elif item in ("<", ">"):
            if not (i and is_event(items[i - 1]) and i + 1 < n and is_event(items[i + 1])):
                raise TuneSkip(f"broken rhythm {item} is not between two notes")


def transpose(items: list, steps: int, semitones: int) -> list:
    """Move every pitch by a diatonic step count and a semitone count, respelling its accidental."""
    def move(note: Note) -> Note:
        if note.step is None:
            return Note(None, 0, note.dur, note.tie)
        step = note.step + steps
        alter = step_midi(note.step, note.alter) + semitones - step_midi(step, 0)
        return Note(step, alter, note.dur, note.tie)

    out = []
    for item in items:
        if isinstance(item, Note):
            out.append(move(item))
        elif isinstance(item, Chord):
            out.append(Chord([move(n) for n in item.notes], item.dur, item.tie))
        else:
            out.append(item)
    return out


def shift_to(from_letter: int, from_alter: int, to_letter: int, to_alter: int) -> list[tuple[int, int]]:
    """The two ways (down/up) to move a tonic onto another, as (diatonic steps, semitones), nearest first."""
    steps = to_letter - from_letter
    semis = NATURAL_PC[to_letter] + to_alter - NATURAL_PC[from_letter] - from_alter
    other = (steps + 7, semis + 12) if steps <= 0 else (steps - 7, semis - 12)
    return sorted([(steps, semis), other], key=lambda c: (abs(c[1]), c[1] > 0))


def step_range(items: list) -> tuple[int, int] | None:
    steps = [n.step for it in items if is_event(it) for n in (it.notes if isinstance(it, Chord) else [it])
             if n.step is not None]
    return (min(steps), max(steps)) if steps else None


def transpose_into_range(items: list, choices: list[tuple[int, int]], lo=LOWEST_STEP, hi=HIGHEST_STEP) -> list:
    span = step_range(items)
    for steps, semis in choices:
        if span is None or (span[0] + steps >= lo and span[1] + steps <= hi):
            return transpose(items, steps, semis)
    raise TuneSkip("notes reach beyond C, .. b' (the pitch tokens' range) after transposing to C")


def emit(items: list, sig: tuple[int, ...], fused: set[str] | None = None) -> list[str]:
    """Token strings for items, accidentals marked against `sig` so they read the same whether or not
    accidentals carry through the bar (an accidental is written whenever the letter was marked earlier in
    the bar). `fused` lists the fused duration+broken tokens allowed (default: all)."""
    out: list[str] = []
    marked: set[int] = set()
    last_dur: F | None = None

    def pitch(note: Note) -> str:
        letter = note.step % 7
        if note.alter != sig[letter] or letter in marked:
            marked.add(letter)
            mark = ACCIDENTAL_MARK.get(note.alter)
            if mark is None:
                raise TuneSkip(f"alteration {note.alter:+d} on {pitch_token(note.step, '')} has no token")
            return pitch_token(note.step, mark)
        return pitch_token(note.step, "")

    def duration(value: F, tie: bool) -> None:
        nonlocal last_dur
        last_dur = value
        token = duration_token(value)
        if token:
            out.append(token)
        if tie:
            out.append(TIE)

    for item in items:
        if isinstance(item, Note):
            out.append("z" if item.step is None else pitch(item))
            duration(item.dur, item.tie)
        elif isinstance(item, Chord):
            out.append("[")
            out.extend(pitch(n) for n in item.notes)
            out.append("]")
            duration(item.dur, item.tie)
        elif item in ("<", ">"):
            token = FUSED_BROKEN.get((last_dur, item))
            if token and (fused is None or token in fused) and out[-1] != TIE:
                if last_dur != 1:
                    out.pop()
                out.append(token)
            else:
                out.append(item)
        else:
            if item in BARS:
                marked.clear()
            out.append(item)
    return out


def timeline(items: list, meter: tuple[int, int]) -> list[tuple[object, F, F]]:
    """(event, start, length) in eighth notes for every note, rest and chord, with tuplets and broken rhythm."""
    events = [it for it in items if is_event(it)]
    factor = [F(1)] * len(events)
    k = 0
    tuplet_left, tuplet_factor = 0, F(1)
    for item in items:
        if is_event(item):
            if tuplet_left:
                factor[k] *= tuplet_factor
                tuplet_left -= 1
            k += 1
        elif item[0] == "(":
            p = int(item[1:])
            tuplet_left, tuplet_factor = p, F(default_tuplet_q(p, meter), p)
        elif item in ("<", ">") and 0 < k < len(events):
            long_first = item == ">"
            factor[k - 1] *= F(3, 2) if long_first else F(1, 2)
            factor[k] *= F(1, 2) if long_first else F(3, 2)
    out, t = [], F(0)
    for event, f in zip(events, factor):
        length = event.dur if f == 1 else event.dur * f
        out.append((event, t, length))
        t += length
    return out


def expand_repeats(items: list) -> list:
    """The items in playing order: |: ... :| sections twice, first/second endings taken in turn."""
    out, i, n = [], 0, len(items)
    section, again, repeated = 0, False, set()
    while i < n:
        item = items[i]
        if item == "|:":
            section, again = i + 1, False
        elif item == ":|":
            if i not in repeated:
                repeated.add(i)
                i, again = section, True
                continue
            section, again = i + 1, False
        elif item == "|1" and again:
            j = next((j for j in range(i + 1, n) if items[j] == ":|"), n)
            i, section, again = j + 1, j + 1, False
            continue
        else:
            out.append(item)
        i += 1
    return out


def tidy_bars(items: list) -> list:
    """Drop plain bar lines that stand next to another bar line (`| |`, `| |:`, `:| |`) or open the tune."""
    out: list = []
    for item in items:
        if isinstance(item, str):
            if item == "|" and (not out or (isinstance(out[-1], str) and out[-1] in BARS)):
                continue
            if item in BARS and item != "|" and out and isinstance(out[-1], str) and out[-1] == "|":
                out.pop()
        out.append(item)
    return out
