"""`studio info` and `studio convert`, run as a user runs them (subprocesses)."""
import json

import pytest

import numpy as np

from conftest import EXAMPLE_ABC, MAESTRO, needs_maestro, run_studio
from studio.music import Piece
from test_midi_io import canonical, generated_piece


def test_help_lists_commands():
    r = run_studio("--help")
    assert r.returncode == 0
    for command in ("info", "convert"):
        assert command in r.stdout


def test_info_on_midi_text_and_json(tmp_path):
    generated_piece().write_midi(tmp_path / "g.mid")
    r = run_studio("info", tmp_path / "g.mid")
    assert r.returncode == 0, r.stderr
    for text in ("notes:           12", "3/4 at", "D major", "program 40", "drums", "pedal events:    2", "90 qpm"):
        assert text in r.stdout
    r = run_studio("info", "--json", tmp_path / "g.mid")
    info = json.loads(r.stdout)
    assert info["notes"] == 12
    assert info["pedal_events"] == 2
    assert [t["qpm"] for t in info["tempos"]] == [120, 90, 140]
    assert [(t["numerator"], t["denominator"]) for t in info["time_signatures"]] == [(4, 4), (3, 4)]
    assert info["key"] == "D major" and info["title"] == "generated"
    assert info["duration_seconds"] == pytest.approx(10.0, abs=1e-3)


def test_info_on_abc_book_gives_one_object_per_tune():
    r = run_studio("info", "--json", EXAMPLE_ABC)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert [t["title"] for t in info["tunes"]] == ["The Kesh", "The Silver Spear", "Si Bheag, Si Mhor", "Drowsy Maggie"]
    assert all(t["notes"] > 50 and t["key"] for t in info["tunes"])
    r = run_studio("info", EXAMPLE_ABC)
    assert r.stdout.count("title:") == 4


def test_convert_abc_to_midi_and_musicxml_round_trip(tmp_path):
    r = run_studio("convert", EXAMPLE_ABC, tmp_path / "kesh.mid")
    assert r.returncode == 0, r.stderr
    assert "holds 4 tunes" in r.stderr
    kesh_abc = Piece.read_all(EXAMPLE_ABC)[0]
    kesh_mid = Piece.read(tmp_path / "kesh.mid")
    assert kesh_mid.notes["pitch"].tolist() == kesh_abc.notes["pitch"].tolist()
    assert np.allclose(kesh_mid.notes["start"], kesh_abc.notes["start"])

    r = run_studio("convert", "--tune", "4", EXAMPLE_ABC, tmp_path / "maggie.musicxml")
    assert r.returncode == 0, r.stderr
    maggie = Piece.read(tmp_path / "maggie.musicxml")
    original = Piece.read_all(EXAMPLE_ABC)[3]
    assert maggie.notes["pitch"].tolist() == original.notes["pitch"].tolist()
    assert str(maggie.key) == "E dorian"  # the mode survives notation (a MIDI file could only say D major)

    r = run_studio("convert", tmp_path / "maggie.musicxml", tmp_path / "maggie.mid")
    assert r.returncode == 0, r.stderr
    assert canonical(Piece.read(tmp_path / "maggie.mid").notes) == canonical(maggie.notes)


def test_convert_midi_to_musicxml_keeps_notes_on_the_beat_grid(tmp_path):
    from studio.music import make_notes

    pitches = [60, 64, 67, 72, 71, 67, 65, 62]
    starts = [0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.25, 2.5]
    ends = [1.0, 0.5, 1.0, 1.5, 2.0, 2.25, 2.5, 4.0]
    Piece(notes=make_notes(pitches, starts, ends), title="grid").write_midi(tmp_path / "in.mid")
    r = run_studio("convert", tmp_path / "in.mid", tmp_path / "out.musicxml")
    assert r.returncode == 0, r.stderr
    back = Piece.read(tmp_path / "out.musicxml")
    assert canonical(back.notes) == canonical(Piece.read(tmp_path / "in.mid").notes)


@needs_maestro
def test_convert_performance_to_musicxml(tmp_path):
    """A real performance is notated by music21's quantizer: every note survives, some split by bar ties."""
    piece = Piece.read(MAESTRO[0]).slice(0, 20)
    piece.write_midi(tmp_path / "in.mid")
    r = run_studio("convert", tmp_path / "in.mid", tmp_path / "out.musicxml")
    assert r.returncode == 0, r.stderr
    back = Piece.read(tmp_path / "out.musicxml")
    assert len(piece.notes) <= len(back.notes) <= 1.2 * len(piece.notes)
    assert set(back.notes["pitch"].tolist()) == set(piece.notes["pitch"].tolist())


def test_convert_rejects_unknown_output_extension(tmp_path):
    r = run_studio("convert", EXAMPLE_ABC, tmp_path / "x.pdf")
    assert r.returncode == 2 and r.stderr.startswith("error:") and "x.pdf" in r.stderr
    assert not (tmp_path / "x.pdf").exists()
