"""The folk-rnn v2 token set, and the small tables shared by the lexer, the token emitter and the decoder.

folk-rnn v2 writes every tune on root C as whitespace-separated tokens: a meter token, a mode token, then
pitches (accidental + letter + octave mark), duration multipliers in eighth-note units, broken rhythm,
tuplet, bar/repeat and chord-bracket tokens. folk-rnn keeps its vocabulary in arbitrary (set) order, so
compatibility means the same token strings; our order is fixed here and saved with every corpus/model.
"""
from __future__ import annotations

from fractions import Fraction as F

LETTERS = "CDEFGAB"
NATURAL_PC = (0, 2, 4, 5, 7, 9, 11)  # semitone of each letter above C
ACCIDENTAL_MARK = {1: "^", -1: "_", 0: "=", 2: "^^", -2: "__"}
MARK_ALTER = {"^": 1, "_": -1, "=": 0, "^^": 2, "__": -2}

METERS = ("M:2/4", "M:3/4", "M:4/4", "M:6/8", "M:9/8", "M:12/8", "M:3/2")
MODES = ("K:Cmaj", "K:Cmin", "K:Cdor", "K:Cmix")

# Pitch tokens, octaves C, (MIDI 48) .. b' (MIDI 95): the 28 naturals, and accidental x octave combinations
# in folk-rnn's class sizes (16 sharps, 17 flats, 23 naturals). folk-rnn's exact subset was not available;
# ours is the combinations that occur once music21's folk collections are transposed to C, most frequent
# first (all 23 natural signs and 13 flats that occur; the 16 commonest sharps; the 4 flats the others
# imply: _G _g _d' _b').
NATURALS = (tuple(f"{l}," for l in LETTERS) + tuple(LETTERS) + tuple(LETTERS.lower())
            + tuple(f"{l}'" for l in LETTERS.lower()))
SHARPS = ("^f", "^F", "^c", "^g", "^G", "^F,", "^C", "^d", "^G,", "^c'", "^D", "^a", "^d'", "^A", "^C,", "^A,")
FLATS = ("_B", "_e", "_E", "_b", "_A", "_a", "_B,", "_D", "_A,", "_d", "_E,", "_c", "_e'", "_G", "_g", "_d'", "_b'")
NATURAL_SIGNS = ("=B", "=e", "=E", "=b", "=f", "=A", "=a", "=F", "=B,", "=c", "=g", "=G", "=d", "=F,", "=C", "=D",
                 "=A,", "=c'", "=G,", "=E,", "=d'", "=C,", "=e'")
PITCHES = NATURALS + SHARPS + FLATS + NATURAL_SIGNS

REST = "z"
DURATIONS = ("2", "3", "4", "5", "6", "7", "8", "9", "12", "16", "/2", "/3", "/4", "/8", "3/2", "3/4", "5/2", "7/2")
BROKEN = (">", "<", "2>", "2<", "4>", "/2>", "/2<")
TUPLETS = ("(2", "(3", "(4", "(5", "(6", "(7", "(9")
BARS = ("|", "|:", ":|", "|1", "|2")
CHORD_OPEN, CHORD_CLOSE = "[", "]"

FOLK_RNN_V2 = METERS + MODES + PITCHES + (REST,) + DURATIONS + BROKEN + TUPLETS + BARS + (CHORD_OPEN, CHORD_CLOSE)

# The "wide" extension: meters and modes of the built-in collections that v2 has no token for, and a tie
# (for ties across bar lines, which v2 cannot say). Appended after the specials.
TIE = "-"
WIDE = ("M:2/2", "M:3/8", "M:4/2", "M:6/4", "M:4/1", "M:3/1", "M:6/2", "M:4/8", "M:5/8", "M:5/4", "M:2/1",
        "M:2/8", "M:7/8", "M:1/4", "K:Cphr", "K:Clyd", "K:Cloc", TIE)

# Mode abbreviations of the K: tokens: their names, and their key signatures in fifths on C.
MODE_NAMES = {"maj": "major", "min": "minor", "dor": "dorian", "mix": "mixolydian", "phr": "phrygian",
              "lyd": "lydian", "loc": "locrian"}
MODE_FIFTHS = {"maj": 0, "min": -3, "dor": -2, "mix": -1, "lyd": 1, "phr": -4, "loc": -5}


def duration_value(token: str) -> F | None:
    """The eighth-note multiplier a duration token stands for ("3/2" -> 3/2, "/4" -> 1/4)."""
    if token.startswith("/"):
        token = "1" + token
    try:
        return F(token)
    except (ValueError, ZeroDivisionError):
        return None


def split_duration(token: str) -> tuple[F | None, str]:
    """A duration or broken-rhythm token as (its multiplier or None, its broken sign or ""): "2>" -> (2, ">"),
    ">" -> (None, ">"), "/2" -> (1/2, ""); any other token -> (None, "")."""
    sign = token[-1:] if token[-1:] in ("<", ">") else ""
    body = token[:-1] if sign else token
    return (duration_value(body) if body else None), sign


def duration_token(value: F) -> str | None:
    """The token for an eighth-note multiplier ('' for 1, None when it has no token in the v2 set)."""
    if value == 1:
        return ""
    if value.denominator == 1:
        return str(value.numerator)
    if value.numerator == 1:
        return f"/{value.denominator}"
    return f"{value.numerator}/{value.denominator}"


def pitch_token(step: int, mark: str) -> str:
    """Token text for a diatonic step (7*octave + letter, C4 = 28) with an accidental mark ('' for none)."""
    octave, letter = divmod(step, 7)
    name = LETTERS[letter]
    if octave >= 5:
        return mark + name.lower() + "'" * (octave - 5)
    return mark + name + "," * (4 - octave)


def key_alters(fifths: int) -> tuple[int, ...]:
    """Alteration of each letter C..B under a key signature with `fifths` sharps (negative: flats)."""
    alters = [0] * 7
    for i in range(abs(fifths)):
        if fifths > 0:
            alters[LETTERS.index("FCGDAEB"[i])] = 1
        else:
            alters[LETTERS.index("BEADGCF"[i])] = -1
    return tuple(alters)


def step_midi(step: int, alter: int) -> int:
    octave, letter = divmod(step, 7)
    return 12 * (octave + 1) + NATURAL_PC[letter] + alter
