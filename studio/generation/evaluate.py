"""What a musician checks first in a folder of samples (written by `studio generate`, read back from the
tokens recorded in `generation.json`).

Folk: the share of tunes whose tokens were valid as sampled (no repair needed), the share of playable tunes
(valid, and every bar in time by the sampling guard's `BarRule`: full, or a pickup and the section-closing
bar that completes it), the share of inner bars exactly one bar long, the repeat structure (AABB ...), pitch
range, and copying: the longest run of tokens a tune shares with any training tune (rolling hashes over the
corpus, so even 20,000 tunes take seconds).
Performance: notes per second, polyphony, pitch range, velocity spread, longest note, and the share of notes
the decoder had to close because the model never ended them.
"""
from __future__ import annotations

from collections import Counter
from fractions import Fraction as F
from pathlib import Path

import numpy as np

from ..codecs import codec_from_config, get_codec
from ..errors import StudioError
from .output import read_record

COPY_SHARE = 0.5  # a tune "copies" a training tune when a shared run covers at least half of its body


def evaluate_samples(out_dir: str | Path, corpus: str | None = None) -> dict:
    """A report (JSON-ready dict) for the candidates recorded in `out_dir/generation.json`."""
    record = read_record(out_dir)
    codec = _codec(record)
    tokens = [np.asarray(c["tokens"], dtype=np.int64) for c in record["candidates"]]
    report = {"folder": str(out_dir), "model": record["model"]["name"], "codec": codec.name, "candidates": len(tokens)}
    if codec.name == "folk":
        report.update(folk_report(codec, tokens))
        if corpus:
            report.update(copy_report(codec, tokens, corpus))
        elif record["model"].get("corpus"):  # the model's own corpus, when it is still there
            try:
                report.update(copy_report(codec, tokens, record["model"]["corpus"]))
            except StudioError as exc:
                report["copy_check"] = f"skipped: {exc.message()}"
    else:
        report.update(performance_report(codec, tokens))
    return report


def _codec(record: dict):
    from ..nn import read_card

    try:
        return codec_from_config(read_card(record["model"]["path"])["codec"])
    except StudioError:  # the model folder moved: the default vocabulary of the recorded codec
        return get_codec(record["model"]["codec"])


# ---------------------------------------------------------------------------------------------- folk
def folk_report(codec, tunes: list[np.ndarray]) -> dict:
    from ..codecs.folk.guard import bad_bars
    from ..codecs.folk.melody import is_event, timeline
    from ..codecs.folk.render import items_to_piece
    from ..codecs.folk.vocab import BARS

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
    from ..codecs.folk.melody import is_event, midi_of

    from ..codecs.folk.vocab import BARS

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
    from ..corpus.store import Corpus

    corpus = Corpus.open(corpus_name)
    train = [np.asarray(corpus.piece(int(i)), dtype=np.int64) for i in corpus.indices("train")]
    index = NgramIndex(train)
    longest = [index.longest_shared(ids[2:]) for ids in tunes]  # the body: meter and mode are shared by all
    copies = sum(1 for ids, n in zip(tunes, longest) if len(ids) > 2 and n >= COPY_SHARE * (len(ids) - 2))
    return {"corpus": corpus.name, "longest_shared_tokens": longest, "copies_of_training_tunes": copies}


class NgramIndex:
    """Which n-grams occur in a set of sequences, for any n, by 64-bit polynomial hashes.

    Prefix sums of t[j] * B^j (mod 2^64, B odd and so invertible) give the hash of any window in O(1),
    so all windows of one length are hashed with a few array operations; windows crossing two sequences
    are left out.
    """

    BASE = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, sequences: list[np.ndarray]):
        self.sequences = [s for s in sequences if len(s)]
        self.by_length: dict[int, np.ndarray] = {}

    def _hashes(self, seq: np.ndarray, n: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.concatenate([[np.uint64(1)], np.full(len(seq), self.BASE, dtype=np.uint64)]))
            inverse = np.cumprod(np.concatenate([[np.uint64(1)], np.full(len(seq), _inverse(self.BASE), dtype=np.uint64)]))
            prefix = np.concatenate([[np.uint64(0)], np.cumsum((seq.astype(np.uint64) + np.uint64(1)) * powers[:-1])])
            return (prefix[n:] - prefix[:-n]) * inverse[: len(seq) - n + 1]

    def known(self, n: int) -> np.ndarray:
        if n not in self.by_length:
            parts = [self._hashes(s, n) for s in self.sequences if len(s) >= n]
            self.by_length[n] = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
        return self.by_length[n]

    def shares(self, seq: np.ndarray, n: int) -> bool:
        known = self.known(n)
        if not len(known) or len(seq) < n:
            return False
        h = self._hashes(seq, n)
        pos = np.minimum(np.searchsorted(known, h), len(known) - 1)
        return bool((known[pos] == h).any())

    def longest_shared(self, seq: np.ndarray) -> int:
        """Binary search on n: sharing an n-gram implies sharing every shorter one."""
        lo, hi = 0, len(seq)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.shares(seq, mid):
                lo = mid
            else:
                hi = mid - 1
        return lo


