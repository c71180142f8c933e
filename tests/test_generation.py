"""Generation: reproducible seeded sampling, folk and performance controls, continue/regenerate on real
pieces, streaming and endless modes, evaluation of samples, and the commands. Models are small and
randomly initialised (sampling behaviour does not depend on training quality)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import EXAMPLE_ABC, MAESTRO, run_studio
from studio.codecs import get_codec
from studio.errors import InvalidArgument
from studio.generation import Generation, Settings, generate
from studio.generation.edit import bar_ends, continue_piece, regenerate
from studio.generation.endless import EndlessGeneration
from studio.codecs.folk.report import folk_report
from studio.codecs.performance import never_ended
from studio.codecs.report import NgramIndex
from studio.generation.output import write_candidates
from studio.codecs.folk.rules import FolkRules
from studio.music import Piece
from studio.music.abc_io import read_abc_tunes
from studio.nn import ModelConfig, SequenceModel, load_model, save_model


def make_model(tmp_path_factory, codec_name: str, cell: str = "lstm"):
    codec = get_codec(codec_name)
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp(f"{codec_name}-{cell}")
    save_model(SequenceModel(ModelConfig(vocab_size=codec.vocab_size, cell=cell, layers=2, units=32)), directory,
               codec.config)
    return directory


@pytest.fixture(scope="module")
def perf_dir(tmp_path_factory):
    return make_model(tmp_path_factory, "performance")


@pytest.fixture(scope="module")
def folk_dir(tmp_path_factory):
    return make_model(tmp_path_factory, "folk")


@pytest.fixture(scope="module")
def perf(perf_dir):
    return load_model(perf_dir)


@pytest.fixture(scope="module")
def folk(folk_dir):
    return load_model(folk_dir)


def ids_of(candidates):
    return [c.ids.tolist() for c in candidates]


def same_pitch_overlaps(notes: np.ndarray) -> int:
    order = np.lexsort((notes["start"], notes["pitch"]))
    n = notes[order]
    same = n["pitch"][1:] == n["pitch"][:-1]
    return int((same & (n["start"][1:] < n["end"][:-1] - 1e-9)).sum())


# ---------------------------------------------------------------------------------------------- seeds
@pytest.mark.parametrize("which", ["perf", "folk"])
def test_same_seed_same_piece_byte_for_byte_and_other_seeds_differ(which, request, tmp_path):
    model = request.getfixturevalue(which)
    model_dir = request.getfixturevalue(f"{which}_dir")
    settings = Settings(seed=11, seconds=4.0) if which == "perf" else Settings(seed=11, bars=8)
    first, second = generate(model, 4, settings), generate(model, 4, settings)
    assert ids_of(first) == ids_of(second)
    assert len({tuple(i) for i in ids_of(first)}) == 4  # four seeds, four different pieces
    assert ids_of(generate(model, 4, Settings(**{**settings.__dict__, "seed": 99}))) != ids_of(first)
    codec = get_codec("performance" if which == "perf" else "folk")
    a = write_candidates(tmp_path / "a", first, settings, model_dir, codec, "test")
    b = write_candidates(tmp_path / "b", second, settings, model_dir, codec, "test")
    for ra, rb in zip(a["candidates"], b["candidates"]):
        for name in ra["files"]:
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_candidate_is_reproduced_alone_from_its_seed(perf):
    batch = generate(perf, 5, Settings(seed=40, seconds=3.0))
    alone = Generation(perf, settings=Settings(seed=40, seconds=3.0), seeds=[43]).run()
    assert alone[0].ids.tolist() == batch[3].ids.tolist()


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_fast_stepper_matches_the_model_for_every_cell(cell, tmp_path_factory):
    from studio.generation.stepper import FastStepper

    model = load_model(make_model(tmp_path_factory, "folk", cell))
    tokens = torch.randint(0, 100, (3, 12))
    logits, _ = model(tokens)
    stepper = FastStepper(model)
    state = stepper.initial_state(3)
    for t in range(12):
        step_logits = stepper.step(tokens[:, t], state)
        assert torch.allclose(step_logits, logits[:, t], atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_model_stored_in_float16_steps_with_half_products_and_the_same_logits(cell):
    """Shipped models are stored in float16: the stepper reads their weights as packed halves (twice as
    fast on the CPU) and must still give the model's logits; a float32 model keeps float32 products."""
    from studio.generation.stepper import FastStepper, _packed_half_available

    torch.manual_seed(1)
    model = SequenceModel(ModelConfig(vocab_size=60, cell=cell, layers=3, units=32, embedding=8)).eval()
    assert FastStepper(model).packed_half is False
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    stepper = FastStepper(model)
    if not _packed_half_available():
        pytest.skip("fbgemm's packed-float16 product does not run here (it needs AVX2)")
    assert stepper.packed_half is True
    tokens = torch.randint(0, 60, (4, 15))
    logits, _ = model(tokens)
    state = stepper.initial_state(4)
    mask = torch.zeros(60)
    mask[7] = float("-inf")
    for t in range(15):
        assert torch.allclose(stepper.step(tokens[:, t], state), logits[:, t], atol=1e-4)
    assert stepper.step(tokens[:, 0], state, head_bias=model.head.bias.detach() + mask)[:, 7].eq(float("-inf")).all()


