"""See inside the model (studio.inspect): surprise, predictions, cells; checked against the model's own
forward pass, against `studio evaluate`'s NLL, and with a planted unit that Find cells must rank first."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from studio.codecs import codec_from_config, get_codec
from studio.inspect import inspect_ids, run_model, scan_cells
from studio.music.abc_io import read_abc_tunes
from studio.nn import ModelConfig, SequenceModel, load_model, save_model
from studio.paths import shipped_path

from conftest import EXAMPLE_ABC, MAESTRO, needs_maestro, run_studio

FOLK = shipped_path("models", "folk")

KESH = """X:1
T:The Kesh
M:6/8
L:1/8
K:G
|:GAG GAB|ABA ABd|edd gdd|edB dBA|
GAG GAB|ABA ABd|edd gdB|AGF G3:|
|:BAB dBd|ege dBA|BAB dBG|ABA AGA|
BAB dBd|ege dBd|gfg aga|bgf g3:|
"""


@pytest.fixture(scope="module")
def folk_model():
    torch.manual_seed(0)
    return load_model(FOLK)


def tiny_model(codec, cell="lstm", layers=2, units=12, embedding=0, seed=0):
    torch.manual_seed(seed)
    model = SequenceModel(ModelConfig(codec.vocab_size, cell=cell, layers=layers, units=units, embedding=embedding)).eval()
    model.codec_config = codec.config
    return model


@pytest.mark.parametrize("cell,embedding", [("lstm", 0), ("lstm", 8), ("gru", 0), ("rnn", 8)])
def test_layer_by_layer_run_is_the_models_own_computation(cell, embedding):
    codec = get_codec("folk")
    model = tiny_model(codec, cell, embedding=embedding)
    ids = codec.encode_abc(KESH)
    run = run_model(model, ids, chunk=17)  # several time chunks carrying the state
    seq = torch.from_numpy(np.concatenate([[codec.bos_id], ids, [codec.eos_id]]).astype(np.int64))
    with torch.no_grad():
        logits, _ = model(seq[None, :-1])
        expected = F.cross_entropy(logits[0], seq[1:], reduction="none").numpy()
        state, hs, cs = None, [], []
        for tok in seq[:-1]:
            _, state = model(tok.view(1, 1), state)
            hs.append((state[0] if cell == "lstm" else state)[:, 0].numpy())
            if cell == "lstm":
                cs.append(state[1][:, 0].numpy())
    np.testing.assert_allclose(run.surprise, expected, atol=1e-4)
    top = logits[0].argmax(-1).numpy()
    assert (run.top_ids[:, 0] == top).mean() > 0.95  # ties aside, the first prediction is the argmax
    hs = np.stack(hs)[1:]  # the state after <s> is about no body token
    for layer in range(2):
        np.testing.assert_allclose(run.hidden[layer].astype(np.float32), hs[:, layer], atol=2e-3)
        if cell == "lstm":
            np.testing.assert_allclose(run.cell[layer].astype(np.float32), np.stack(cs)[1:, layer], atol=5e-3, rtol=2e-3)
    assert (run.cell is None) == (cell != "lstm")


def test_blocked_cell_scan_equals_the_plain_recurrence():
    g = torch.Generator().manual_seed(1)
    f, u, c0 = torch.rand(300, 7, generator=g), torch.randn(300, 7, generator=g), torch.randn(7, generator=g)
    c, expected = c0, []
    for t in range(len(f)):
        c = f[t] * c + u[t]
        expected.append(c)
    torch.testing.assert_close(scan_cells(f, u, c0), torch.stack(expected), atol=1e-4, rtol=1e-4)


def test_surprises_sum_to_the_nll_studio_evaluate_computes(folk_model):
    from studio.corpus.store import write_corpus
    from studio.training import evaluate

    codec = codec_from_config(folk_model.codec_config)
    tunes = [codec.encode_abc(t.text) for t in read_abc_tunes(EXAMPLE_ABC)]
    corpus = write_corpus("examples", codec, tunes, split={"method": "hash", "valid": 0.0, "test": 0.0})
    result = evaluate(folk_model, corpus, "train")
    inspected = [inspect_ids(folk_model, ids, keep_activations=False) for ids in tunes]
    total = sum(i.nll for i in inspected)
    assert result.tokens == sum(len(i.run.surprise) for i in inspected)
    assert total / result.tokens == pytest.approx(result.nll, rel=1e-5)
    for ins in inspected:
        assert len(ins.entries()) == len(ins.run.surprise) and all(len(e["top"]) == 5 for e in ins.entries())


def test_an_out_of_key_note_is_among_the_most_surprising(folk_model):
    """The Kesh (G major), bar 3's second note d changed to _e (E flat, outside G major)."""
    changed = KESH.replace("|edd gdd|", "|e_ed gdd|")
    codec = codec_from_config(folk_model.codec_config)
    before = inspect_ids(folk_model, codec.encode_abc(KESH), abc=KESH, keep_activations=False)
    after = inspect_ids(folk_model, codec.encode_abc(changed), abc=changed, keep_activations=False)
    at = next(t for t, (a, b) in enumerate(zip(before.tokens, after.tokens)) if a != b)
    assert after.tokens[at].startswith("_")  # the flat, as the tokens (in C) write it
    ranks = np.argsort(-after.run.surprise)
    assert at in ranks[:3].tolist()
    assert after.run.surprise[at] > before.run.surprise[at] + 2.0
    # the ABC span of that token is the changed note in the text
    start, end = after.tmap.spans[at]
    assert changed[start:end] == "_e"
    note = next(n for n in after.notes() if at in n["tokens"])
    assert note["surprise"] >= after.run.surprise[at]