def _inverse(b: np.uint64) -> np.uint64:
    return np.uint64(pow(int(b), -1, 1 << 64))


# ---------------------------------------------------------------------------------------------- performance
def performance_report(codec, sequences: list[np.ndarray]) -> dict:
    rates, poly_mean, poly_max, ranges, vel_sd, vel_span, longest, closed, total = [], [], [], [], [], [], [], 0, 0
    for ids in sequences:
        notes = codec.decode(ids).notes
        closed += never_ended(codec, ids)
        total += len(notes)
        if not len(notes):
            continue
        duration = float(notes["end"].max())
        rates.append(len(notes) / duration if duration else 0.0)
        mean, peak = polyphony(notes)
        poly_mean.append(mean)
        poly_max.append(peak)
        ranges.append(int(notes["pitch"].max() - notes["pitch"].min()))
        vel_sd.append(float(notes["velocity"].std()))
        vel_span.append(int(notes["velocity"].max() - notes["velocity"].min()))
        longest.append(float((notes["end"] - notes["start"]).max()))
    return {"notes_per_second": _spread(rates), "polyphony_mean": _spread(poly_mean),
            "polyphony_max": _spread(poly_max), "pitch_range": _spread(ranges, "semitones"),
            "velocity_sd": _spread(vel_sd), "velocity_span": _spread(vel_span),
            "longest_note_seconds": _spread(longest), "notes_closed_by_decoder_share": closed / total if total else None}


def never_ended(codec, ids: np.ndarray) -> int:
    """NOTE_ONs that no NOTE_OFF closes (the decoder's FIFO rule)."""
    open_ = np.zeros(codec.pitches, dtype=np.int64)
    for t in ids[ids < codec.shift0].tolist():
        if t < codec.note_off0:
            open_[t] += 1
        elif open_[t - codec.note_off0]:
            open_[t - codec.note_off0] -= 1
    return int(open_.sum())


def polyphony(notes: np.ndarray) -> tuple[float, int]:
    """Time-weighted mean number of sounding notes while anything sounds, and the most at once."""
    times = np.concatenate([notes["start"], notes["end"]])
    change = np.concatenate([np.ones(len(notes)), -np.ones(len(notes))])
    order = np.lexsort((change, times))  # ends before starts at one time
    times, level = times[order], np.cumsum(change[order])
    spans = np.diff(times)
    sounding = level[:-1] > 0
    busy = spans[sounding].sum()
    return (float((level[:-1][sounding] * spans[sounding]).sum() / busy) if busy else 0.0), int(level.max())


def _spread(values: list, unit: str = "") -> dict | None:
    if not values:
        return None
    a = np.asarray(values, dtype=float)
    out = {"mean": round(float(a.mean()), 3), "min": round(float(a.min()), 3), "max": round(float(a.max()), 3)}
    return out | ({"unit": unit} if unit else {})


def format_report(report: dict) -> str:
    """The report as lines a person reads."""
    lines = [f"{report['candidates']} candidates from {report['model']} ({report['codec']}) in {report['folder']}"]
    for key, value in report.items():
        if key in ("folder", "model", "codec", "candidates"):
            continue
        if isinstance(value, float):
            value = f"{value:.3f}"
        elif isinstance(value, dict) and "mean" in value:
            value = f"mean {value['mean']:g}, min {value['min']:g}, max {value['max']:g} {value.get('unit', '')}".rstrip()
        lines.append(f"  {key.replace('_', ' ')}: {value}")
    return "\n".join(lines)