def test_the_stepper_is_built_once_per_model_until_its_weights_change():
    from studio.generation.stepper import stepper_for

    model = SequenceModel(ModelConfig(vocab_size=30, layers=2, units=16)).eval()
    first = stepper_for(model)
    assert stepper_for(model) is first
    tokens = torch.tensor([3, 4])
    before = first.step(tokens, first.initial_state(2))
    with torch.no_grad():
        model.head.bias.add_(1.0)  # an in-place change (training, editing) is seen
    second = stepper_for(model)
    assert second is not first
    assert torch.allclose(second.step(tokens, second.initial_state(2)), before + 1.0, atol=1e-5)


def test_temperature_zero_and_top_k_one_are_greedy(folk):
    greedy = generate(folk, 2, Settings(temperature=0, max_tokens=40))
    top1 = generate(folk, 2, Settings(top_k=1, seed=5, max_tokens=40))
    assert ids_of(greedy) == ids_of(top1)
    nucleus = generate(folk, 1, Settings(top_p=1e-6, seed=7, max_tokens=40))
    assert ids_of(nucleus) == ids_of(greedy)[:1]


def test_bad_settings_are_clear_errors(perf, folk):
    with pytest.raises(InvalidArgument, match="top-p"):
        generate(perf, 1, Settings(top_p=0))
    with pytest.raises(InvalidArgument, match="--note-density needs a model trained"):
        generate(perf, 1, Settings(note_density=4.0))
    with pytest.raises(InvalidArgument, match="--meter"):
        generate(perf, 1, Settings(meter="6/8"))
    with pytest.raises(InvalidArgument, match="valid: 2/4, 3/4, 4/4, 6/8"):
        generate(folk, 1, Settings(meter="5/8"))
    with pytest.raises(InvalidArgument, match="valid: maj, min, dor, mix"):
        generate(folk, 1, Settings(mode="lydian"))


# ---------------------------------------------------------------------------------------------- length and controls
def test_performance_length_is_exact_and_nothing_hangs_over(perf):
    for cand in generate(perf, 3, Settings(seed=2, seconds=6.0)):
        assert cand.ended == "length"
        assert cand.piece.duration <= 6.0 + 1e-9
        shifts = sum(t - 256 + 1 for t in cand.ids.tolist() if 256 <= t < 356)
        assert shifts == 600  # the last shift is cut back to the limit exactly


def test_folk_meter_mode_and_bars_are_honoured_in_the_tokens(folk):
    codec = get_codec("folk")
    rules = FolkRules(codec)
    for cand in generate(folk, 4, Settings(seed=3, meter="6/8", mode="dorian", bars=6)):
        tokens = codec.tokens(cand.tokens)
        assert tokens[:2] == ["M:6/8", "K:Cdor"]
        assert not any(t.startswith(("M:", "K:")) for t in tokens[2:])
        assert len(bar_ends(rules, cand.tokens[2:].tolist())) == 6 and cand.ended == "length"
    only_mode = generate(folk, 3, Settings(seed=8, mode="mix", max_tokens=30))
    assert all(codec.tokens(c.tokens)[0].startswith("M:") and codec.tokens(c.tokens)[1] == "K:Cmix" for c in only_mode)


