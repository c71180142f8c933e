"""MIDI files <-> Piece: writing then reading gives back the same music, to the tick."""
import struct

import mido
import numpy as np
import pytest

from conftest import MAESTRO, SHARED_CORPORA, needs_maestro
from studio.errors import UnreadableFile
from studio.music import Piece, make_notes
from studio.music.midi_io import TickClock
from studio.music.piece import PEDAL_DTYPE, TEMPO_DTYPE, TIME_SIGNATURE_DTYPE, KeySignature

TPQ = 480


def on_grid(seconds, tempo_ticks=(0,), mspq=(500000,)):
    """Snap times to the tick grid of the tempo map, so exact comparison is meaningful."""
    clock = TickClock(np.array(tempo_ticks), np.array(mspq), TPQ)
    return clock.to_seconds(clock.to_ticks(seconds))


def generated_piece() -> Piece:
    """Chords, same-pitch overlaps, a drum track, two programs, tempo and meter changes, pedal."""
    tempos = np.array([(0.0, 120.0), (4.0, 90.0), (9.0, 140.0)], dtype=TEMPO_DTYPE)
    probe = Piece(tempos=tempos)
    ticks = [0, int(round(probe.seconds_to_beats(4.0) * TPQ)), int(round(probe.seconds_to_beats(9.0) * TPQ))]
    mspq = [500000, int(round(60e6 / 90)), int(round(60e6 / 140))]
    tempos["qpm"] = 60e6 / np.array(mspq)
    rows = [
        # chord
        (60, 0.0, 1.0, 100, 0, False, 1), (64, 0.0, 1.0, 90, 0, False, 1), (67, 0.0, 1.0, 80, 0, False, 1),
        # same pitch overlapping (not nested): A 1.5-3.0, B 2.0-3.5
        (62, 1.5, 3.0, 70, 0, False, 1), (62, 2.0, 3.5, 75, 0, False, 1),
        # repeated note: ends exactly where the next starts
        (65, 4.0, 4.5, 60, 0, False, 1), (65, 4.5, 5.0, 61, 0, False, 1),
        # across tempo changes
        (48, 3.5, 10.0, 110, 0, False, 1),
        # a second instrument (violin) and drums
        (72, 5.0, 6.0, 50, 40, False, 2), (74, 6.0, 7.25, 55, 40, False, 2),
        (36, 0.0, 0.1, 120, 0, True, 3), (42, 0.5, 0.6, 100, 0, True, 3),
    ]
    notes = np.array(rows, dtype=make_notes([], [], []).dtype)
    notes["start"] = on_grid(notes["start"], ticks, mspq)
    notes["end"] = on_grid(notes["end"], ticks, mspq)
    pedals = np.array([(0.5, 2.5, 1), (6.0, 8.0, 1)], dtype=PEDAL_DTYPE)
    pedals["start"] = on_grid(pedals["start"], ticks, mspq)
    pedals["end"] = on_grid(pedals["end"], ticks, mspq)
    return Piece(
        notes=notes,
        pedals=pedals,
        tempos=tempos,
        time_signatures=np.array([(0.0, 4, 4), (on_grid(4.0, ticks, mspq), 3, 4)], dtype=TIME_SIGNATURE_DTYPE),
        key_signatures=[KeySignature(0.0, "D", "major")],
        title="generated",
        track_names=["", "piano", "violin", "drums"],
        meta={"ticks_per_quarter": TPQ},
    )


def canonical(notes: np.ndarray) -> list[tuple]:
    rows = [(round(s, 6), int(p), round(e, 6), int(v), int(pr), bool(d)) for p, s, e, v, pr, d in
            zip(notes["pitch"], notes["start"], notes["end"], notes["velocity"], notes["program"], notes["is_drum"])]
    return sorted(rows)


