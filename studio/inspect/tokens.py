"""Where each token of a piece sits in the music: its time, the note(s) it helps make, the ABC text it
came from, and the musical facts around it (bar position, pitch, notes sounding ...) that "find cells"
correlates units with.

Performance tokens: a note is its NOTE_ON, the NOTE_OFF that ends it (matched first-in first-out per
pitch, as the decoder does) and the VELOCITY token right before its NOTE_ON when there is one; times come
from the TIME_SHIFTs. Folk tokens: an event (note, rest or chord) is its pitch tokens, chord brackets,
duration, tie and broken-rhythm marks; times come from the decoded tune's timeline at the piece's tempo.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

FEATURES = ("bar position", "bar in part", "pitch height", "notes sounding", "inside repeat", "time since note")


@dataclass
class TokenMap:
    """Facts per body token (arrays of length T) and the notes the tokens make."""

    time: np.ndarray | None  # seconds at each token (None when the codec has no time)
    features: dict[str, np.ndarray]  # name -> float array [T]; NaN where a feature means nothing
    notes: list[dict] = field(default_factory=list)  # {"pitch", "start", "end", "tokens": [indices]}
    spans: list | None = None  # folk: (start, end) character span in the ABC text per token, or None


def _nan(T: int) -> np.ndarray:
    return np.full(T, np.nan)


def _bar_features(times: np.ndarray, piece) -> tuple[np.ndarray, np.ndarray]:
    """Position in the bar (0..1) and bar number from a piece's tempo map and first time signature."""
    if piece is None or len(piece.time_signatures) == 0:
        beats, per_bar = times * 2.0, 4.0  # 120 BPM in 4/4, what MIDI files mean by default
    else:
        ts = piece.time_signatures[0]
        beats = np.asarray(piece.seconds_to_beats(times), dtype=float)
        per_bar = float(ts["numerator"]) * 4.0 / float(ts["denominator"])
    return (beats % per_bar) / per_bar, np.floor(beats / per_bar)


# ---------------------------------------------------------------------------------------------- performance
def performance_map(codec, ids: np.ndarray, piece=None) -> TokenMap:
    ids = np.asarray(ids, dtype=np.int64)
    T = len(ids)
    is_shift = (ids >= codec.shift0) & (ids < codec.velocity0)
    steps = np.where(is_shift, ids - codec.shift0 + 1, 0)
    clock = np.cumsum(steps) - steps  # a token happens at the time before its own shift
    time = clock / codec.steps_per_second
    notes: list[dict] = []
    open_: dict[int, list[dict]] = {}
    pitch_now, sounding, since = _nan(T), np.zeros(T), _nan(T)
    last_pitch, last_on, count = np.nan, None, 0
    for t, tok in enumerate(ids.tolist()):
        if tok < codec.note_off0:
            pitch = tok + codec.min_pitch
            tokens = [t - 1, t] if t and codec.velocity0 <= ids[t - 1] < codec.events else [t]
            note = {"pitch": pitch, "start": float(time[t]), "end": None, "tokens": tokens}
            notes.append(note)
            open_.setdefault(pitch, []).append(note)
            last_pitch, last_on = pitch, time[t]
            count += 1
        elif tok < codec.shift0:
            queue = open_.get(tok - codec.note_off0 + codec.min_pitch)
            if queue:
                note = queue.pop(0)
                note["end"] = float(time[t])
                note["tokens"].append(t)
                count -= 1
        pitch_now[t], sounding[t] = last_pitch, count
        since[t] = time[t] - last_on if last_on is not None else np.nan
    end = float(clock[-1] + steps[-1]) / codec.steps_per_second if T else 0.0
    for note in notes:
        if note["end"] is None:
            note["end"] = min(note["start"] + float(codec.config["max_note_seconds"]), end)
    position, bar = _bar_features(time, piece)
    features = {"bar position": position, "bar in part": bar, "pitch height": pitch_now,
                "notes sounding": sounding, "inside repeat": _nan(T), "time since note": since}
    return TokenMap(time, features, notes)


