"""The REMI codec: bar/position tokens that keep music on its bars and beats, through import, training,
sampling and MusicXML export."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SHARED_CORPORA, run_studio
from studio.codecs import codec_from_config, get_codec
from studio.codecs.remi import RemiConfig
from studio.errors import InvalidArgument
from studio.music import Piece
from studio.music.piece import TEMPO_DTYPE, TIME_SIGNATURE_DTYPE, make_notes

POP909 = SHARED_CORPORA / "pop909"
needs_pop909 = pytest.mark.skipif(not (POP909 / "001.mid").exists(), reason=f"POP909 not found under {SHARED_CORPORA}")


@pytest.fixture(scope="module")
def codec():
    return get_codec("remi")


def metered_piece(seed: int = 0, notes: int = 60) -> Piece:
    """Three bars of 3/4 at 100 qpm, then 4/4 at 140 qpm from beat 9; piano, bass and drums on the 1/16 grid."""
    rng = np.random.default_rng(seed)
    tempos = np.zeros(2, dtype=TEMPO_DTYPE)
    tempos["qpm"] = [100, 140]
    tempos["time"] = [0, 9 * 60 / 100]
    piece = Piece(tempos=tempos)
    ts = np.zeros(2, dtype=TIME_SIGNATURE_DTYPE)
    ts["time"], ts["numerator"], ts["denominator"] = piece.beats_to_seconds(np.array([0.0, 9.0])), [3, 4], [4, 4]
    piece.time_signatures = ts
    on = rng.integers(0, 25 * 4, notes) / 4  # beats, on the sixteenth grid
    length = rng.integers(1, 12, notes) / 4
    program = rng.choice([0, 33, 0], notes)
    drum = rng.random(notes) < 0.2
    pitch = np.where(drum, rng.integers(35, 60, notes), rng.integers(36, 90, notes))
    n = make_notes(pitch, piece.beats_to_seconds(on), piece.beats_to_seconds(on + length),
                   velocity=rng.integers(20, 127, notes), program=np.where(drum, 0, program), is_drum=drum)
    # No two notes of one instrument and pitch overlap (the codec would end the first at the second).
    order = np.lexsort((n["start"], n["pitch"], n["program"], n["is_drum"]))
    n = n[order]
    same = (n["pitch"][1:] == n["pitch"][:-1]) & (n["program"][1:] == n["program"][:-1]) & (n["is_drum"][1:] == n["is_drum"][:-1])
    clash = np.concatenate([[False], same & (n["start"][1:] < n["end"][:-1] + 1e-9)])
    piece.notes = n[~clash]
    return piece


def by_note(piece: Piece) -> np.ndarray:
    n = piece.notes
    return n[np.lexsort((n["start"], n["pitch"], n["program"], n["is_drum"]))]


# ------------------------------------------------------------------------------------------- config, vocabulary
def test_config_dataclass_round_trips_and_travels_with_the_codec(codec, tmp_path):
    cfg = RemiConfig.from_dict(codec.config)
    assert cfg == RemiConfig() and RemiConfig.from_dict(cfg.to_dict()) == cfg
    codec.save(tmp_path / "codec.json")
    again = codec_from_config(json.loads((tmp_path / "codec.json").read_text()))
    assert again.vocab == codec.vocab and again.fingerprint() == codec.fingerprint()
    assert codec.vocab[-3:] == ["<pad>", "<s>", "</s>"]
    assert {"Bar", "Position_0", "Position_23", "TimeSig_3/4", "Tempo_120", "Program_33", "Pitch_60",
            "PitchDrum_36", "Velocity_32", "Duration_32"} <= set(codec.vocab)
    fine = get_codec("remi", positions_per_beat=12, programs=False)
    assert "Position_71" in fine.vocab and "Program_0" not in fine.vocab and fine.fingerprint() != codec.fingerprint()


def test_bad_options_are_refused_by_name():
    with pytest.raises(InvalidArgument, match="unknown remi codec option.*nonsense"):
        get_codec("remi", nonsense=1)
    with pytest.raises(InvalidArgument, match="7/16"):
        get_codec("remi", positions_per_beat=2, time_signatures=["4/4", "7/16"])  # 3.5 eighths a bar
    with pytest.raises(InvalidArgument, match="tempo_range"):
        get_codec("remi", tempo_range=[200, 100])


# ------------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("seed", range(3))
def test_round_trip_keeps_bars_beats_instruments_and_tempo(codec, seed):
    piece = metered_piece(seed)
    ids = codec.encode(piece)
    tokens = codec.tokens(ids)
    assert tokens[:4] == ["Bar", "TimeSig_3/4", "Position_0", "Tempo_100"]
    assert "TimeSig_4/4" in tokens and "Tempo_140" in tokens and "Program_33" in tokens
    assert tokens[tokens.index("TimeSig_4/4") - 1] == "Bar"  # a meter change comes right after its bar line
    out = codec.decode(ids)
    assert out.warnings == []
    want, got = by_note(piece), by_note(out)
    assert len(got) == len(want)
    for col in ("pitch", "program", "is_drum"):
        assert (got[col] == want[col]).all()
    np.testing.assert_allclose(out.seconds_to_beats(got["start"]), piece.seconds_to_beats(want["start"]), atol=1e-9)
    np.testing.assert_allclose(out.seconds_to_beats(got["end"]), piece.seconds_to_beats(want["end"]), atol=1e-9)
    np.testing.assert_allclose(got["start"], want["start"], atol=1e-9)  # whole-qpm tempos: seconds exact too
    assert (np.abs(got["velocity"].astype(int) - want["velocity"]) <= 2).all()
    assert out.tempos["qpm"].tolist() == [100, 140]
    assert [(int(n), int(d)) for n, d in zip(out.time_signatures["numerator"], out.time_signatures["denominator"])] == [(3, 4), (4, 4)]
    np.testing.assert_allclose(out.time_signatures["time"], piece.time_signatures["time"], atol=1e-9)
    assert len(set(got["track"].tolist())) == 3  # piano, bass, drums on their own tracks
    assert (codec.encode(out) == ids).all()


def test_off_grid_notes_move_to_the_nearest_position_and_overlaps_end_at_the_restrike(codec):
    piece = Piece(notes=make_notes([60, 60, 60, 64], [0.0, 0.26, 0.26, 1.1], [0.4, 0.5, 2.0, 9.9]))  # 120 qpm
    out = codec.decode(codec.encode(piece))
    beats = out.seconds_to_beats(out.notes["start"])
    assert beats.tolist() == [0.0, 0.5, 2.25]  # of the two notes at one step only the longer (to 4 beats) is kept
    assert out.seconds_to_beats(out.notes["end"]).tolist() == [0.5, 4.0, 2.25 + 8.0]  # the last cut to 8 beats


def test_time_signatures_outside_the_list_are_ignored_with_a_warning(codec, tmp_path):
    piece = metered_piece(0)
    piece.time_signatures["numerator"][0], piece.time_signatures["denominator"][0] = 1, 4
    path = tmp_path / "odd.mid"
    piece.write_midi(path)
    (item,) = list(codec.iter_file(path))
    assert any("1/4" in w and "ignored" in w for w in item.warnings)
    assert codec.tokens(item.ids)[:2] == ["Bar", "TimeSig_4/4"]


@needs_pop909
def test_round_trip_on_a_real_pop909_song(codec):
    import pretty_midi

    path = POP909 / "001.mid"
    (ids,) = codec.encode_file(path)
    out = codec.decode(ids)
    original = pretty_midi.PrettyMIDI(str(path))  # an independent reader for the original's beats
    notes = sorted((n.pitch, original.time_to_tick(n.start) / original.resolution)
                   for inst in original.instruments for n in inst.notes)
    got = sorted(zip(out.notes["pitch"].tolist(), np.asarray(out.seconds_to_beats(out.notes["start"])).tolist()))
    assert 0.97 * len(notes) <= len(got) <= len(notes)  # notes doubled by two tracks on one step merge
    for pitch in {p for p, _ in notes}:  # every original onset has a decoded one of its pitch within half a step
        want = np.array([b for p, b in notes if p == pitch])
        have = np.array([b for p, b in got if p == pitch])
        assert np.abs(want[:, None] - have[None, :]).min(axis=1).max() <= 0.125 + 1e-9
    assert out.tempos["qpm"].tolist() == [90.0] and out.time_signatures["numerator"].tolist() == [2]
    assert (codec.encode(out) == ids).all()


# ------------------------------------------------------------------------------------------- any ids decode
def test_decode_odd_inputs(codec):
    note = [codec.index[t] for t in ("Bar", "Position_4", "Pitch_60", "Velocity_20", "Duration_4")]
    assert len(codec.decode([]).notes) == 0
    assert len(codec.decode(np.array([note[:2], note[2:4]])).notes) == 1
    assert len(codec.decode(note + [2 ** 80, 3.5, float("nan"), None, "x", -1]).notes) == 1
    assert len(codec.decode(i for i in note).notes) == 1
    assert len(codec.decode("not ids").notes) == 0
    lonely = codec.decode([codec.index["Pitch_60"], codec.index["Duration_3"], codec.index["Velocity_3"]])
    assert lonely.notes["velocity"].tolist() == [100] and lonely.warnings


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-3, 600), max_size=300))
def test_decoding_any_ids_gives_a_metered_piece(ids):
    codec = get_codec("remi")
    piece = codec.decode(ids)
    n = piece.notes
    assert (n["end"] > n["start"]).all()
    assert ((n["velocity"] >= 1) & (n["velocity"] <= 127)).all()
    steps = np.asarray(piece.seconds_to_beats(n["start"])) * codec.res
    assert np.allclose(steps, np.round(steps), atol=1e-6), "every onset on the grid"
    assert len(piece.time_signatures) >= 1 and (piece.tempos["qpm"] > 0).all()


# ------------------------------------------------------------------------------------------- augmentation
def test_transposition_moves_pitches_not_drums(codec):
    ids = codec.encode(metered_piece(1))
    up = codec.transpose_ids(ids, 2)
    tokens, moved = codec.tokens(ids), codec.tokens(up)
    for a, b in zip(tokens, moved):
        if a.startswith("Pitch_"):
            assert int(b[6:]) == int(a[6:]) + 2
        else:
            assert a == b
    high = codec.encode(Piece(notes=make_notes([107], [0.0], [1.0])))
    assert (codec.transpose_ids(high, 3) == high).all()  # would leave the range: unchanged
    rng = np.random.default_rng(0)
    assert len(codec.augment(ids, rng)) == len(ids)


# ------------------------------------------------------------------------------------------- notation
def test_decoded_piece_exports_musicxml_with_whole_measures(codec, tmp_path):
    import music21

    out = tmp_path / "piece.musicxml"
    codec.write_decoded(codec.encode(metered_piece(2, notes=30)), out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = music21.converter.parse(str(out))
    for part in score.parts:
        measures = list(part.getElementsByClass(music21.stream.Measure))
        assert measures
        signatures = [ts.ratioString for ts in part.recurse().getElementsByClass(music21.meter.TimeSignature)]
        assert signatures[:2] == ["3/4", "4/4"]
        for m in measures[:-1]:
            assert m.duration.quarterLength == m.barDuration.quarterLength, f"measure {m.number} is not whole"
        assert [m.barDuration.quarterLength for m in measures[:4]] == [3.0, 3.0, 3.0, 4.0]


# ------------------------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_import_train_and_sample_end_to_end(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    for seed in range(6):
        metered_piece(seed).write_midi(folder / f"song{seed}.mid")
    (folder / "broken.mid").write_bytes(b"MThd nonsense")
    add = run_studio("corpus", "add", "metered", "--codec", "remi", folder)
    assert add.returncode == 0, add.stderr
    assert "6 pieces" in add.stdout and "1 skipped" in add.stdout
    model = tmp_path / "model"
    train = run_studio("train", "--corpus", "metered", "--out", model, "--steps", "3", "--layers", "1", "--units", "16",
                       "--embedding", "8", "--batch", "4", "--seq-len", "16", "--eval-every", "3", "--device", "cpu")
    assert train.returncode == 0, train.stderr
    assert "finished at step 3" in train.stdout
    gen = run_studio("generate", "--model", model, "-n", "2", "-o", tmp_path / "out", "--max-tokens", "60", "--device", "cpu")
    assert gen.returncode == 0, gen.stderr
    record = json.loads((tmp_path / "out" / "generation.json").read_text())
    assert len(record["candidates"]) == 2
    made = sorted((tmp_path / "out").glob("*.mid"))
    assert len(made) == 2
    for path in made:
        piece = Piece.read(path)
        steps = np.asarray(piece.seconds_to_beats(piece.notes["start"])) * 4
        assert np.allclose(steps, np.round(steps), atol=1e-3)  # sampled notes sit on the grid


# ------------------------------------------------------------------------------------------- sampling rules
def test_sampling_rules_count_bars_and_end_before_the_bar_after_the_last(codec):
    """A length in bars: each `Bar` after the first closes one; the `Bar` that would open bar N+1 is dropped."""
    rules = codec.rules()
    assert codec.unit == "bars" and "bars" in rules.settings and "seconds" not in rules.settings
    ids = codec.encode(metered_piece(3, notes=40))
    clock = {name: np.zeros(1, dtype=bool if kind == "bool" else np.int64) for name, kind in rules.clock_fields.items()}
    tables = rules.clock_tables()
    reached = []
    for token in ids.tolist():
        rules.advance(clock, np.array([token]), tables)
        reached.append(int(clock["clock"][0]))
    bars = int((ids == codec.index["Bar"]).sum())
    assert reached[-1] == bars - 1  # the last bar has no Bar after it
    stop = reached.index(2) + 1  # where a sampler asked for 2 bars stops
    kept = rules.finish(ids[:stop], 2)
    assert int((kept == codec.index["Bar"]).sum()) == 2
    decoded = codec.decode(kept)
    assert decoded.seconds_to_beats(float(decoded.notes["start"].max())) < 3 + 3  # two 3/4 bars