def test_folk_start_notes_begin_every_tune_and_key_renders(folk):
    codec = get_codec("folk")
    start = "|: G A B c d2 e d |"
    settings = Settings(seed=4, meter="4/4", key="G", start=start, bars=4)
    expected = codec.tune_tokens(start, "4/4", "G")[0]
    for cand in generate(folk, 3, settings):
        assert codec.tokens(cand.tokens)[:len(expected)] == expected
        assert "K:G" in cand.piece.meta["abc"] and "G A B c d2 e d" in cand.piece.meta["abc"]
    with pytest.raises(InvalidArgument, match="--start"):
        generate(folk, 1, Settings(start="|: G A B ]]] (((", meter="4/4"))


def test_performance_primer_is_the_start_of_every_candidate(perf):
    primer = Piece.read(MAESTRO[0]) if MAESTRO else generate(perf, 1, Settings(seed=1, seconds=8.0))[0].piece
    cands = generate(perf, 2, Settings(seed=6, seconds=3.0, primer_seconds=4.0), primer=primer)
    codec = get_codec("performance")
    kept = codec.prepare(primer).notes
    kept = kept[kept["start"] < 4.0]
    for cand in cands:
        notes = cand.piece.notes
        early = notes[notes["start"] < 4.0 - 0.01]
        assert abs(len(early) - len(kept)) <= 1  # the primer's notes (quantised) start the piece
        assert cand.piece.duration <= 7.0 + 1e-9


# ---------------------------------------------------------------------------------------------- continue / regenerate
@pytest.fixture(scope="module")
def performance_piece(perf):
    if MAESTRO:
        return Piece.read(MAESTRO[0]).slice(0, 40.0)
    return generate(perf, 1, Settings(seed=21, seconds=40.0))[0].piece


def test_regenerate_performance_keeps_the_outside_and_joins_cleanly(perf, performance_piece):
    piece, a, b = performance_piece, 12.0, 18.0
    for cand in regenerate(piece, perf, a, b, Settings(seed=5), n=2):
        out = cand.piece.notes
        orig = piece.notes
        np.testing.assert_array_equal(out[out["start"] >= b], orig[orig["start"] >= b])
        kept = orig[orig["end"] <= a]
        got = out[out["end"] <= a]
        assert set(map(tuple, got[["pitch", "start", "end", "velocity"]].tolist())) >= \
            set(map(tuple, kept[["pitch", "start", "end", "velocity"]].tolist()))
        new = out[(out["start"] >= a) & (out["start"] < b)]
        assert len(new) and (new["end"] <= b + 1e-9).all()  # nothing hangs into the music after the span
        assert (out[out["start"] < a]["end"] <= a + 1e-9).all()
        around = out[(out["end"] > a - 5) & (out["start"] < b + 5)]
        before_overlaps = same_pitch_overlaps(orig[(orig["end"] > a - 5) & (orig["start"] < b + 5)])
        assert same_pitch_overlaps(around) <= before_overlaps  # no doubled notes added at the joins


def test_continue_performance_from_a_point(perf, performance_piece):
    cand = continue_piece(performance_piece, perf, 10.0, Settings(seed=3, seconds=5.0))[0]
    out, orig = cand.piece.notes, performance_piece.notes
    assert cand.piece.duration <= 15.0 + 1e-9 and len(out[out["start"] >= 10.0])
    rows = lambda n: set(map(tuple, n[["pitch", "start", "end", "velocity"]].tolist()))  # noqa: E731
    assert rows(out[out["end"] <= 10.0]) >= rows(orig[orig["end"] <= 10.0])


@pytest.fixture(scope="module")
def kesh():
    return Piece.read(EXAMPLE_ABC)


