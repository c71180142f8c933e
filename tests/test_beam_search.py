"""Beam search (Magenta's beam size, branch factor, steps per iteration): it finds the best sequence of a
model whose best sequence is known and greedy sampling misses, returns the highest-scoring of its beams with
the model's own log-likelihood, is plain sampling at beam size 1 and branch factor 1, keeps every folk beam
inside the guard, works with controls, and reaches `studio generate` and generation.json."""
from __future__ import annotations

import json
import numpy as np
import pytest
import torch

from conftest import run_studio
from studio.codecs import get_codec
from studio.errors import InvalidArgument
from studio.generation import Generation, Settings, generate
from studio.generation.beam import BeamGeneration
from studio.codecs.folk.report import folk_report
from studio.nn import ModelConfig, SequenceModel, load_model, save_model


def bigram_model(codec, table: dict[int, dict[int, float]]) -> SequenceModel:
    """A one-layer tanh RNN that is exactly a bigram model: the next token's probabilities depend only on the
    last token (`table[last][next]` is a logit; every other token's is -30). Logits in quarters keep every
    sum exact in float32, so the model's probabilities are exactly the table's softmax."""
    v = codec.vocab_size
    model = SequenceModel(ModelConfig(vocab_size=v, cell="rnn", layers=1, units=v))
    logits = torch.full((v, v), -30.0)
    for last, nexts in table.items():
        for token, logit in nexts.items():
            logits[last, token] = logit
    with torch.no_grad():  # h = tanh(20 (2 onehot - 1)) = 2 onehot - 1 exactly; head maps it to logits[last]
        model.rnn.weight_ih_l0.copy_(20.0 * (2 * torch.eye(v) - 1))
        model.rnn.weight_hh_l0.zero_()
        model.rnn.bias_ih_l0.zero_()
        model.rnn.bias_hh_l0.zero_()
        model.head.weight.copy_(logits.t() / 2)
        model.head.bias.copy_(logits.t().sum(1) / 2)
    model.codec_config = codec.config
    return model.eval()


def log_likelihood(model, codec, ids: list[int]) -> float:
    """The model's log-probability of `ids` then `</s>` after `<s>`, read from its full forward pass."""
    seq = torch.tensor([[codec.bos_id] + ids + [codec.eos_id]])
    with torch.no_grad():
        logp = torch.log_softmax(model(seq[:, :-1])[0], -1)[0]
    return float(logp[torch.arange(len(ids) + 1), seq[0, 1:]].sum())


@pytest.fixture(scope="module")
def trap():
    """From `<s>`: A (p 0.56) then any of ten tokens (0.1 each); or B (0.44) then D (1.0). Every path then
    ends. Greedy takes A; the best sequence is B D (log 0.44 against log 0.56 + log 0.1)."""
    codec = get_codec("performance")
    a, b, d = codec.velocity0 + 9, codec.velocity0 + 19, codec.shift0 + 29  # first tokens start a note
    tens = [codec.shift0 + 40 + k for k in range(10)]
    table = {codec.bos_id: {a: 0.25, b: 0.0}, a: {t: 0.0 for t in tens}, b: {d: 0.0}}
    table.update({t: {codec.eos_id: 0.0} for t in tens + [d]})
    return codec, bigram_model(codec, table), a, b, d


def test_beam_search_returns_the_best_sequence_that_greedy_and_sampling_miss(trap):
    codec, model, a, b, d = trap
    greedy = generate(model, 1, Settings(temperature=0, max_tokens=10))[0]
    assert greedy.ids.tolist()[0] == a
    sampled = generate(model, 8, Settings(seed=3, max_tokens=10))
    assert {c.ids.tolist()[0] for c in sampled} == {a, b}  # plain sampling takes either way
    for spi in (1, 2):
        gen = Generation(model, 8, Settings(seed=3, max_tokens=10, beam_size=8, branch_factor=2,
                                            steps_per_iteration=spi))
        assert isinstance(gen, BeamGeneration)
        candidates = gen.run()
        best = log_likelihood(model, codec, [b, d])
        for i, cand in enumerate(candidates):
            assert cand.ids.tolist() == [b, d] and cand.ended == "end"
            assert cand.score == pytest.approx(best, abs=1e-4)  # the model's own likelihood of it
            assert cand.score == max(beam.score for beam in gen.beams[i])  # the highest-scoring of its beams
        ended = {tuple(beam.tokens): beam.score for beams in gen.beams for beam in beams if beam.ended == "end"}
        assert len(ended) > 1
        for tokens, score in ended.items():  # every beam's score is its tokens' likelihood
            assert score == pytest.approx(log_likelihood(model, codec, list(tokens)), abs=1e-4)


