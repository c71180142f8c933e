"""The Piece data model: cheap array-backed transforms and tempo-map time conversions."""
import numpy as np
import pytest

from studio.music import Piece, make_notes
from studio.music.piece import TEMPO_DTYPE


def scale_piece() -> Piece:
    notes = make_notes(pitch=[60, 62, 64, 65], start=[0, 0.5, 1.0, 1.5], end=[0.5, 1.0, 1.5, 2.0], velocity=[80, 90, 100, 110])
    return Piece(notes=notes, title="scale")


def test_seconds_and_beats_follow_tempo_changes():
    # 120 qpm for 2 s (4 beats), then 60 qpm.
    p = Piece(tempos=np.array([(0.0, 120.0), (2.0, 60.0)], dtype=TEMPO_DTYPE))
    assert p.seconds_to_beats(1.0) == pytest.approx(2.0)
    assert p.seconds_to_beats(2.0) == pytest.approx(4.0)
    assert p.seconds_to_beats(4.0) == pytest.approx(6.0)
    assert p.beats_to_seconds(6.0) == pytest.approx(4.0)
    beats = np.linspace(0, 20, 81)
    assert np.allclose(p.seconds_to_beats(p.beats_to_seconds(beats)), beats)


def test_transpose_drops_notes_leaving_midi_range_and_leaves_drums():
    notes = make_notes(pitch=[60, 126, 36], start=[0, 0, 0], end=[1, 1, 1], is_drum=[False, False, True])
    p = Piece(notes=notes).transpose(3)
    assert sorted(p.notes["pitch"].tolist()) == [36, 63]  # 126+3 left the range; the drum stayed 36
    assert Piece(notes=notes).notes["pitch"].tolist() == [60, 126, 36]  # original untouched


def test_stretch_scales_times_and_tempo_together():
    p = scale_piece().stretch(2.0)
    assert p.notes["start"].tolist() == [0, 1, 2, 3]
    assert p.duration == 4.0
    assert p.tempos["qpm"][0] == 60.0  # same beats, twice as slow
    assert p.seconds_to_beats(4.0) == pytest.approx(scale_piece().seconds_to_beats(2.0))


def test_slice_cuts_notes_at_edges_and_shifts_to_zero():
    p = scale_piece().slice(0.75, 1.75)
    assert p.notes["pitch"].tolist() == [62, 64, 65]
    assert p.notes["start"].tolist() == [0.0, 0.25, 0.75]
    assert p.notes["end"].tolist() == [0.25, 0.75, 1.0]


def test_copy_is_independent():
    a = scale_piece()
    b = a.copy()
    b.notes["pitch"] += 1
    b.meta["x"] = 1
    assert a.notes["pitch"].tolist() == [60, 62, 64, 65] and "x" not in a.meta


def test_twenty_thousand_note_piece_transforms_keep_every_note_consistent():
    rng = np.random.default_rng(0)
    n = 20_000
    start = np.sort(rng.uniform(0, 600, n))
    p = Piece(notes=make_notes(rng.integers(21, 100, n), start, start + rng.uniform(0.05, 2, n), rng.integers(1, 127, n)))
    q = p.copy().transpose(2).stretch(1.05)
    assert len(q) == n
    assert np.array_equal(q.notes["pitch"], p.notes["pitch"] + 2)
    assert np.allclose(q.notes["start"], p.notes["start"] * 1.05)
    s = p.slice(100, 300)
    assert s.notes["start"].min() >= 0 and s.notes["end"].max() <= 200


def test_summary_has_the_keys_scripts_rely_on():
    s = scale_piece().summary()
    for key in ("notes", "duration_seconds", "tempos", "time_signatures", "key", "title", "pedal_events"):
        assert key in s
    assert s["notes"] == 4 and s["duration_seconds"] == 2.0


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    scale_piece().write_midi(tmp_path / "s.mid")
    mode = stat.S_IMODE(os.stat(tmp_path / "s.mid").st_mode)
    mask = os.umask(0)
    os.umask(mask)
    assert mode == 0o666 & ~mask
