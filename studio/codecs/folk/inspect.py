"""What inspection asks of the folk codec: where each token sits in the tune (an event, a note, rest or
chord, is its pitch tokens, chord brackets, duration, tie and broken-rhythm marks; times from the decoded
tune's timeline at the piece's tempo; the ABC text span each token came from), the tunes of a file tune by
tune, and a predicted token put into the tune's token stream and decoded again (in the tune's own key), so
a pitch, duration or bar line lands where the model meant it."""
from __future__ import annotations

import re

import numpy as np

from ..tokenmap import TokenMap, bar_features, nan_array


def _folk_kind(token: str) -> str:
    from .vocab import BARS, BROKEN, TIE, TUPLETS, split_duration

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
    from .melody import expand_repeats, midi_of, timeline

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
    time = nan_array(T)
    position, bar_in_part, pitch_now, sounding, since, inside = (nan_array(T) for _ in range(6))
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


_EVENT_KINDS = ("note", "rest", "copen", "cclose")


def text_events(abc: str) -> list[tuple[int, int, bool]]:
    """(start, end, tied) character spans of the written notes, rests and chords of a tune's body, in order,
    read with the folk lexer's own token pattern."""
    from .lexer import _FIELD_LINE, _KIND, _LEX

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


def file_tunes(codec, path) -> list[tuple[str, np.ndarray, object, str | None]]:
    """(title, body ids, piece or None, ABC text or None) per tune: an ABC book gives one per tune it can
    encode (with its text, for token spans); any other file one piece."""
    from pathlib import Path

    from ...errors import UnsupportedContent
    from ...music.abc_io import read_abc_tunes
    from ...music.io import kind_of
    from ...music.piece import Piece

    path = Path(path)
    if kind_of(path) != "abc":
        piece = Piece.read(path)
        return [(piece.title or path.stem, codec.encode(piece), piece, None)]
    out, reasons = [], []
    for tune in read_abc_tunes(path):
        try:
            ids = codec.encode_abc(tune.text)
        except UnsupportedContent as exc:
            reasons.append(f"tune X:{tune.number}: {exc.reason}")
            continue
        out.append((tune.field("T") or f"X:{tune.number}", ids, None, tune.text))
    if not out:
        raise UnsupportedContent(path, None, "no tune the folk codec can encode"
                                 + (f" ({'; '.join(reasons[:3])})" if reasons else ""))
    return out


def insert_token(codec, piece, ids: np.ndarray, index: int, token_id: int):
    """The tune with `token_id` at token place `index`, decoded again in the tune's own key."""
    from .lexer import TuneSkip, lex_tune

    key = None
    try:
        key = lex_tune(piece.meta.get("abc", "")).key.name
    except (TuneSkip, ValueError, KeyError):
        pass
    new = codec.decode(np.insert(np.asarray(ids, dtype=np.int64), index, int(token_id)), key=key, title=piece.title)
    new.source = piece.source
    for k in ("tune_number", "line"):
        if k in piece.meta:
            new.meta[k] = piece.meta[k]
    return new
