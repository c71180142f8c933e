"""Performance RNN conditioning: grouped (by-piece) splits, the note-density and pitch-class controls,
and a conditioned model that samples with and without them."""
from __future__ import annotations

import numpy as np
import pretty_midi
import pytest
import torch

from conftest import SHARED_CORPORA
from studio.codecs import get_codec
from studio.codecs.performance_controls import (CONTROL_SIZE, DENSITY_SLOTS, HISTOGRAM_SLOTS, control_vector,
                                                scale_histogram)
from studio.corpus.store import Corpus, write_corpus
from studio.errors import InvalidArgument
from studio.generation import Generation, Settings
from studio.generation.stepper import FastStepper
from studio.music import Piece
from studio.music.piece import NOTE_DTYPE
from studio.nn import load_model
from studio.nn.model import ModelConfig, SequenceModel
from studio.training import Trainer, make_config

C_MAJOR = [60, 62, 64, 65, 67, 69, 71]

# Real ASAP file names (Composer__Group__Piece__Performer): several performers of one piece.
ASAP_NAMES = [
    "Bach__Fugue__bwv_848__Denisova06M", "Bach__Fugue__bwv_848__Lee01M", "Bach__Fugue__bwv_848__Lou01M",
    "Bach__Fugue__bwv_854__LuA01M", "Bach__Fugue__bwv_854__Ozaki01M", "Bach__Fugue__bwv_857__Lan01M",
    "Bach__Fugue__bwv_857__WangA01M", "Bach__Fugue__bwv_860__Ko04M", "Bach__Fugue__bwv_860__ZhangH04M",
    "Bach__Fugue__bwv_863__LeeN01M", "Bach__Fugue__bwv_863__TongB01M", "Bach__Fugue__bwv_865__Teo01M",
    "Bach__Fugue__bwv_865__ZhangE01M", "Bach__Fugue__bwv_867__HuNY01M", "Bach__Fugue__bwv_867__Sham01M",
    "Bach__Fugue__bwv_870__ChenW01M", "Bach__Fugue__bwv_870__LeeE01M", "Bach__Fugue__bwv_870__MaximovI01M",
]


def scale_piece(rate: float = 8.0, seconds: float = 20.0, pitches=C_MAJOR, length: float = 0.1) -> Piece:
    n = int(rate * seconds)
    notes = np.zeros(n, dtype=NOTE_DTYPE)
    notes["pitch"] = [pitches[i % len(pitches)] for i in range(n)]
    notes["start"] = np.arange(n) / rate
    notes["end"] = notes["start"] + length
    notes["velocity"] = 80
    return Piece(notes=notes)


def write_midi(path, pitch: int, notes: int = 12) -> None:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    for i in range(notes):
        inst.notes.append(pretty_midi.Note(velocity=70, pitch=pitch + i % 5, start=i * 0.25, end=i * 0.25 + 0.2))
    pm.instruments.append(inst)
    pm.write(str(path))


# ------------------------------------------------------------------------------------------ grouped split
def test_group_split_keeps_every_performance_of_a_piece_in_one_split(tmp_path, studio_cli):
    folder = tmp_path / "performances"
    folder.mkdir()
    for i, name in enumerate(ASAP_NAMES):
        write_midi(folder / f"{name}.mid", 40 + i)  # every performance different, so hashes differ
    pattern = "^(.*)__"
    r = studio_cli("corpus", "add", "asapish", "--codec", "performance", str(folder), "--group", pattern,
                   "--workers", "1")
    assert r.returncode == 0, r.stderr
    corpus = Corpus.open("asapish")
    splits: dict[str, set] = {}
    for row, record in zip(corpus.pieces["split"], corpus.records()):
        assert record["group"] == record["label"].rsplit("/", 1)[-1].rsplit("__", 1)[0]
        splits.setdefault(record["group"], set()).add(int(row))
    assert len(splits) == 8
    assert all(len(s) == 1 for s in splits.values()), splits  # no piece in two splits
    shown = studio_cli("corpus", "show", "asapish")
    assert "by group" in shown.stdout and "groups" in shown.stdout
    # adding more files keeps the rule; asking for another rule needs --replace
    r = studio_cli("corpus", "add", "asapish", str(folder), "--group", "^(.*)")
    assert r.returncode == 2 and "--replace" in r.stderr


