"""Performance codec: Magenta layout, round-trip fidelity, the awkward cases, decoding anything, augmentation."""
from __future__ import annotations

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.codecs import codec_from_config, get_codec
from studio.errors import InvalidArgument
from studio.music import PEDAL_DTYPE, Piece, make_notes

from conftest import BROKEN_MIDI, MAESTRO, needs_broken, needs_maestro

STEP = 0.01
HALF = STEP / 2 + 1e-9


@pytest.fixture(scope="module")
def codec():
    return get_codec("performance")


def tok(codec, text):
    return np.array([codec.index[t] for t in text.split()])


def notes_by_pitch(notes):
    return notes[np.lexsort((notes["start"], notes["pitch"]))]


def assert_faithful(codec, piece):
    """decode(encode(piece)) against the piece as the codec sees it: same notes, onsets and offsets within
    half a step (a note whose onset and offset round to one step comes back one step long), velocity within
    one bin."""
    want = notes_by_pitch(codec.prepare(piece).notes)
    got = notes_by_pitch(codec.decode(codec.encode(piece)).notes)
    assert len(got) == len(want), "a note was lost or invented"
    assert (got["pitch"] == want["pitch"]).all()
    assert np.abs(got["start"] - want["start"]).max(initial=0) <= HALF
    short = np.floor(want["start"] / STEP + 0.5) == np.floor(want["end"] / STEP + 0.5)
    assert np.abs(got["end"] - want["end"])[~short].max(initial=0) <= HALF
    assert np.allclose(got["end"][short] - got["start"][short], STEP)
    assert np.abs(got["velocity"].astype(int) - want["velocity"]).max(initial=0) < codec.bin_width


def random_piece(rng, n=300, seconds=60.0, pedal=True):
    start = rng.uniform(0, seconds, n)
    notes = make_notes(rng.integers(21, 109, n), start, start + rng.exponential(0.4, n),
                       velocity=rng.integers(1, 128, n))
    pedals = np.zeros(0, dtype=PEDAL_DTYPE)
    if pedal:
        edges = np.sort(rng.uniform(0, seconds, 20))
        pedals = np.zeros(10, dtype=PEDAL_DTYPE)
        pedals["start"], pedals["end"] = edges[0::2], edges[1::2]
    return Piece(notes=notes, pedals=pedals)


# ------------------------------------------------------------------------------------------- layout
def test_magenta_layout_and_saved_config(codec, tmp_path):
    assert codec.vocab_size == 391
    assert [codec.vocab[i] for i in (0, 127, 128, 255, 256, 355, 356, 387)] == [
        "NOTE_ON_0", "NOTE_ON_127", "NOTE_OFF_0", "NOTE_OFF_127", "TIME_SHIFT_1", "TIME_SHIFT_100",
        "VELOCITY_1", "VELOCITY_32"]
    assert codec.vocab[388:] == ["<pad>", "<s>", "</s>"]
    codec.save(tmp_path / "codec.json")
    import json

    again = codec_from_config(json.loads((tmp_path / "codec.json").read_text()))
    assert again.vocab == codec.vocab and again.fingerprint() == codec.fingerprint()
    for key in ("steps_per_second", "max_shift_steps", "velocity_bins", "min_pitch", "max_pitch", "sustain",
                "max_note_seconds", "transpose", "stretch"):
        assert key in codec.config


def test_options_change_vocab_and_fingerprint(codec):
    small = get_codec("performance", min_pitch=21, max_pitch=108, velocity_bins=16, max_shift_steps=50)
    assert small.vocab_size == 88 * 2 + 50 + 16 + 3
    assert small.fingerprint() != codec.fingerprint()
    with pytest.raises(InvalidArgument, match="unknown performance codec option"):
        get_codec("performance", steps=3)
    with pytest.raises(InvalidArgument, match="min_pitch"):
        get_codec("performance", min_pitch=90, max_pitch=80)


def test_magenta_example_tokens(codec):
    piece = Piece(notes=make_notes([60, 64, 67], [0, 0, 1], [4, 3, 2], velocity=100))
    assert codec.format_tokens(codec.encode(piece)) == (
        "VELOCITY_25 NOTE_ON_60 NOTE_ON_64 TIME_SHIFT_100 NOTE_ON_67 TIME_SHIFT_100 NOTE_OFF_67 "
        "TIME_SHIFT_100 NOTE_OFF_64 TIME_SHIFT_100 NOTE_OFF_60")


