"""What a musician checks first in folk samples: the share of tunes whose tokens were valid as sampled (no
repair needed), the share of playable tunes (valid, and every bar in time by the sampling guard's `BarRule`:
full, or a pickup and the section-closing bar that completes it), the share of inner bars exactly one bar
long, the repeat structure (AABB ...), pitch range, and copying: the longest run of tokens a tune shares
with any training tune (rolling hashes over the corpus, so even 20,000 tunes take seconds)."""
from __future__ import annotations

from collections import Counter
from fractions import Fraction as F

import numpy as np

from ..report import NgramIndex, spread as _spread

COPY_SHARE = 0.5  # a tune "copies" a training tune when a shared run covers at least half of its body


def folk_report(codec, tunes: list[np.ndarray]) -> dict:
    from .guard import bad_bars
    from .melody import is_event, timeline
    from .render import items_to_piece
    from .vocab import BARS

    valid, playable, bars_ok, bars_all, ranges, forms = 0, 0, 0, 0, [], Counter()
    for ids in tunes:
        meter, mode, items, warnings = codec.decode_tune(ids)
        valid += not warnings
        playable += not warnings and not bad_bars(items, meter)
        lengths = iter(length for _, _, length in timeline(items, meter))
        bar_length, full = F(0), F(8 * meter[0], meter[1])
        bars = []
        for item in items:
            if is_event(item):
                bar_length += next(lengths)
            elif item in BARS and bar_length:
                bars.append(bar_length)
                bar_length = F(0)
        if bar_length:
            bars.append(bar_length)
        inner = bars[1:-1]  # the first and last bars may be a pickup and its complement
        bars_ok += sum(b == full for b in inner)
        bars_all += len(inner)
        pitches = items_to_piece(meter, mode, items).notes["pitch"]
        if len(pitches):
            ranges.append(int(pitches.max() - pitches.min()))
        forms[repeat_form(items)] += 1
    n = max(len(tunes), 1)
    return {"valid_abc_share": valid / n, "playable_share": playable / n,
            "bars_of_right_length_share": bars_ok / bars_all if bars_all else None, "forms": dict(forms.most_common()), "pitch_range": _spread(ranges, "semitones")}


def repeat_form(items: list) -> str:
    """Sections between repeat signs, lettered by content and doubled when repeated: "AABB", "AAB" ..."""
    from .melody import is_event, midi_of

    from .vocab import BARS

    sections, current, ending = [], [], None  # ending: notes of a second ending, which joins its section
    for item in items:
        if is_event(item):
            (current if ending is None else ending).append(midi_of(item))
        elif item == "|2":
            ending = []
        elif item in BARS:
            if ending:  # a second ending lasts one bar
                ending = None
            if item in ("|:", ":|") and current:
                sections.append((tuple(current), item == ":|"))
                current = []
    if current:
        sections.append((tuple(current), False))
    letters, form = {}, ""
    for content, again in sections:
        letter = letters.setdefault(content, chr(ord("A") + min(len(letters), 25)))
        form += letter * (2 if again else 1)
    return form or "-"


def copy_report(codec, tunes: list[np.ndarray], corpus_name: str) -> dict:
    """Longest run of tokens each tune shares with a training tune of the corpus."""
    from ...corpus.store import Corpus

    corpus = Corpus.open(corpus_name)
    train = [np.asarray(corpus.piece(int(i)), dtype=np.int64) for i in corpus.indices("train")]
    index = NgramIndex(train)
    longest = [index.longest_shared(ids[2:]) for ids in tunes]  # the body: meter and mode are shared by all
    copies = sum(1 for ids, n in zip(tunes, longest) if len(ids) > 2 and n >= COPY_SHARE * (len(ids) - 2))
    return {"corpus": corpus.name, "longest_shared_tokens": longest, "copies_of_training_tunes": copies}