def test_group_split_with_large_held_out_shares():
    codec = get_codec("performance")
    arrays = [codec.encode(scale_piece(rate=2 + i, seconds=2)) for i in range(len(ASAP_NAMES))]
    corpus = write_corpus("grouped", codec, arrays, labels=[f"/music/{n}.mid" for n in ASAP_NAMES],
                          split={"group": "^(.*)__", "valid": 0.3, "test": 0.3})
    by_group: dict[str, set] = {}
    for row, record in zip(corpus.pieces["split"], corpus.records()):
        by_group.setdefault(record["group"], set()).add(int(row))
    assert all(len(s) == 1 for s in by_group.values())
    assert len(set().union(*by_group.values())) >= 2  # the groups do land in different splits
    assert sum(v.get("groups", 0) for v in corpus.stats["splits"].values()) == 8


def test_group_split_on_the_real_asap_names():
    manifest = SHARED_CORPORA / "asap" / "MANIFEST.tsv"
    if not manifest.exists():
        pytest.skip(f"ASAP manifest not found under {SHARED_CORPORA}")
    from studio.corpus.store import group_key, split_of
    import hashlib

    names = [line.split("\t")[0] for line in manifest.read_text().splitlines()[1:] if line.strip()]
    split_by_group: dict[str, set] = {}
    for name in names:
        key = group_key(name, "^(.*)__")
        split_by_group.setdefault(key, set()).add(split_of(hashlib.sha256(key.encode()).hexdigest()))
    assert len(names) == 902 and 150 < len(split_by_group) < 260
    assert all(len(s) == 1 for s in split_by_group.values())
    assert {0, 1, 2} <= set().union(*split_by_group.values())


# ------------------------------------------------------------------------------------------ control features
def features_of(piece: Piece) -> np.ndarray:
    codec = get_codec("performance")
    ids = np.concatenate([[codec.bos_id], codec.encode(piece), [codec.eos_id]])
    return codec.controls.features(ids)