def assert_same_music(a: Piece, b: Piece) -> None:
    assert canonical(a.notes) == canonical(b.notes)
    assert sorted(np.round(a.pedals["start"], 6).tolist()) == sorted(np.round(b.pedals["start"], 6).tolist())
    assert sorted(np.round(a.pedals["end"], 6).tolist()) == sorted(np.round(b.pedals["end"], 6).tolist())
    assert np.allclose(a.tempos["time"], b.tempos["time"]) and np.allclose(a.tempos["qpm"], b.tempos["qpm"])
    sig = lambda p: [(round(t, 6), n, d) for t, n, d in p.time_signatures.tolist()]  # noqa: E731
    assert sig(a) == sig(b)


def test_generated_piece_round_trips_to_the_tick(tmp_path):
    piece = generated_piece()
    piece.write_midi(tmp_path / "g.mid")
    back = Piece.read(tmp_path / "g.mid")
    assert_same_music(piece, back)
    assert str(back.key) == "D major"
    assert back.warnings == []
    # And again: a second trip changes nothing.
    back.write_midi(tmp_path / "g2.mid")
    assert_same_music(back, Piece.read(tmp_path / "g2.mid"))


def test_type0_file_reads_like_type1(tmp_path):
    piece = generated_piece()
    piece.write_midi(tmp_path / "t1.mid")
    from studio.music.midi_io import write_midi

    write_midi(piece, tmp_path / "t0.mid", midi_format=0)
    assert mido.MidiFile(tmp_path / "t0.mid").type == 0
    assert canonical(Piece.read(tmp_path / "t0.mid").notes) == canonical(Piece.read(tmp_path / "t1.mid").notes)


def test_running_status_is_read(tmp_path):
    """A hand-made track that uses running status (no status byte repeated) and note-on velocity 0 as off."""
    events = bytes([
        0x00, 0x90, 60, 100,  # note on C4
        0x00, 64, 90,  # running status: note on E4
        0x83, 0x60, 60, 0,  # +480 ticks: running status note-on vel 0 = off C4
        0x00, 64, 0,  # off E4
        0x00, 0xFF, 0x2F, 0x00,
    ])
    data = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(events)) + events
    (tmp_path / "rs.mid").write_bytes(data)
    p = Piece.read(tmp_path / "rs.mid")
    assert sorted(p.notes["pitch"].tolist()) == [60, 64]
    assert p.notes["end"].tolist() == [0.5, 0.5]
    assert sorted(p.notes["velocity"].tolist()) == [90, 100]


def test_truncated_track_keeps_notes_before_the_damage(tmp_path):
    piece = generated_piece()
    piece.write_midi(tmp_path / "full.mid")
    data = (tmp_path / "full.mid").read_bytes()
    cut = tmp_path / "cut.mid"
    cut.write_bytes(data[: len(data) - 40])
    p = Piece.read(cut)
    assert 0 < len(p.notes) < len(piece.notes) + 1
    assert any("cut short" in w and "track" in w for w in p.warnings)


@needs_maestro
@pytest.mark.parametrize("path", MAESTRO + sorted((SHARED_CORPORA / "broken-midi").glob("*.mid")), ids=lambda p: p.name)
def test_every_shared_midi_file_round_trips(path, tmp_path):
    try:
        piece = Piece.read(path)
    except UnreadableFile as exc:  # the deliberately broken ones: a clear error is the right outcome
        assert exc.place and exc.reason
        return
    piece.write_midi(tmp_path / "out.mid")
    back = Piece.read(tmp_path / "out.mid")
    assert_same_music(piece, back)


@needs_maestro
def test_maestro_pedal_and_notes_match_the_reference_counts():
    counts = {"Maestro_1.mid": 2367, "Maestro_2.mid": 12418, "Maestro_3.mid": 3142, "Maestro_4.mid": 5551, "Maestro_5.mid": 14226}
    for path in MAESTRO:
        p = Piece.read(path)
        assert len(p.notes) == counts[path.name]
        assert len(p.pedals) > 100  # heavy sustain-pedal use
        assert np.all(p.pedals["end"] >= p.pedals["start"])
