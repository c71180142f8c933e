"""Sample reports shared by codecs: figures of decoded pieces (any codec), and an n-gram index that finds
how much of a sample copies its training data. A codec's `evaluate` builds its report from these."""
from __future__ import annotations

import numpy as np


def piece_report(codec, sequences: list[np.ndarray]) -> dict:
    """Notes per second, polyphony, pitch range, velocity spread and longest note of the decoded pieces."""
    rates, poly_mean, poly_max, ranges, vel_sd, vel_span, longest = [], [], [], [], [], [], []
    for ids in sequences:
        notes = codec.decode(ids).notes
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
    return {"notes_per_second": spread(rates), "polyphony_mean": spread(poly_mean),
            "polyphony_max": spread(poly_max), "pitch_range": spread(ranges, "semitones"),
            "velocity_sd": spread(vel_sd), "velocity_span": spread(vel_span),
            "longest_note_seconds": spread(longest)}


def polyphony(notes: np.ndarray) -> tuple[float, int]:
    """Time-weighted mean number of sounding notes while anything sounds, and the most at once."""
    if not len(notes):
        return 0.0, 0
    times = np.concatenate([notes["start"], notes["end"]])
    change = np.concatenate([np.ones(len(notes)), -np.ones(len(notes))])
    order = np.lexsort((change, times))  # ends before starts at one time
    times, level = times[order], np.cumsum(change[order])
    spans = np.diff(times)
    sounding = level[:-1] > 0
    busy = spans[sounding].sum()
    return (float((level[:-1][sounding] * spans[sounding]).sum() / busy) if busy else 0.0), int(level.max())


def spread(values: list, unit: str = "") -> dict | None:
    if not values:
        return None
    a = np.asarray(values, dtype=float)
    out = {"mean": round(float(a.mean()), 3), "min": round(float(a.min()), 3), "max": round(float(a.max()), 3)}
    return out | ({"unit": unit} if unit else {})


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