def test_long_gaps_are_repeated_full_shifts(codec):
    piece = Piece(notes=make_notes([60, 62], [0.0, 2.5], [2.5, 4.5], velocity=64))
    assert codec.format_tokens(codec.encode(piece)) == (
        "VELOCITY_16 NOTE_ON_60 TIME_SHIFT_100 TIME_SHIFT_100 TIME_SHIFT_50 NOTE_OFF_60 NOTE_ON_62 "
        "TIME_SHIFT_100 TIME_SHIFT_100 NOTE_OFF_62")


def test_velocity_only_when_bin_changes(codec):
    piece = Piece(notes=make_notes([60, 62, 64], [0.0, 0.1, 0.2], [0.3, 0.3, 0.3], velocity=[100, 98, 30]))
    names = codec.tokens(codec.encode(piece))
    assert [t for t in names if t.startswith("VELOCITY")] == ["VELOCITY_25", "VELOCITY_8"]
    assert codec.decode(codec.encode(piece)).notes["velocity"].tolist() == [97, 97, 29]


def test_without_velocity_bins_decodes_default_velocity():
    codec = get_codec("performance", velocity_bins=0)
    assert codec.vocab_size == 356 + 3
    piece = Piece(notes=make_notes([60], [0.0], [1.0], velocity=20))
    assert codec.decode(codec.encode(piece)).notes["velocity"].tolist() == [100]


# ------------------------------------------------------------------------------------------- fidelity
@pytest.mark.parametrize("seed", range(5))
def test_round_trip_fidelity_on_generated_pieces(codec, seed):
    assert_faithful(codec, random_piece(np.random.default_rng(seed)))


def test_sustain_is_folded_in_and_can_be_switched_off(codec):
    pedal = np.array([(0.5, 3.0, 0)], dtype=PEDAL_DTYPE)
    piece = Piece(notes=make_notes([60], [0.0], [1.0]), pedals=pedal)
    assert codec.decode(codec.encode(piece)).notes["end"].tolist() == [3.0]
    dry = get_codec("performance", sustain=False)
    assert dry.decode(dry.encode(piece)).notes["end"].tolist() == [1.0]


@needs_maestro
@pytest.mark.parametrize("path", MAESTRO, ids=lambda p: p.name)
def test_fidelity_on_real_performances(codec, path):
    piece = Piece.read(path)
    assert len(piece.pedals) > 0
    assert_faithful(codec, piece)
    (encoded,) = codec.encode_file(path)
    assert np.array_equal(encoded, codec.encode(piece))


# ------------------------------------------------------------------------------------------- awkward cases
def decoded(codec, piece):
    return [(int(n["pitch"]), round(float(n["start"]), 6), round(float(n["end"]), 6))
            for n in notes_by_pitch(codec.decode(codec.encode(piece)).notes)]


def test_same_pitch_overlaps_end_at_the_restrike(codec):
    nested = Piece(notes=make_notes([60, 60], [0.0, 1.0], [3.0, 2.0]))
    assert decoded(codec, nested) == [(60, 0.0, 1.0), (60, 1.0, 2.0)]
    crossing = Piece(notes=make_notes([60, 60], [0.0, 1.0], [2.0, 3.0]))
    assert decoded(codec, crossing) == [(60, 0.0, 1.0), (60, 1.0, 3.0)]
    same_onset = Piece(notes=make_notes([60, 60], [1.0, 1.0], [1.5, 2.5]))
    assert decoded(codec, same_onset) == [(60, 1.0, 2.5)]


def test_zero_length_and_tiny_notes_last_one_step(codec):
    piece = Piece(notes=make_notes([60, 62], [1.0, 2.0], [1.0, 2.002]))
    assert decoded(codec, piece) == [(60, 1.0, 1.01), (62, 2.0, 2.01)]


def test_note_the_file_never_ends_is_left_out_by_the_reader(codec, tmp_path):
    mf = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mf.tracks.append(track)
    track.append(mido.Message("note_on", note=60, velocity=80, time=0))  # never released
    track.append(mido.Message("note_on", note=64, velocity=80, time=0))
    track.append(mido.Message("note_off", note=64, velocity=0, time=480))
    mf.save(tmp_path / "open.mid")
    (ids,) = codec.encode_file(tmp_path / "open.mid")
    assert codec.format_tokens(ids) == "VELOCITY_20 NOTE_ON_64 TIME_SHIFT_50 NOTE_OFF_64"


