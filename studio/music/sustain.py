"""Fold the sustain pedal into note ends, with Magenta's rules (note-seq `apply_sustain_control_changes`).

Performance RNN has no pedal token: what the pedal does to the sound is written into the notes instead,
so a model hears how long strings really ring. The rules, per track, drums untouched:

- a note released while the pedal is down keeps sounding until the pedal comes up;
- while the pedal is down, striking a pitch again ends every sounding note of that pitch at that instant,
  and a note left with no length by this (two onsets at one time) is deleted;
- at one instant the order is: pedal down, pedal up, note-on, note-off.

Magenta walks events one by one; here each rule is a sorted-array lookup, so a piece of 20,000 notes takes
about a millisecond.
"""
from __future__ import annotations

import numpy as np

from .piece import PEDAL_DTYPE, Piece


def apply_sustain(piece: Piece) -> Piece:
    """A copy of `piece` with pedal-held notes lengthened and the pedal intervals removed (folded in)."""
    out = piece.copy()
    out.notes = sustain_notes(piece.notes, piece.pedals)
    out.pedals = np.zeros(0, dtype=PEDAL_DTYPE)
    return out


def sustain_notes(notes: np.ndarray, pedals: np.ndarray) -> np.ndarray:
    """The note array with the pedal folded in (rows kept in their order, deleted notes left out)."""
    notes = notes.copy()
    keep = np.ones(len(notes), dtype=bool)
    for track in np.unique(pedals["track"]):
        starts, ends = _merged_intervals(pedals[pedals["track"] == track])
        if not len(starts):
            continue
        rows = np.nonzero((notes["track"] == track) & ~notes["is_drum"])[0]
        if not len(rows):
            continue
        end, dead = _sustain_track(notes["pitch"][rows], notes["start"][rows], notes["end"][rows], starts, ends)
        notes["end"][rows] = end
        keep[rows[dead]] = False
    return notes[keep]


def _merged_intervals(pedals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pedal-down intervals of one track, sorted, with overlapping or touching ones merged."""
    p = pedals[pedals["end"] > pedals["start"]]
    if not len(p):
        return np.zeros(0), np.zeros(0)
    p = p[np.argsort(p["start"], kind="stable")]
    starts, ends = p["start"], np.maximum.accumulate(p["end"])
    new = np.ones(len(p), dtype=bool)
    new[1:] = starts[1:] > ends[:-1]
    group = np.cumsum(new) - 1
    merged_ends = np.zeros(group[-1] + 1)
    np.maximum.at(merged_ends, group, ends)
    return starts[new], merged_ends


def _pedal_up_after(times: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each time: the end of the pedal interval holding it (start <= t < end), or NaN if the pedal is up."""
    i = np.searchsorted(starts, times, side="right") - 1
    inside = (i >= 0) & (times < ends[np.maximum(i, 0)])
    return np.where(inside, ends[np.maximum(i, 0)], np.nan)


def _sustain_track(pitch, start, end, pedal_starts, pedal_ends) -> tuple[np.ndarray, np.ndarray]:
    """New note ends and a mask of notes to delete, for the notes of one track."""
    # A note released with the pedal down rings until the pedal comes up.
    release = _pedal_up_after(end, pedal_starts, pedal_ends)
    held_end = np.where(np.isnan(release), end, release)
    # While the pedal is down, the next onset of the same pitch (in processing order: by time, then by row)
    # ends every earlier note of that pitch still sounding.
    order = np.lexsort((np.arange(len(pitch)), start, pitch))
    p, s = pitch[order], start[order]
    strikes = ~np.isnan(_pedal_up_after(s, pedal_starts, pedal_ends))
    n = len(order)
    candidate = np.where(strikes, np.arange(n), n)
    nxt = np.minimum.accumulate(candidate[::-1])[::-1]  # first striking position >= i
    nxt = np.concatenate([nxt[1:], [n]])  # ... strictly after i
    has = nxt < n
    same = has & (p[np.minimum(nxt, n - 1)] == p)
    t_next = np.where(same, s[np.minimum(nxt, n - 1)], np.inf)
    cut = t_next < held_end[order]
    new_end_sorted = np.where(cut, t_next, held_end[order])
    new_end = np.empty(n)
    new_end[order] = new_end_sorted
    dead = np.zeros(n, dtype=bool)
    dead[order] = cut & (new_end_sorted == s)
    return new_end, dead