# ---------------------------------------------------------------------------------------------- folk
def _folk_kind(token: str) -> str:
    from ..codecs.folk.vocab import BARS, BROKEN, TIE, TUPLETS, split_duration

    if token in ("[", "]"):
        return token
    if token == "z" or re.fullmatch(r"(\^\^|__|\^|_|=)?[A-Ga-g][,']*", token):
        return "pitch"
    if token in BARS:
        return "bar"
    if token in TUPLETS:
        return "tuplet"
    if token == TIE or token in BROKEN or split_duration(token) != (None, ""):
        return "length"
    return "header"  # M: and K: tokens


def folk_events(tokens: list[str]) -> list[int]:
    """For each token, the index of the written event (note, rest, chord) it belongs to, or -1."""
    owner, k, in_chord = [], -1, False
    for token in tokens:
        kind = _folk_kind(token)
        if kind == "[":
            k, in_chord = k + 1, True
        elif kind == "pitch" and not in_chord:
            k += 1
        elif kind == "]":
            in_chord = False
        owner.append(k if kind in ("[", "]", "pitch", "length") and k >= 0 else -1)
    return owner


def folk_map(codec, ids: np.ndarray, piece=None, abc: str | None = None) -> TokenMap:
    """Times at the piece's first tempo (120 BPM without one); notes with repeats played out, as the roll
    shows them (in C, as the tokens are: match them to the roll by time)."""
    from ..codecs.folk.melody import expand_repeats, midi_of, timeline

    ids = np.asarray(ids, dtype=np.int64)
    tokens = codec.tokens(ids)
    T = len(tokens)
    owner = folk_events(tokens)
    meter, _mode, items, _warnings = codec.decode_tune(ids)
    events = timeline(items, meter)
    qpm = float(piece.tempos["qpm"][0]) if piece is not None and len(piece.tempos) else 120.0
    eighth = 30.0 / qpm
    n_events = max(owner) + 1 if owner else 0
    timed = len(events) == n_events  # a repaired (broken) token stream: no times rather than wrong ones
    full = 8.0 * meter[0] / meter[1]
    time = _nan(T)
    position, bar_in_part, pitch_now, sounding, since, inside = (_nan(T) for _ in range(6))
    repeat_flags = _inside_repeats(tokens)
    notes = []
    if timed:
        starts = [float(t) for _, t, _ in events]
        bar_start, bar_count, last_note, last_pitch = 0.0, 0, None, np.nan
        now = 0.0
        for t, token in enumerate(tokens):
            k = owner[t]
            kind = _folk_kind(token)
            if k >= 0:
                now = starts[k]
            elif kind == "bar":  # a bar line sits at the end of the last event before it
                prev = [j for j in owner[:t] if j >= 0]
                now = starts[prev[-1]] + float(events[prev[-1]][2]) if prev else 0.0
                bar_start = now
                bar_count = 0 if token in ("|:", ":|") else bar_count + 1
            time[t] = now * eighth
            event = events[k][0] if k >= 0 else None
            pitches = midi_of(event) if event is not None else None
            if pitches:
                last_pitch = float(np.mean(pitches))
                last_note = now
            if event is not None:  # bars and tuplet marks keep what the last event left sounding
                sounding[t] = len(pitches) if pitches else 0.0
            else:
                sounding[t] = sounding[t - 1] if t and not np.isnan(sounding[t - 1]) else 0.0
            pitch_now[t] = last_pitch
            position[t] = ((now - bar_start) % full) / full
            bar_in_part[t] = bar_count
            since[t] = (now - last_note) * eighth if last_note is not None else np.nan
        written = {id(event): k for k, (event, _, _) in enumerate(events)}
        of_event: dict[int, list[int]] = {}
        for t, k in enumerate(owner):
            of_event.setdefault(k, []).append(t)
        for event, start, length in timeline(expand_repeats(items), meter):  # as played, like the roll
            k = written[id(event)]
            for p in midi_of(event) or ():
                notes.append({"pitch": int(p), "start": float(start) * eighth, "end": float(start + length) * eighth,
                              "tokens": of_event.get(k, []), "event": k})
    inside[:] = repeat_flags
    header = np.array([_folk_kind(token) == "header" for token in tokens], dtype=bool)
    for values in (position, bar_in_part, pitch_now, sounding, inside, since, time):
        values[header] = np.nan  # M: and K: say nothing about a place in the music
    features = {"bar position": position, "bar in part": bar_in_part, "pitch height": pitch_now,
                "notes sounding": sounding, "inside repeat": inside, "time since note": since}
    spans = abc_spans(abc, owner) if abc else None
    return TokenMap(time if timed else None, features, notes, spans)