@pytest.mark.parametrize("codec_name, length", [("performance", {"seconds": 3.0}), ("folk", {"bars": 6})])
def test_beam_size_one_and_branch_factor_one_is_sampling(codec_name, length):
    codec = get_codec(codec_name)
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=2, units=32))
    model.codec_config = codec.config
    plain = generate(model, 3, Settings(seed=5, top_p=0.95, **length))
    beam = generate(model, 3, Settings(seed=5, top_p=0.95, beam_size=1, branch_factor=1, **length))
    assert [c.ids.tolist() for c in beam] == [c.ids.tolist() for c in plain]
    assert [c.ended for c in beam] == [c.ended for c in plain]


def test_folk_beams_extend_only_with_tokens_the_guard_allows():
    codec = get_codec("folk")
    torch.manual_seed(1)
    model = SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=1, units=32))
    model.codec_config = codec.config
    gen = Generation(model, 2, Settings(seed=2, bars=6, meter="6/8", beam_size=3, branch_factor=3,
                                        steps_per_iteration=4))
    candidates = gen.run()
    assert all(c.ended == "length" for c in candidates)
    header = list(gen.plan.header)
    every_beam = [np.array(header + beam.tokens) for beams in gen.beams for beam in beams if beam.ended]
    assert len(every_beam) >= 2
    report = folk_report(codec, every_beam)
    assert report["valid_abc_share"] == 1.0 and report["playable_share"] == 1.0
    alone = generate(model, 1, Settings(seed=3, bars=6, meter="6/8", beam_size=3, branch_factor=3,
                                        steps_per_iteration=4))[0]
    assert alone.ids.tolist() == candidates[1].ids.tolist()  # a candidate depends only on its own seed


def test_beam_search_with_controls_and_refusals():
    codec = get_codec("performance")
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=1, units=16,
                                      control_size=codec.controls.size))
    model.codec_config = codec.config
    settings = dict(seed=1, seconds=2.0, beam_size=2, branch_factor=2)
    free = generate(model, 1, Settings(**settings))[0]
    steered = generate(model, 1, Settings(**settings, note_density=16.0, pitch_histogram=[1] * 12))[0]
    assert free.ids.tolist() != steered.ids.tolist()  # the controls reach every beam's steps
    with pytest.raises(InvalidArgument, match="branch-factor must be at least 1"):
        Generation(model, 1, Settings(branch_factor=0))
    with pytest.raises(InvalidArgument, match="endlessly"):
        Generation(model, 1, Settings(beam_size=2), endless=True)


def test_cli_generate_with_beam_search_records_it(tmp_path, trap):
    codec, model, a, b, d = trap
    save_model(model, tmp_path / "trap", codec.config)
    out = tmp_path / "out"
    done = run_studio("generate", "--model", str(tmp_path / "trap"), "-n", "2", "-o", str(out), "--max-tokens", "10",
                      "--beam-size", "6", "--branch-factor", "2", "--steps-per-iteration", "1")
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "generation.json").read_text())
    assert record["settings"]["beam_size"] == 6 and record["settings"]["branch_factor"] == 2
    for row in record["candidates"]:
        assert row["tokens"] == [b, d]
        assert row["log_likelihood"] == pytest.approx(log_likelihood(model, codec, [b, d]), abs=1e-3)
    again = generate(load_model(tmp_path / "trap"), 2, Settings.from_dict(record["settings"]))  # made again
    assert [c.tokens.tolist() for c in again] == [row["tokens"] for row in record["candidates"]]


def test_regenerating_folk_bars_with_beams_keeps_the_other_bars():
    from conftest import EXAMPLE_ABC
    from studio.generation.edit import bar_ends, regenerate
    from studio.codecs.folk.rules import FolkRules
    from studio.music import Piece

    codec = get_codec("folk")
    torch.manual_seed(2)
    model = SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=1, units=32))
    model.codec_config = codec.config
    tune = Piece.read(EXAMPLE_ABC)
    rules = FolkRules(codec)
    original = codec.encode(tune).tolist()
    ends = bar_ends(rules, original[2:])
    head, tail = original[:2 + ends[1]], original[2 + ends[3]:]
    for cand in regenerate(tune, model, 3, 4, Settings(seed=4, beam_size=3, branch_factor=2), n=2):
        tokens = cand.tokens.tolist()
        assert tokens[:len(head)] == head and tokens[-len(tail):] == tail
        assert len(bar_ends(rules, tokens[len(head):len(tokens) - len(tail)])) == 2
        assert cand.score is not None and cand.score < 0
