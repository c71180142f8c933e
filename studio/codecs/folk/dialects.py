"""folk-rnn token dialects: which one a token file is written in, and the others turned back into ABC.

folk-rnn v2 (our tokens) writes `M:6/8 K:Cmaj` and then the body, every tune on root C, lengths in
eighths: read token for token. Other folk-rnn forks tokenise ABC differently; the one we know, used for
the Swedish folkwiki.se collection, writes bracketed header tokens (`[L:1/16] [M:3/4] [K:GMaj]`), keeps each
tune in its written key and counts lengths in the tune's own unit. Such a tune is rebuilt as ABC text and
encoded like any ABC tune (transposed to C, rescaled to eighths).
"""
from __future__ import annotations

import re
from fractions import Fraction as F

V2 = "folk-rnn v2"
BRACKETED = "bracketed headers (written key, own unit length; folkwiki's folk-rnn dialect)"

_FIELD = re.compile(r"^\[([A-Za-z]):([^\]]*)\]$")
_LENGTH = re.compile(r"^(\d+|\d*/\d*)$")  # a duration token: 2, /2, 3/2, 2/4
_BARS = ("|", "||", ":|", "|:", "::")
_GLUES_TO = re.compile(r"^(?:\^\^|__|\^|_|=)?[A-Ga-gzx][,']*$|^\]$")  # a note, rest or chord close


def dialect(words: list[str]) -> str:
    """The dialect of one tune's tokens: bracketed header tokens mark the folkwiki dialect."""
    return BRACKETED if any(_FIELD.match(w) for w in words[:4]) else V2


def bracketed_to_abc(words: list[str]) -> str:
    """ABC text for a tune in the bracketed dialect: its leading field tokens become the header, a field
    token in the body its own field line (a key, meter or unit change there), and each duration token is
    written onto the note, rest or chord it follows (`G 2` -> `G2`); ABC 2.1 accidentals (they hold to the
    end of the bar) as in the ABC the tokens were made from."""
    header, i = {}, 0
    while i < len(words) and _FIELD.match(words[i]) and _FIELD.match(words[i]).group(1) not in header:
        m = _FIELD.match(words[i])
        header[m.group(1)] = m.group(2)
        i += 1
    lines = ["%abc-2.1", "X:1"] + [f"{name}:{value}" for name, value in header.items() if name != "K"]
    lines.append(f"K:{header.get('K', 'C')}")
    body: list[list] = []  # [word, length or None]
    in_chord = False

    def flush() -> None:
        lines.append(" ".join(word + _length_text(length) for word, length in body))
        body.clear()

    for word in words[i:]:
        m = _FIELD.match(word)
        if m:
            flush()
            lines.append(f"{m.group(1)}:{m.group(2)}")
        elif _LENGTH.match(word) and body and _GLUES_TO.match(body[-1][0]):
            # `G 2` -> G2; the tokeniser also split E3/2 as `E 3 /2` and c// as `c /2 /2`: the product
            body[-1][1] = (body[-1][1] or 1) * _length_value(word)
        elif word == "]" and not in_chord:
            if body and body[-1][0] in _BARS:
                body[-1][0] += word  # `| ]`: the tokeniser split an end bar |]
            # else the end of an ending's bracket (`|2 G8 ]`): ABC has no such token, and it says nothing
        else:
            in_chord = word == "[" or in_chord and word != "]"
            body.append([word, None])
    flush()
    return "\n".join(line for line in lines if line)


def _length_value(token: str) -> F:
    num, _, den = token.partition("/")
    return F(int(num or 1), int(den or 2) if "/" in token else 1)


def _length_text(length: F | None) -> str:
    if length is None or length == 1:
        return ""
    if length.denominator == 1:
        return str(length.numerator)
    return f"{length.numerator if length.numerator != 1 else ''}/{length.denominator}"
