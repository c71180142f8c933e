"""Sustain pedal folding: Magenta's rules, case by case, and against a direct port of Magenta's event loop."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.music import PEDAL_DTYPE, Piece, make_notes
from studio.music.sustain import apply_sustain

from conftest import MAESTRO, needs_maestro


def pedals(*intervals, track=0):
    arr = np.zeros(len(intervals), dtype=PEDAL_DTYPE)
    for i, (s, e) in enumerate(intervals):
        arr[i] = (s, e, track)
    return arr


def notes_of(piece):
    return sorted((int(n["pitch"]), float(n["start"]), float(n["end"])) for n in piece.notes)


def test_release_under_pedal_rings_until_pedal_up():
    piece = Piece(notes=make_notes([60, 64], [0.0, 0.5], [1.0, 3.0]), pedals=pedals((0.5, 2.0)))
    out = piece.apply_sustain()
    assert notes_of(out) == [(60, 0.0, 2.0), (64, 0.5, 3.0)]  # 64 was still held at pedal-up: unchanged
    assert len(out.pedals) == 0


def test_restrike_under_pedal_ends_earlier_note_of_that_pitch():
    piece = Piece(notes=make_notes([60, 60, 62], [0.0, 1.5, 0.2], [1.0, 1.8, 0.4]), pedals=pedals((0.5, 3.0)))
    assert notes_of(piece.apply_sustain()) == [(60, 0.0, 1.5), (60, 1.5, 3.0), (62, 0.2, 0.4)]


def test_restrike_ends_a_note_still_held_by_the_finger():
    piece = Piece(notes=make_notes([60, 60], [0.0, 1.0], [5.0, 1.5]), pedals=pedals((0.5, 2.0)))
    assert notes_of(piece.apply_sustain()) == [(60, 0.0, 1.0), (60, 1.0, 2.0)]


def test_identical_onsets_under_pedal_keep_one_note():
    piece = Piece(notes=make_notes([60, 60], [1.0, 1.0], [1.2, 1.4]), pedals=pedals((0.0, 3.0)))
    assert notes_of(piece.apply_sustain()) == [(60, 1.0, 3.0)]


def test_same_instant_order_pedal_down_before_note_off():
    # Note-off exactly at pedal-down is sustained; note-off exactly at pedal-up is not extended.
    piece = Piece(notes=make_notes([60, 62], [0.0, 0.0], [1.0, 2.0]), pedals=pedals((1.0, 2.0)))
    assert notes_of(piece.apply_sustain()) == [(60, 0.0, 2.0), (62, 0.0, 2.0)]


def test_pedal_only_affects_its_own_track_and_never_drums():
    notes = make_notes([60, 61, 36], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5], track=[0, 1, 0], is_drum=[False, False, True])
    out = Piece(notes=notes, pedals=pedals((0.2, 2.0), track=0)).apply_sustain()
    assert notes_of(out) == [(36, 0.0, 0.5), (60, 0.0, 2.0), (61, 0.0, 0.5)]


def magenta_reference(notes, pedal_intervals):
    """Direct port of note-seq's apply_sustain_control_changes event loop (single track, no drums)."""
    events = []
    for i, (p, s, e) in enumerate(notes):
        events.append((s, 2, i))
        events.append((e, 3, i))
    for s, e in pedal_intervals:
        events.append((s, 0, None))
        events.append((e, 1, None))
    events.sort(key=lambda ev: (ev[0], ev[1]))
    ends = {i: e for i, (p, s, e) in enumerate(notes)}
    removed = set()
    active, sus, time = [], False, 0.0
    for time, kind, i in events:
        if kind == 0:
            sus = True
        elif kind == 1:
            sus = False
            keep = []
            for j in active:
                if ends[j] < time:
                    ends[j] = time
                else:
                    keep.append(j)
            active = keep
        elif kind == 2:
            if sus:
                keep = []
                for j in active:
                    if notes[j][0] == notes[i][0]:
                        ends[j] = time
                        if notes[j][1] == time:
                            removed.add(j)
                    else:
                        keep.append(j)
                active = keep
            active.append(i)
        elif not sus and i in active:
            active.remove(i)
    for j in active:
        ends[j] = time
    return sorted((notes[i][0], notes[i][1], ends[i]) for i in range(len(notes)) if i not in removed)


note_st = st.tuples(st.integers(60, 62), st.integers(0, 20), st.integers(0, 6))


@settings(max_examples=300, deadline=None)
@given(st.lists(note_st, max_size=12), st.lists(st.tuples(st.integers(0, 20), st.integers(1, 6)), max_size=3))
def test_matches_magenta_event_loop(raw_notes, raw_pedals):
    notes = [(p, s / 4, (s + d) / 4) for p, s, d in raw_notes]
    # Disjoint pedal intervals, as a CC64 stream gives them.
    intervals, t = [], 0
    for gap, length in sorted(raw_pedals):
        start = max(t, gap)
        intervals.append((start / 4, (start + length) / 4))
        t = start + length + 1
    piece = Piece(notes=make_notes([n[0] for n in notes], [n[1] for n in notes], [n[2] for n in notes]),
                  pedals=pedals(*intervals))
    assert notes_of(apply_sustain(piece)) == magenta_reference(notes, intervals)


@needs_maestro
def test_real_performance_matches_magenta_event_loop():
    piece = Piece.read(MAESTRO[0])
    out = piece.apply_sustain()
    assert len(piece.pedals) > 0 and len(out.pedals) == 0
    notes = [(int(n["pitch"]), float(n["start"]), float(n["end"])) for n in piece.notes]
    expected = magenta_reference(notes, [(float(p["start"]), float(p["end"])) for p in piece.pedals])
    assert notes_of(out) == expected
    assert sum(e - s for _, s, e in expected) > sum(e - s for _, s, e in notes)