def planted_model(codec, units=8, seed=0):
    """One layer; unit 0's cell counts eighths since the last bar line (0.1 per eighth) and resets at bars,
    every other unit has random weights."""
    from studio.codecs.folk.vocab import BARS, duration_value

    model = tiny_model(codec, layers=1, units=units, seed=seed)
    vocab = codec.vocab
    with torch.no_grad():
        for p in model.rnn.parameters():
            p.normal_(0, 0.3)
        w, b = model.rnn.weight_ih_l0, model.rnn.bias_ih_l0
        i, f, g, o = 0, units, 2 * units, 3 * units  # PyTorch's gate order, unit 0 of each gate
        model.rnn.weight_hh_l0[[i, f, g, o]] = 0.0
        w[[i, f, g, o]] = 0.0
        model.rnn.bias_hh_l0[[i, f, g, o]] = 0.0
        b[i], b[f], b[o] = 10.0, 10.0, 10.0
        for k, token in enumerate(vocab):
            kind = codec_kind(token)
            if kind == "bar" or token in BARS:
                w[f, k] = -20.0
            elif kind == "pitch":
                w[g, k] = float(np.arctanh(0.1))
            elif kind == "length" and duration_value(token) is not None:
                w[g, k] = float(np.arctanh(np.clip(0.1 * (float(duration_value(token)) - 1), -0.9, 0.9)))
    return model


def codec_kind(token):
    from studio.codecs.folk.inspect import _folk_kind

    return _folk_kind(token)


def test_find_cells_ranks_a_planted_bar_position_unit_first():
    codec = get_codec("folk")
    model = planted_model(codec)
    ins = inspect_ids(model, codec.encode_abc(KESH), abc=KESH)
    cells = ins.cells(5)
    first = cells[0]
    assert (first.layer, first.kind, first.unit, first.feature) == (0, "c", 0, "bar position")
    assert first.r > 0.9 and abs(cells[1].r) < first.r


@needs_maestro
def test_a_real_performance_scores_as_evaluate_does_and_maps_tokens_to_its_notes():
    codec = get_codec("performance")
    from studio.music.piece import Piece

    piece = Piece.read(MAESTRO[0])
    piece.notes = piece.notes[:300]
    ids = codec.encode(piece)
    model = load_model(shipped_path("models", "performance"))
    ins = inspect_ids(model, ids, piece)
    from studio.corpus.store import write_corpus
    from studio.training import evaluate

    corpus = write_corpus("maestro-excerpt", codec_from_config(model.codec_config), [ids],
                          split={"method": "hash", "valid": 0.0, "test": 0.0})
    result = evaluate(model, corpus, "train")
    assert result.tokens == len(ins.run.surprise) and ins.nll_per_token == pytest.approx(result.nll, rel=1e-5)
    decoded = codec.decode(ids)
    notes = ins.notes()
    assert len(notes) == len(decoded.notes)
    starts = np.sort([n["start"] for n in notes])
    np.testing.assert_allclose(starts, np.sort(decoded.notes["start"]), atol=1e-6)
    assert all(codec.tokens([ids[n["tokens"][-1]]])[0].startswith("NOTE_OFF") for n in notes if len(n["tokens"]) > 1)
    assert ins.time_of(len(ids) - 1) <= piece.duration + 0.02
    cells = ins.cells(3)
    assert cells and all(abs(c.r) <= 1.0 + 1e-6 for c in cells)


def _non_blank(path) -> bool:
    import matplotlib.image

    pixels = matplotlib.image.imread(str(path))
    return pixels.shape[0] > 100 and float(pixels[..., :3].std()) > 0.02


def test_studio_inspect_writes_json_and_plots(tmp_path, folk_model):
    out = tmp_path / "out"
    result = run_studio("inspect", EXAMPLE_ABC, "--model", FOLK, "-o", out, "--cells", "2", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    doc = json.loads((out / "inspect.json").read_text())
    assert len(doc["pieces"]) == summary["pieces"] == 4
    first = doc["pieces"][0]
    assert first["title"] == "The Kesh"
    assert sum(e["surprise"] for e in first["tokens"]) == pytest.approx(first["nll"], abs=1e-3)
    assert all(len(e["top"]) == 5 and abs(sum(p for _, p in e["top"])) <= 1.0 + 1e-3 for e in first["tokens"])
    assert len(summary["most_surprising"]) == 10
    assert summary["most_surprising"][0]["surprise"] >= summary["most_surprising"][-1]["surprise"]
    for name in ("surprise-1.png", "cells-1.png", "surprise-4.png"):
        assert _non_blank(out / name), name


def test_studio_inspect_on_a_midi_file_gives_times(tmp_path):
    from studio.music.piece import Piece, make_notes

    codec = get_codec("performance")
    model_dir = save_model(tiny_model(codec, units=8), tmp_path / "model", codec.config)
    piece = Piece(notes=make_notes([60, 64, 67, 72], [0.0, 0.5, 1.0, 1.5], [0.4, 0.9, 1.4, 2.5], velocity=80))
    piece.write(tmp_path / "four.mid")
    result = run_studio("inspect", tmp_path / "four.mid", "--model", model_dir, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    doc = json.loads((tmp_path / "out" / "inspect.json").read_text())
    times = [e["time"] for e in doc["tokens"]]
    assert times[0] == 0.0 and max(times) == pytest.approx(2.5, abs=0.011)
    assert [e["token"] for e in doc["tokens"]].count("NOTE_ON_60") == 1
    assert _non_blank(tmp_path / "out" / "surprise.png")
    bad = run_studio("inspect", tmp_path / "missing.mid", "--model", model_dir, "-o", tmp_path / "x")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "missing.mid" in bad.stderr