def test_simultaneous_events_offs_before_ons_then_by_pitch(codec):
    piece = Piece(notes=make_notes([67, 60, 64, 72], [0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0], velocity=64))
    assert codec.format_tokens(codec.encode(piece)) == (
        "VELOCITY_16 NOTE_ON_60 NOTE_ON_67 TIME_SHIFT_50 NOTE_OFF_60 NOTE_OFF_67 NOTE_ON_64 NOTE_ON_72 "
        "TIME_SHIFT_50 NOTE_OFF_64 NOTE_OFF_72")


def test_drums_left_out_and_programs_merged(codec):
    notes = make_notes([60, 36, 48], [0.0, 0.0, 0.5], [1.0, 0.2, 1.0], program=[0, 0, 40],
                       is_drum=[False, True, False], track=[0, 1, 2])
    out = codec.decode(codec.encode(Piece(notes=notes)))
    assert out.notes["pitch"].tolist() == [60, 48]
    assert set(out.notes["program"].tolist()) == {0} and not out.notes["is_drum"].any()
    drums_only = Piece(notes=make_notes([36], [0.0], [0.2], is_drum=True))
    assert len(codec.encode(drums_only)) == 0


def test_pitches_outside_the_range_are_left_out():
    codec = get_codec("performance", min_pitch=21, max_pitch=108)
    piece = Piece(notes=make_notes([10, 60, 120], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]))
    assert codec.decode(codec.encode(piece)).notes["pitch"].tolist() == [60]


def test_very_long_piece_keeps_absolute_time(codec):
    rng = np.random.default_rng(7)
    piece = random_piece(rng, n=60_000, seconds=3 * 3600.0, pedal=False)
    ids = codec.encode(piece)
    assert ids.dtype == np.int32 and len(ids) > 120_000
    out = codec.decode(ids)
    assert len(out.notes) == len(codec.prepare(piece).notes)
    assert abs(out.notes["start"].max() - piece.notes["start"].max()) <= HALF


def test_tempo_changes_are_harmless(codec, tmp_path):
    notes = make_notes([60, 62, 64, 65], [0.0, 1.0, 2.0, 3.0], [0.9, 1.9, 2.9, 3.9], velocity=80)
    steady = Piece(notes=notes)
    changing = Piece(notes=notes, tempos=np.array([(0.0, 60.0), (1.5, 200.0), (2.5, 90.0)],
                                                  dtype=[("time", "f8"), ("qpm", "f8")]))
    steady.write_midi(tmp_path / "steady.mid")
    changing.write_midi(tmp_path / "changing.mid")
    assert len(Piece.read(tmp_path / "changing.mid").tempos) == 3
    (a,) = codec.encode_file(tmp_path / "steady.mid")
    (b,) = codec.encode_file(tmp_path / "changing.mid")
    assert np.array_equal(a, b)
    assert np.allclose(codec.decode(b).notes["start"], notes["start"])


# ------------------------------------------------------------------------------------------- decoding anything
def test_fifo_note_off_closes_oldest(codec):
    out = codec.decode(tok(codec, "NOTE_ON_60 TIME_SHIFT_10 VELOCITY_1 NOTE_ON_60 TIME_SHIFT_10 NOTE_OFF_60 "
                                  "TIME_SHIFT_30 NOTE_OFF_60"))
    assert [(n["start"], n["end"], n["velocity"]) for n in out.notes] == [
        (0.0, 0.2, 100), (0.1, 0.5, 1)]


def test_stray_offs_specials_and_unknown_ids_ignored(codec):
    ids = [codec.bos_id, codec.index["NOTE_OFF_60"], -4, 10_000, codec.index["NOTE_ON_60"],
           codec.index["TIME_SHIFT_20"], codec.index["NOTE_OFF_60"], codec.pad_id, codec.eos_id]
    out = codec.decode(ids)
    assert [(n["pitch"], n["start"], n["end"]) for n in out.notes] == [(60, 0.0, 0.2)]
    assert any("note-offs with no open note" in w for w in out.warnings)
    assert any("outside the vocabulary" in w for w in out.warnings)