def _inside_repeats(tokens: list[str]) -> np.ndarray:
    """1 for tokens between |: and :| (or from a section start to a :| that has no |:), else 0."""
    flags = np.zeros(len(tokens))
    section = 0
    for t, token in enumerate(tokens):
        if token == "|:":
            section = t
        elif token == ":|":
            flags[section:t + 1] = 1.0
            section = t + 1
    return flags


# ---------------------------------------------------------------------------------------------- ABC text
_EVENT_KINDS = ("note", "rest", "copen", "cclose")


def text_events(abc: str) -> list[tuple[int, int, bool]]:
    """(start, end, tied) character spans of the written notes, rests and chords of a tune's body, in order,
    read with the folk lexer's own token pattern."""
    from ..codecs.folk.lexer import _FIELD_LINE, _KIND, _LEX

    out, offset, in_body, chord_start = [], 0, False, None
    for line in abc.splitlines(keepends=True):
        stripped = line.strip()
        field_line = _FIELD_LINE.match(stripped) and not stripped.startswith("|")
        if in_body and not field_line:
            music = line.split("%", 1)[0]
            for m in _LEX.finditer(music):
                kind = _KIND.get(m.lastgroup, m.lastgroup)
                if kind == "copen":
                    chord_start = m.start()
                elif kind == "cclose" and chord_start is not None:
                    out.append((offset + chord_start, offset + m.end(), bool(m.group("ctie"))))
                    chord_start = None
                elif kind in ("note", "rest") and chord_start is None:
                    tied = kind == "note" and bool(m.group("tie"))
                    out.append((offset + m.start(), offset + m.end(), tied))
                elif kind == "tiealone" and out:
                    out[-1] = (out[-1][0], offset + m.end(), True)
        if field_line and stripped.startswith("K:"):
            in_body = True
        offset += len(line)
    return out


def abc_spans(abc: str, owner: list[int]) -> list | None:
    """Character span in `abc` of each token's event (None for tokens of no event); None when the written
    events and the token events cannot be lined up (ties merged in a way we cannot follow)."""
    written = text_events(abc)
    n = max(owner) + 1 if owner else 0
    if len(written) != n:  # tied notes became one token event: join each tie chain into one span
        joined, chain = [], None
        for start, end, tied in written:
            chain = (chain[0], end) if chain else (start, end)
            if not tied:
                joined.append(chain)
                chain = None
        if chain:
            joined.append(chain)
        if len(joined) != n:
            return None
        written = [(s, e, False) for s, e in joined]
    return [(written[k][0], written[k][1]) if k >= 0 else None for k in owner]


def token_map(codec, ids, piece=None, abc: str | None = None) -> TokenMap:
    """The map for any codec; a folk tune's ABC text (`abc`, else the piece's meta "abc") gives token spans."""
    if codec.name == "folk":
        if abc is None and piece is not None:
            abc = piece.meta.get("abc")
        return folk_map(codec, ids, piece, abc)
    return performance_map(codec, ids, piece)
