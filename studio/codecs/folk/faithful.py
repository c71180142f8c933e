"""Faithfulness check: does a tune's token sequence give back the same melody, as music21 reads both?

The original ABC and the ABC decoded from its tokens are both parsed by music21, ties stripped, grace
notes dropped; the two melodies must have the same durations and the same pitches, the decoded ones all
moved by one transposition that puts the original tonic on C. Two music21 misreadings of the original
are worked around first (see `as_music21_should_read`).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from fractions import Fraction

from ...music.abc_io import _no_beaming

_FIELD_LINE = re.compile(r"^[A-Za-z+]:")
# In a body line: inline fields are kept; x rests become z; quoted annotations, decorations, grace notes,
# slurs, staccato dots and single-letter decorations are removed.
_ORNAMENT = re.compile(r'(\[[A-Za-z]:[^\]\n]*\])|(x)|"[^"\n]*"|![^!\n]*!|\+[^+\n:]*\+|\{[^}\n]*\}|\((?!\d)|\)'
                       r'|[H-Wh-wYy~.`]')


def melody(abc: str) -> tuple[list[tuple[tuple[int, ...], Fraction]], int | None]:
    """(pitches or () for a rest, quarter length) for the first part of a tune, and its tonic pitch class."""
    import music21

    text = abc if abc.lstrip().startswith("X:") else "X:1\n" + abc
    with warnings.catch_warnings(), _no_beaming():
        warnings.simplefilter("ignore")
        score = music21.converter.parseData(text, format="abc")
    part = score.parts[0] if hasattr(score, "parts") and len(score.parts) else score
    flat = part.flatten()
    out = []
    tied = False
    for el in flat.notesAndRests:
        ql = Fraction(el.quarterLength).limit_denominator(10000)
        if ql <= 0:
            continue
        pitches = () if el.isRest else tuple(sorted({p.midi for p in el.pitches}))
        if tied and out and out[-1][0] == pitches and pitches:
            out[-1] = (pitches, out[-1][1] + ql)  # a tie merges notes of one pitch (music21's stripTies
        else:  # would also merge O'Neill's slur-like ties between different pitches, `G3-A`)
            out.append((pitches, ql))
        tied = el.tie is not None and el.tie.type in ("start", "continue")
    keys = list(flat.getElementsByClass(music21.key.KeySignature))
    tonic = None
    if keys:
        k = keys[0] if isinstance(keys[0], music21.key.Key) else keys[0].asKey("major")
        tonic = k.tonic.pitchClass
    return out, tonic


def as_music21_should_read(abc: str) -> str:
    """The tune without what is not melody (annotations, decorations, grace notes, slurs, stray header
    text), and with `x` rests written `z`: music21 stumbles on these (drops x rests, lets `H` swallow a
    note, counts grace notes into tuplets, ignores broken rhythm next to a slur or staccato dot, loses a
    note after `">"` and before `::`, reads header text as notes)."""
    lines = []
    header = True
    for line in abc.splitlines():
        if header:
            header = not line.strip().startswith("K:")
            if not _FIELD_LINE.match(line.strip()) and not line.strip().startswith("%"):
                continue  # stray text in the header, which music21 would read as notes
        elif not _FIELD_LINE.match(line.strip()):
            line = _ORNAMENT.sub(lambda m: m.group(1) or ("z" if m.group(2) else ""), line.split("%", 1)[0])
            line = line.replace("::", " ::")  # music21 swallows the note right before a `::`
        lines.append(line)
    return "\n".join(lines) + "\n"


def compare(original: list, decoded: list, tonic: int | None) -> str | None:
    """None when the melodies match, else what differs first."""
    if len(original) != len(decoded):
        return f"{len(original)} notes and rests in the original, {len(decoded)} decoded"
    shift = None
    for i, ((p0, d0), (p1, d1)) in enumerate(zip(original, decoded)):
        if d0 != d1:
            return f"event {i + 1}: length {d0} became {d1}"
        if len(p0) != len(p1):
            return f"event {i + 1}: {p0} became {p1}"
        for a, b in zip(p0, p1):
            shift = b - a if shift is None else shift
            if b - a != shift:
                return f"event {i + 1}: pitch {a} became {b} (transposition {shift} elsewhere)"
    if shift is not None and tonic is not None and (tonic + shift) % 12 != 0:
        return f"transposed by {shift}, which does not put the tonic on C"
    return None


def check_tune(codec, abc: str, ids) -> str | None:
    """None when decoding `ids` gives the melody of `abc` (music21 on both sides), else the difference."""
    try:
        original, tonic = melody(as_music21_should_read(abc))
        decoded, _ = melody(codec.decode_abc(ids))
    except Exception as exc:  # music21 failing on either side is a failed check, with its message
        return f"music21 could not read it ({type(exc).__name__}: {str(exc)[:120]})"
    return compare(original, decoded, tonic)


@dataclass
class TuneResult:
    label: str
    encoded: bool
    reason: str | None = None  # why it was skipped, or how the round trip failed
    faithful: bool | None = None  # None when not encoded (or not checked)


def _check_file(args) -> list[TuneResult]:
    path, config, check = args
    from .. import codec_from_config
    from ...music.abc_io import read_abc_tunes

    codec = codec_from_config(config)
    results = []
    for tune in read_abc_tunes(path):
        label = f"{path}#X:{tune.number}"
        pieces = list(codec.encode_tune(label, tune.text))
        if len(pieces) > 1:  # a tune that changes meter: music21 reads it whole, so its parts go unchecked
            results.extend(TuneResult(p.label, hasattr(p, "ids"), getattr(p, "reason", None)) for p in pieces)
            continue
        item = pieces[0]
        if not hasattr(item, "ids"):
            results.append(TuneResult(label, False, item.reason))
            continue
        failure = check_tune(codec, tune.text, item.ids) if check else None
        results.append(TuneResult(label, True, failure, None if not check else failure is None))
    return results


def check_files(codec, paths, check: bool = True, workers: int = 2) -> list[TuneResult]:
    """Encode every tune of the ABC files and (with `check`) run the music21 round trip on each encoded one,
    over a pool of `workers` processes (music21 is the slow part)."""
    jobs = [(str(p), codec.config, check) for p in paths]
    if workers <= 1:
        return [r for job in jobs for r in _check_file(job)]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        return [r for rs in pool.map(_check_file, jobs, chunksize=1) for r in rs]


def music21_bars_in_time(abc: str) -> bool:
    """Whether music21 reads every inner bar of a tune as one whole bar of its meter: the independent check
    of `guard.bad_bars`. A bar may be short only as the tune's first or last bar (a pickup and the bar that
    completes it) or where a section turns: at a repeat sign (its own or its neighbour's) or in a first or
    second ending (or right after one); a short last bar must complete a pickup. A short bar and its
    complement between plain bar lines are two wrong bars, and no bar may be longer than the meter's."""
    import music21

    text = abc if abc.lstrip().startswith("X:") else "X:1\n" + abc
    with warnings.catch_warnings(), _no_beaming():
        warnings.simplefilter("ignore")
        score = music21.converter.parse(text, format="abc")
    part = score.parts[0] if score.parts else score
    measures = list(part.getElementsByClass(music21.stream.Measure))
    if not measures:  # music21 could not split the notes into bars (an overfull bar does that)
        return False
    in_ending = {id(m) for sp in part.spannerBundle.getByClass(music21.spanner.RepeatBracket)
                 for m in sp.getSpannedElements()}

    def repeat(barline) -> bool:
        return isinstance(barline, music21.bar.Repeat)

    meter = part.recurse().getElementsByClass(music21.meter.TimeSignature).first()
    bar = meter.barDuration.quarterLength  # the tune's (music21 gives the rest of an overfull bar its own)
    openings = set()  # lengths of the short bars that open a section (the tune's pickup, a section's)
    last = len(measures) - 1
    for i, m in enumerate(measures):
        length = m.duration.quarterLength
        if length > bar:
            return False
        if length == bar:
            continue
        if i == 0 or repeat(m.leftBarline) or repeat(measures[i - 1].rightBarline) or \
                id(measures[i - 1]) in in_ending and i < last:
            openings.add(length)
            continue
        if i == last:  # the last bar completes a pickup
            if bar - length not in openings:
                return False
            continue
        if not (repeat(m.rightBarline) or repeat(measures[i + 1].leftBarline) or id(m) in in_ending):
            return False
    return True