@pytest.mark.parametrize("rate", [2.0, 8.0, 20.0])
def test_note_density_of_a_known_note_rate(rate):
    f = features_of(scale_piece(rate=rate, seconds=20))
    density = 2 ** (f[:, 9] * 6) - 1
    middle = density[len(density) // 8: len(density) // 2]  # away from the end, where the window shortens
    assert np.median(middle) == pytest.approx(rate, rel=0.05)
    bins = f[:, 1:9].argmax(1)
    assert (f[:, 1:9].sum(1) == 1).all()
    assert np.median(bins[len(bins) // 8: len(bins) // 2]) == np.searchsorted([1, 2, 4, 8, 16, 32, 64], rate, "right")


def test_pitch_histogram_of_a_known_scale():
    f = features_of(scale_piece(rate=7.0, seconds=20))  # each scale note once a second, equal lengths
    hist = f[len(f) // 4, 11:]
    assert hist.sum() == pytest.approx(1.0, abs=1e-5)
    in_scale = [pc % 12 for pc in C_MAJOR]
    assert hist[in_scale].sum() > 0.98  # the rest is Magenta's 0.01 prior per class
    assert np.allclose(hist[in_scale], 1 / 7, atol=0.01)
    # notes already sounding when a window starts count too: one long held E under silence
    long_e = Piece(notes=np.array([(64, 0.0, 4.0, 80, 0, 0, False)], dtype=NOTE_DTYPE))
    g = features_of(long_e)
    assert g[len(g) // 2, 11 + 4] > 0.9


def test_control_vector_presets_and_absence():
    assert scale_histogram("C", "major") == [1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1]
    assert scale_histogram("A", "minor") == scale_histogram("C", "major")
    v = control_vector(note_density=3)
    assert v[0] == 1 and v[1 + 2] == 1 and not v[HISTOGRAM_SLOTS].any()
    v = control_vector(pitch_histogram=scale_histogram("D", "major pentatonic"))
    assert not v[DENSITY_SLOTS].any() and v[10] == 1 and v[11:].sum() == pytest.approx(1)
    assert not control_vector().any()
    with pytest.raises(InvalidArgument):
        control_vector(pitch_histogram=[1, 2, 3])
    with pytest.raises(InvalidArgument):
        control_vector(note_density=-1)


# ------------------------------------------------------------------------------------------ the model
def test_stepper_with_controls_matches_the_model():
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(vocab_size=391, layers=2, units=16, embedding=0, control_size=CONTROL_SIZE))
    stepper = FastStepper(model)
    tokens = torch.randint(0, 388, (3, 9))
    controls = torch.from_numpy(np.stack([control_vector(3), control_vector(None, [1] * 12), control_vector()]))
    full, _ = model(tokens, None, controls)
    state = stepper.initial_state(3)
    gates = stepper.control_gates(controls)
    for t in range(tokens.shape[1]):
        logits = stepper.step(tokens[:, t], state, None, gates)
        assert torch.allclose(logits, full[:, t], atol=1e-5)


@pytest.fixture
def conditioned_model(tmp_path):
    codec = get_codec("performance")
    rng = np.random.default_rng(0)
    pieces = [codec.encode(scale_piece(rate=float(rng.choice([2, 6, 12])), seconds=8,
                                       pitches=[p + int(rng.integers(0, 12)) for p in C_MAJOR])) for _ in range(12)]
    corpus = write_corpus("scales", codec, pieces, split={"valid": 0.2, "test": 0.0})
    config = make_config("small", layers=1, units=24, embedding=16, dropout=0.0, batch_size=4, seq_len=48,
                         steps=6, eval_every=6, log_every=2, checkpoint_every=6, device="cpu", controls=True)
    Trainer(tmp_path / "model", config, corpus).run()
    return load_model(tmp_path / "model")


def test_conditioned_model_samples_with_and_without_controls(conditioned_model):
    assert conditioned_model.config.control_size == CONTROL_SIZE
    plain = Generation(conditioned_model, 2, Settings(seconds=3, seed=3)).run()
    dense = Generation(conditioned_model, 2, Settings(seconds=3, seed=3, note_density=16)).run()
    scale = Generation(conditioned_model, 2, Settings(seconds=3, seed=3, note_density=4,
                                                      pitch_histogram=scale_histogram("C", "major"))).run()
    assert all(len(c.ids) for c in plain + dense + scale)
    # the same seeds under different controls give different music: the controls reach the model
    assert any(not np.array_equal(a.ids, b.ids) for a, b in zip(plain, dense))
    assert conditioned_model.card["architecture"]["control_size"] == CONTROL_SIZE


def test_live_control_change_applies_from_the_next_step(conditioned_model):
    gen = Generation(conditioned_model, 1, Settings(seed=5, max_tokens=60), endless=False)
    steps = gen.steps()
    for _ in range(20):
        next(steps)
    assert gen.update_settings(note_density=30.0, temperature=0.0) == 1
    for _ in steps:
        pass
    same = Generation(conditioned_model, 1, Settings(seed=5, max_tokens=60)).run()[0]
    assert np.array_equal(np.asarray(gen.sampled[0][:20]), same.ids[:20])
    assert gen.applied == [(1, 20)]
    assert gen.settings.note_density == 30.0
    with pytest.raises(InvalidArgument):
        gen.update_settings(seed=3)


def test_a_model_without_controls_keeps_the_clear_error():
    model = SequenceModel(ModelConfig(vocab_size=391, layers=1, units=8))
    model.codec_config = get_codec("performance").config
    for settings in (Settings(note_density=8), Settings(pitch_histogram=[1] * 12)):
        with pytest.raises(InvalidArgument, match="trained with"):
            Generation(model, 1, settings)


def test_batches_prepared_by_worker_processes_train_the_same_model(tmp_path):
    """`--loader-workers` (for GPUs) moves batch preparation into processes; the run must not change."""
    from studio.corpus.loader import PrefetchedBatches, WindowBatches
    from studio.training.checkpoint import CHECKPOINT, model_weights, read_checkpoint

    codec = get_codec("performance")
    pieces = [codec.encode(scale_piece(rate=rate, seconds=6, pitches=C_MAJOR)) for rate in (2, 5, 9, 12, 3, 7)]
    corpus = write_corpus("scales", codec, pieces, split={"valid": 0.2, "test": 0.0})
    inline = WindowBatches(corpus, "train", 32, 4, controls=True)
    ahead = PrefetchedBatches(WindowBatches(corpus, "train", 32, 4, controls=True), corpus.path, workers=2)
    try:
        for step in (0, 1, 5, 2):  # a jump back (a resume) is served too
            a, b = inline.batch(step), ahead.batch(step)
            assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.controls, b.controls)
    finally:
        ahead.close()
    runs = {}
    for workers in (0, 2):
        config = make_config("small", layers=1, units=16, embedding=8, dropout=0.0, batch_size=4, seq_len=32,
                             steps=4, eval_every=4, log_every=2, checkpoint_every=4, device="cpu", controls=True,
                             loader_workers=workers)
        Trainer(tmp_path / f"w{workers}", config, corpus).run()
        runs[workers] = model_weights(read_checkpoint(tmp_path / f"w{workers}" / CHECKPOINT)[0])
    assert all(torch.equal(runs[0][name], runs[2][name]) for name in runs[0])


def test_an_unprimed_performance_starts_with_a_note(conditioned_model):
    """Recorded performances open with seconds of silence a model learns; a sample (or a jam) must not."""
    codec = get_codec("performance")
    for cand in Generation(conditioned_model, 3, Settings(seconds=2, seed=4)).run():
        first = int(cand.ids[0])
        assert first < codec.note_off0 or first >= codec.velocity0, codec.vocab[first]