def test_regenerate_folk_bars_keeps_the_other_bars_token_for_token(folk, kesh):
    codec = get_codec("folk")
    rules = FolkRules(codec)
    original = codec.encode(kesh).tolist()
    ends = bar_ends(rules, original[2:])
    for cand in regenerate(kesh, folk, 3, 4, Settings(seed=9), n=3):
        tokens = cand.tokens.tolist()
        head = original[:2 + ends[1]]
        tail = original[2 + ends[3]:]
        assert tokens[:len(head)] == head and tokens[-len(tail):] == tail
        middle = tokens[len(head):len(tokens) - len(tail)]
        assert len(bar_ends(rules, middle)) == 2 and middle != original[len(head):2 + ends[3]]
        assert "K:G" in cand.piece.meta["abc"]  # shown in the tune's own key
    with pytest.raises(InvalidArgument, match="outside the tune, which has 16 bars"):
        regenerate(kesh, folk, 15, 17)


def test_continue_folk_from_a_bar(folk, kesh):
    codec = get_codec("folk")
    original = codec.encode(kesh).tolist()
    ends = bar_ends(FolkRules(codec), original[2:])
    cand = continue_piece(kesh, folk, 5, Settings(seed=2, bars=3))[0]
    assert cand.tokens.tolist()[:2 + ends[3]] == original[:2 + ends[3]]
    assert len(bar_ends(FolkRules(codec), cand.tokens[2:].tolist())) == 4 + 3


# ---------------------------------------------------------------------------------------------- streaming
def test_streaming_yields_the_batch_tokens(folk, perf):
    for model, settings in ((folk, Settings(seed=31, bars=8)), (perf, Settings(seed=31, seconds=4.0))):
        batch = generate(model, 3, settings)
        gen = Generation(model, 3, settings)
        streamed = [[] for _ in range(3)]
        partial = None
        for step in gen.steps():
            for i, token in zip(step.candidates, step.tokens):
                streamed[i].append(token)
            if step.position == 20:
                partial = gen.piece(0)
        eos = gen.codec.eos_id
        for cand, tokens in zip(batch, streamed):
            raw = np.array([t for t in tokens if t != eos], dtype=np.int64)
            final = gen.rules.finish(raw, gen.limit) if cand.ended == "length" else raw
            assert cand.ids.tolist() == final.tolist()
        assert [c.ids.tolist() for c in gen.candidates()] == ids_of(batch)
        assert isinstance(partial, Piece)


def test_endless_keeps_ahead_of_the_playhead_and_stops(perf):
    endless = EndlessGeneration(perf, Settings(seed=12), ahead=3.0).start()
    try:
        assert endless.wait_for(3.0, timeout=20)
        held = endless.length
        assert endless.wait_for(held + 1, timeout=0.3) is False  # waits for the player
        endless.set_playhead(10.0)
        assert endless.wait_for(12.5, timeout=20)
    finally:
        endless.stop()
    assert not endless.running and endless.error is None
    tokens = endless.tokens()
    same = Generation(perf, 1, Settings(seed=12), endless=True)
    steps = same.steps()
    assert [next(steps).tokens[0] for _ in range(len(tokens))] == tokens.tolist()
    assert endless.piece().duration >= 12.5 - 1.0


# ---------------------------------------------------------------------------------------------- evaluation
def test_folk_report_on_real_tunes():
    codec = get_codec("folk")
    tunes = [codec.encode_abc(t.text).astype(np.int64) for t in read_abc_tunes(EXAMPLE_ABC)]
    report = folk_report(codec, tunes)
    assert report["valid_abc_share"] == 1.0 and report["bars_of_right_length_share"] > 0.9
    assert report["forms"]["AABB"] == 3
    index = NgramIndex(tunes[:2])
    assert index.longest_shared(tunes[0]) == len(tunes[0])
    assert index.longest_shared(np.concatenate([[3, 3], tunes[1][10:50], [4]])) == 40


