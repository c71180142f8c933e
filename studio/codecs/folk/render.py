"""A tune on root C -> ABC text (in any key the user picks) and notes, with our own code.

The ABC we write reads the same in every ABC reader: accidentals are written out wherever a carried
accidental could make readers disagree (see `melody.emit`), and lengths are always in eighth notes.
"""
from __future__ import annotations

import numpy as np

from ...music.piece import DEFAULT_QPM, TIME_SIGNATURE_DTYPE, KeySignature, Piece, make_notes
from .lexer import Key, TuneSkip, parse_key
from .melody import emit, expand_repeats, midi_of, shift_to, timeline, transpose
from .vocab import BARS, MODE_NAMES

BARS_PER_LINE = 4
VELOCITY = 90


def target_key(mode: str, key: str | None) -> Key:
    """The key to show a C-rooted tune in: `key` names a tonic ("A", "F#", "Bb") or a full key ("Ador")."""
    if not key:
        return Key(0, 0, mode)
    parsed = parse_key(key)  # a mode given with it is ignored: the tune keeps its own mode
    return Key(parsed.letter, parsed.alter, mode)


def in_key(items: list, key: Key) -> list:
    """Items written on C moved to `key`'s tonic, nearest way (up or down)."""
    steps, semis = shift_to(0, 0, key.letter, key.alter)[0]
    return transpose(items, steps, semis) if (steps, semis) != (0, 0) else items


def body_text(tokens: list[str]) -> str:
    """Token strings -> ABC body lines, a few bars a line (a note's length, a chord's members, a tuplet
    mark and a broken-rhythm pair are written together)."""
    lines, line = [], ""
    bars, in_chord, glue = 0, False, False
    for tok in tokens:
        attach = glue or tok in ("]", "-", "<", ">") or tok[0].isdigit() or tok[0] == "/"
        line += tok if attach or not line else " " + tok
        in_chord = (in_chord or tok == "[") and tok != "]"
        glue = in_chord or tok[0] == "(" or tok.endswith((">", "<"))
        if tok in BARS:
            bars += 1
            if bars % BARS_PER_LINE == 0:
                lines.append(line)
                line = ""
    if line:
        lines.append(line)
    return "\n".join(lines)


def abc_text(meter: tuple[int, int], mode: str, items: list, key: str | None = None, title: str = "",
             number: int = 1) -> str:
    """A complete ABC tune (X:, T:, M:, L:1/8, K: then the body) for C-rooted items, shown in `key`."""
    target = target_key(mode, key)
    moved = in_key(items, target)
    try:
        tokens = emit(moved, target.alters)
    except TuneSkip:  # a double sharp/flat after moving to a remote key: fall back to the tune on C
        target, tokens = Key(0, 0, mode), emit(items, Key(0, 0, mode).alters)
    header = [f"X:{number}", f"T:{title or 'Untitled'}", f"M:{meter[0]}/{meter[1]}", "L:1/8", f"K:{target.name}"]
    return "\n".join(header) + "\n" + body_text(tokens) + "\n"


def items_to_piece(meter: tuple[int, int], mode: str, items: list, key: str | None = None,
                   qpm: float = DEFAULT_QPM, repeats: bool = True) -> Piece:
    """Notes of the tune (repeats played out unless `repeats` is False), at `qpm` quarter notes a minute."""
    target = target_key(mode, key)
    moved = in_key(items, target)
    played = expand_repeats(moved) if repeats else moved
    eighth = 30.0 / qpm
    pitch, start, end = [], [], []
    held: dict[int, int] = {}  # pitch -> index of a note tied over into the next event
    for event, t, length in timeline(played, meter):
        tied_here, held_next = held, {}
        for p in midi_of(event) or ():
            if p in tied_here:
                k = tied_here[p]
                end[k] = float(t + length) * eighth
            else:
                k = len(pitch)
                pitch.append(p)
                start.append(float(t) * eighth)
                end.append(float(t + length) * eighth)
            if event.tie:
                held_next[p] = k
        held = held_next
    notes = make_notes(pitch, start, end, velocity=VELOCITY)
    return Piece(
        notes=notes,
        tempos=np.array([(0.0, qpm)], dtype=[("time", "f8"), ("qpm", "f8")]),
        time_signatures=np.array([(0.0, meter[0], meter[1])], dtype=TIME_SIGNATURE_DTYPE),
        key_signatures=[KeySignature(0.0, target.tonic, MODE_NAMES[mode])],
        track_names=["melody"],
    )


__all__ = ["abc_text", "items_to_piece", "body_text", "target_key", "in_key"]