def test_open_notes_close_at_sequence_end_or_max_length(codec):
    short = codec.decode(tok(codec, "NOTE_ON_60 TIME_SHIFT_50"))
    assert [(n["start"], n["end"]) for n in short.notes] == [(0.0, 0.5)]
    assert short.warnings == ["1 notes still sounding at the end, ended there"]  # cut by the end, not stuck
    long = codec.decode(tok(codec, "NOTE_ON_60 " + "TIME_SHIFT_100 " * 20))
    assert [(n["start"], n["end"]) for n in long.notes] == [(0.0, 5.0)]
    assert long.warnings == ["1 notes never ended, closed after 5 s"]
    assert len(codec.decode(tok(codec, "TIME_SHIFT_5 NOTE_ON_60")).notes) == 0  # no length at all


def test_decode_odd_inputs(codec):
    assert len(codec.decode([]).notes) == 0
    assert len(codec.decode(np.array([[60, 300], [188, 60]])).notes) == 1
    assert len(codec.decode([60, 2 ** 80, 300.0, float("nan"), None, "x", 188]).notes) == 1
    assert len(codec.decode(i for i in (60, 300, 188)).notes) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 395), max_size=400))
def test_decoding_any_ids_gives_a_valid_piece(ids):
    codec = get_codec("performance")
    piece = codec.decode(ids)
    n = piece.notes
    assert (n["end"] > n["start"]).all(), "a note without length"
    assert ((n["end"] - n["start"]) <= 100 * len(ids) * STEP + 1e-9).all()
    clock = sum(i - 255 for i in ids if 256 <= i <= 355) * STEP
    assert (n["end"] <= clock + 1e-9).all(), "a note left sounding past the end"
    assert ((n["velocity"] >= 1) & (n["velocity"] <= 127)).all()


# ------------------------------------------------------------------------------------------- augmentation
def test_transpose_and_skip_out_of_range(codec):
    ids = tok(codec, "VELOCITY_10 NOTE_ON_60 TIME_SHIFT_10 NOTE_OFF_60 <s>")
    assert codec.format_tokens(codec.transpose_ids(ids, 3)) == "VELOCITY_10 NOTE_ON_63 TIME_SHIFT_10 NOTE_OFF_63 <s>"
    high = tok(codec, "NOTE_ON_126 TIME_SHIFT_10 NOTE_OFF_126")
    assert np.array_equal(codec.transpose_ids(high, 3), high)


def test_stretch_keeps_length_and_scales_time(codec):
    rng = np.random.default_rng(3)
    ids = codec.encode(random_piece(rng, n=80, seconds=20, pedal=False))[:300]
    for factor in (0.95, 1.05, 0.5, 2.0):
        out = codec.stretch_ids(ids, factor)
        assert len(out) == len(ids)
        a, b = codec.decode(ids).notes, codec.decode(out).notes
        k = min(len(a), len(b)) // 2  # the cut end of a grown window may lose its last notes
        assert np.abs(np.sort(b["start"])[:k] - np.sort(a["start"])[:k] * factor).max() <= STEP / 2 + 1e-9


def test_augment_is_seeded_and_keeps_specials(codec):
    ids = np.concatenate([[codec.bos_id], codec.encode(random_piece(np.random.default_rng(1), 50, 10)),
                          [codec.eos_id]]).astype(np.int64)[:200]
    a = codec.augment(ids, np.random.default_rng(5))
    b = codec.augment(ids, np.random.default_rng(5))
    assert np.array_equal(a, b) and len(a) == len(ids) and a[0] == codec.bos_id
    outs = {codec.augment(ids, np.random.default_rng(s)).tobytes() for s in range(10)}
    assert len(outs) > 1


# ------------------------------------------------------------------------------------------- files
def test_iter_file_reports_bad_files(codec, tmp_path):
    (tmp_path / "text.mid").write_text("hello")
    (tmp_path / "empty.mid").write_bytes(b"")
    for name in ("text.mid", "empty.mid"):
        report = codec.encode_file_report(tmp_path / name)
        assert not report.encoded and len(report.skipped) == 1
    assert "not a MIDI file" in codec.encode_file_report(tmp_path / "text.mid").skipped[0].reason
    assert "empty file" in codec.encode_file_report(tmp_path / "empty.mid").skipped[0].reason


@needs_broken
@pytest.mark.parametrize("path", BROKEN_MIDI, ids=lambda p: p.name)
def test_shared_broken_files_never_raise(codec, path):
    report = codec.encode_file_report(path)
    assert report.encoded or report.skipped[0].reason