def test_performance_report_counts_what_the_decoder_closed():
    codec = get_codec("performance")
    on, off = codec.index["NOTE_ON_60"], codec.index["NOTE_OFF_60"]
    shift = codec.index["TIME_SHIFT_50"]
    ids = np.array([on, shift, off, codec.index["NOTE_ON_64"], codec.index["NOTE_ON_67"], shift, shift,
                    codec.index["NOTE_OFF_67"]])
    assert never_ended(codec, ids) == 1
    report = codec.evaluate([ids])  # the performance codec's sample report
    assert report["notes_closed_by_decoder_share"] == pytest.approx(1 / 3)
    assert report["polyphony_max"]["max"] == 2 and report["pitch_range"]["max"] == 7


# ---------------------------------------------------------------------------------------------- commands
def test_cli_generate_reproduce_and_evaluate_folk(folk_dir, tmp_path, studio_home):
    from studio.corpus.store import write_corpus

    codec = get_codec("folk")
    tunes = [codec.encode_abc(t.text) for t in read_abc_tunes(EXAMPLE_ABC)]
    write_corpus("session", codec, tunes, split={"method": "hash", "valid": 0.0, "test": 0.0})
    out = tmp_path / "out"
    r = run_studio("generate", "--model", folk_dir, "-n", "3", "-o", out, "--meter", "6/8", "--mode", "dor",
                   "--bars", "8", "--key", "A", "--seed", "20", "--top-k", "40")
    assert r.returncode == 0, r.stderr
    record = json.loads((out / "generation.json").read_text())
    assert record["settings"]["meter"] == "6/8" and record["settings"]["top_k"] == 40
    assert record["model"]["weights_sha256"] and len(record["candidates"]) == 3
    names = sorted(p.name for p in out.iterdir())
    assert names[0].startswith(f"{folk_dir.name}_001_seed20_T1_k40") and names[0].endswith(".abc")
    third = record["candidates"][2]
    assert "K:Ador" in (out / third["files"][0]).read_text()
    again = tmp_path / "again"  # candidate 3 alone, from its seed
    r = run_studio("generate", "--model", folk_dir, "-n", "1", "-o", again, "--meter", "6/8", "--mode", "dor",
                   "--bars", "8", "--key", "A", "--seed", str(third["seed"]), "--top-k", "40")
    assert r.returncode == 0, r.stderr
    alone = json.loads((again / "generation.json").read_text())["candidates"][0]
    assert alone["tokens"] == third["tokens"]
    assert (again / alone["files"][1]).read_bytes() == (out / third["files"][1]).read_bytes()
    r = run_studio("evaluate-samples", out, "--corpus", "session", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["candidates"] == 3 and len(report["longest_shared_tokens"]) == 3
    r = run_studio("generate", "--model", folk_dir, "-n", "1", "-o", tmp_path / "bad", "--meter", "7/4")
    assert r.returncode == 2 and "valid: 2/4" in r.stderr and "Traceback" not in r.stderr


def test_cli_continue_and_regenerate(perf_dir, folk_dir, tmp_path, performance_piece):
    midi = tmp_path / "piece.mid"
    performance_piece.write_midi(midi)
    r = run_studio("regenerate", midi, "--model", perf_dir, "--from", "5", "--to", "8", "-o", tmp_path / "re",
                   "--seed", "4")
    assert r.returncode == 0, r.stderr
    record = json.loads((tmp_path / "re" / "generation.json").read_text())
    assert record["regenerate"]["from"] == 5.0 and record["regenerate"]["unit"] == "seconds"
    out = Piece.read(tmp_path / "re" / record["candidates"][0]["files"][0])
    assert len(out.notes[out.notes["start"] >= 8.0]) == len(Piece.read(midi).notes[Piece.read(midi).notes["start"] >= 8.0])
    r = run_studio("continue", EXAMPLE_ABC, "--model", folk_dir, "--tune", "4", "--from", "3", "-o", tmp_path / "co",
                   "--max-tokens", "60")
    assert r.returncode == 0, r.stderr
    record = json.loads((tmp_path / "co" / "generation.json").read_text())
    abc = (tmp_path / "co" / record["candidates"][0]["files"][0]).read_text()
    assert "T:Drowsy Maggie" in abc and "K:Edor" in abc


def test_a_model_from_the_real_trainer_samples_and_its_corpus_is_checked_for_copies(tmp_path):
    from studio.corpus.store import write_corpus
    from studio.generation.evaluate import evaluate_samples
    from studio.training import Trainer, make_config

    codec = get_codec("folk")
    tunes = [codec.encode_abc(t.text) for t in read_abc_tunes(EXAMPLE_ABC)]
    corpus = write_corpus("session-tunes", codec, tunes * 3, split={"method": "hash", "valid": 0.0, "test": 0.0})
    config = make_config("small", layers=1, units=16, embedding=8, batch_size=4, steps=3, warmup_steps=1,
                         eval_every=3, log_every=1, checkpoint_every=3, device="cpu", seed=1)
    Trainer(tmp_path / "model", config, corpus).run()
    model = load_model(tmp_path / "model")
    settings = Settings(seed=2, meter="6/8", bars=4)
    candidates = generate(model, 2, settings)
    write_candidates(tmp_path / "out", candidates, settings, tmp_path / "model", codec, "test")
    report = evaluate_samples(tmp_path / "out")
    assert report["corpus"] == "session-tunes" and len(report["longest_shared_tokens"]) == 2
    expected = NgramIndex([np.asarray(t, dtype=np.int64) for t in tunes])  # the corpus's training tunes
    assert report["longest_shared_tokens"] == [expected.longest_shared(c.tokens[2:]) for c in candidates]


# ---------------------------------------------------------------------------------------------- performance guard
def test_the_performance_guard_releases_only_keys_that_are_down():
    codec = get_codec("performance")
    (guard,) = codec.rules().guards(1, [codec.bos_id])
    off, shift = codec.note_off0, codec.shift0
    assert not guard.allowed()[off:shift].any() and guard.allowed()[:off].all()  # nothing sounds yet
    guard.push(60)  # NOTE_ON 60
    assert not guard.allowed()[off + 60]  # not in the step it was struck (a note of no length)
    guard.push(shift)  # TIME_SHIFT of one step
    assert np.flatnonzero(guard.allowed()[off:shift]).tolist() == [60]
    guard.push(60)  # struck again while down: the decoder opens a second note, so two releases are due
    guard.push(shift)
    guard.push(off + 60)
    assert guard.allowed()[off + 60]
    guard.push(off + 60)
    assert not guard.allowed()[off:shift].any()


def test_the_guard_hands_a_forbidden_release_to_the_keys_that_are_down_in_the_models_proportions():
    from studio.generation.sampler import keep_group_mass

    torch.manual_seed(0)
    logits = torch.randn(3, 40)
    allowed = torch.ones(3, 40, dtype=torch.bool)
    allowed[:, 10:20] = False
    allowed[0, 12] = allowed[0, 15] = allowed[1, 19] = True  # row 2: no member allowed
    probs = torch.softmax(keep_group_mass(logits, allowed, [(10, 20)]).masked_fill(~allowed, float("-inf")), 1)
    before = torch.softmax(logits, 1)
    assert torch.allclose(probs[:2, 10:20].sum(1), before[:2, 10:20].sum(1))  # the group keeps its share
    assert torch.allclose(probs[0, 12] / probs[0, 15], before[0, 12] / before[0, 15])  # in the model's odds
    assert torch.allclose(probs[:2, :10], before[:2, :10])  # the rest is untouched
    assert probs[2, 10:20].sum() == 0 and torch.allclose(probs[2].sum(), torch.tensor(1.0))


def test_guarded_performance_samples_never_release_a_key_that_is_up(perf):
    guarded = generate(perf, 4, Settings(seed=5, seconds=8.0))
    raw = generate(perf, 4, Settings(seed=5, seconds=8.0, guard=False))
    assert not [w for c in guarded for w in c.piece.warnings if "no open note" in w]
    assert [w for c in raw for w in c.piece.warnings if "no open note" in w]  # (an untrained model's raw choices)
