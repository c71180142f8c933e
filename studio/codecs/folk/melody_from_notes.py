"""A Piece's notes -> ABC text: the melody of a piece edited in the piano roll, written as a folk tune.

The melody is the highest note at each onset, each note cut where the next begins; times are put on a
grid of eighth-note fractions; notes crossing bar lines are tied. Meter and key come from the piece.
"""
from __future__ import annotations

from fractions import Fraction as F

from ...music import Piece
from .lexer import Key, Note, TuneSkip, parse_key
from .melody import emit
from .render import body_text
from .vocab import NATURAL_PC

_MODE_SUFFIX = {"major": "", "minor": "m", "dorian": "dor", "mixolydian": "mix", "phrygian": "phr",
                "lydian": "lyd", "locrian": "loc", "ionian": "", "aeolian": "m"}


def _piece_key(piece: Piece) -> Key:
    ks = piece.key_signatures[0] if piece.key_signatures else None
    if ks is None:
        return Key(0, 0, "maj")
    try:
        return parse_key(ks.tonic + _MODE_SUFFIX.get(ks.mode, ""))
    except TuneSkip:
        return Key(0, 0, "maj")


def _spell(midi: int, key: Key) -> tuple[int, int]:
    """(diatonic step, alteration): the key's own note when the pitch is in the scale, else the natural
    note (F natural in G is =F, not ^E), else a sharp in sharp keys and a flat in flat keys."""
    octave, pc = divmod(midi, 12)
    alters = key.alters
    for letter in range(7):
        if (NATURAL_PC[letter] + alters[letter]) % 12 == pc:
            shift = (NATURAL_PC[letter] + alters[letter] - pc) // 12  # B#/Cb cross the octave
            return 7 * (octave - 1 - shift) + letter, alters[letter]
    if pc in NATURAL_PC:
        return 7 * (octave - 1) + NATURAL_PC.index(pc), 0
    sharp = key.fifths >= 0
    letter = NATURAL_PC.index(pc - 1 if sharp else pc + 1)  # pc is a black key: both neighbours are naturals
    return 7 * (octave - 1) + letter, 1 if sharp else -1


def _pieces_of(length: F) -> list[F]:
    """A length split into parts that are easy to write (largest first)."""
    parts, left = [], length
    for size in (F(16), F(12), F(8), F(6), F(4), F(3), F(2), F(3, 2), F(1), F(3, 4), F(1, 2), F(1, 4), F(1, 8)):
        while left >= size:
            parts.append(size)
            left -= size
    if left > 0:
        parts.append(left)
    return parts


def melody_abc(piece: Piece, grid: F = F(1, 2)) -> str:
    """ABC text (X:, T:, M:, L:1/8, K:) of the piece's top melody, quantized to `grid` eighth notes."""
    sig = piece.time_signatures[0] if len(piece.time_signatures) else (0.0, 4, 4)
    meter = (int(sig[1]), int(sig[2]))
    bar = F(8 * meter[0], meter[1])
    key = _piece_key(piece)
    notes = piece.notes[~piece.notes["is_drum"]] if len(piece.notes) else piece.notes

    def q(seconds: float) -> F:
        eighths = F(float(piece.seconds_to_beats(seconds)) * 2).limit_denominator(1000)
        return (eighths / grid).__round__() * grid

    onsets: dict[F, tuple[int, F]] = {}
    for n in notes:
        start, end = q(n["start"]), q(n["end"])
        end = max(end, start + grid)
        if start not in onsets or n["pitch"] > onsets[start][0]:
            onsets[start] = (int(n["pitch"]), end)
    events: list[tuple[F, F, int | None]] = []  # start, end, pitch (None: rest)
    t = F(0)
    for start in sorted(onsets):
        pitch, end = onsets[start]
        if start > t:
            events.append((t, start, None))
        if events and events[-1][2] is not None and events[-1][1] > start:
            events[-1] = (events[-1][0], start, events[-1][2])
        events.append((start, end, pitch))
        t = end
    if not events:
        events.append((F(0), bar, None))
    items: list = []
    for start, end, pitch in events:
        pos = start
        while pos < end:
            bar_end = (pos // bar + 1) * bar
            chunk_end = min(end, bar_end)
            for part in _pieces_of(chunk_end - pos):
                step, alter = _spell(pitch, key) if pitch is not None else (None, 0)
                items.append(Note(step, alter, part, tie=pitch is not None))
                pos += part
            if pos == bar_end:
                items.append("|")
        if items and isinstance(items[-1], Note):
            items[-1].tie = False
        elif len(items) > 1 and items[-1] == "|":
            items[-2].tie = False
    if items[-1] != "|":
        items.append("|")
    header = [f"X:{piece.meta.get('tune_number') or 1}", f"T:{piece.title or 'Untitled'}",
              f"M:{meter[0]}/{meter[1]}", "L:1/8", f"K:{key.name}"]
    return "\n".join(header) + "\n" + body_text(emit(items, key.alters)) + "\n"


__all__ = ["melody_abc"]
