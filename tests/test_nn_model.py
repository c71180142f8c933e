"""The sequence model and its folder format: what generation and `studio models` rely on."""
from __future__ import annotations

import json

import pytest
import torch

from studio.errors import InvalidArgument, StudioError
from studio.nn import ModelConfig, SequenceModel, find_model, list_models, load_model, save_model
from train_helpers import CountingCodec

CODEC = CountingCodec.default(10)


def small_model(cell="lstm", **kw) -> SequenceModel:
    torch.manual_seed(0)
    return SequenceModel(ModelConfig(vocab_size=CODEC.vocab_size, cell=cell, layers=2, units=16, **kw))


@pytest.mark.parametrize("cell,kw", [("lstm", {}), ("gru", {"embedding": 8}), ("rnn", {"embedding": 16, "tie_weights": True})])
def test_step_by_step_equals_whole_sequence(cell, kw):
    model = small_model(cell, **kw).eval()
    tokens = torch.randint(0, CODEC.vocab_size, (3, 9))
    whole, _ = model(tokens)
    state = None
    for t in range(tokens.shape[1]):
        logits, state = model.step(tokens[:, t], state)
        torch.testing.assert_close(logits, whole[:, t])


def test_initial_state_is_what_none_means():
    model = small_model().eval()
    tokens = torch.tensor([1, 2, 3])
    a, _ = model.step(tokens, None)
    b, _ = model.step(tokens, model.initial_state(3))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("cell,kw", [("lstm", {"dropout": 0.3}), ("gru", {"embedding": 16, "tie_weights": True})])
def test_model_folder_round_trip(tmp_path, cell, kw):
    model = small_model(cell, **kw).eval()
    save_model(model, tmp_path / "m", CODEC.config, {"training": {"steps": 7}})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "weights.safetensors"]
    loaded = load_model(tmp_path / "m")
    tokens = torch.randint(0, CODEC.vocab_size, (2, 5))
    torch.testing.assert_close(loaded(tokens)[0], model(tokens)[0], rtol=0, atol=0)
    assert loaded.card["training"]["steps"] == 7
    assert loaded.codec_config["vocab"] == CODEC.vocab
    assert {"torch", "numpy", "studio", "python"} <= set(loaded.card["libraries"])
    if kw.get("tie_weights"):
        assert loaded.head.weight is loaded.embed.weight


def test_half_precision_weights_load_as_float32(tmp_path):
    """A GPU run's weights come back in float16 (half the size: a 3x512 model fits the 25 MB budget)."""
    from safetensors.torch import load_file, save_file

    model = small_model().eval()
    save_model(model, tmp_path / "m", CODEC.config)
    weights = tmp_path / "m" / "weights.safetensors"
    save_file({k: v.half() for k, v in load_file(weights).items()}, weights)
    loaded = load_model(tmp_path / "m")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    tokens = torch.randint(0, CODEC.vocab_size, (2, 5))
    torch.testing.assert_close(loaded(tokens)[0], model(tokens)[0], rtol=0, atol=2e-2)


def test_bad_architecture_is_refused():
    with pytest.raises(InvalidArgument, match="weight tying needs an embedding as wide"):
        ModelConfig(vocab_size=5, units=16, embedding=8, tie_weights=True)
    with pytest.raises(InvalidArgument, match="cell must be one of"):
        ModelConfig(vocab_size=5, cell="transformer")


def _saved(tmp_path):
    folder = tmp_path / "m"
    save_model(small_model(), folder, CODEC.config)
    return folder


def _edit_card(folder, change):
    card = json.loads((folder / "model.json").read_text())
    change(card)
    (folder / "model.json").write_text(json.dumps(card))


@pytest.mark.parametrize("damage,expected", [
    (lambda f: (f / "model.json").unlink(), "model.json: missing"),
    (lambda f: (f / "weights.safetensors").unlink(), "weights.safetensors: missing"),
    (lambda f: (f / "model.json").write_text("{not json"), "model.json: line 1, column 2: not valid JSON"),
    (lambda f: (f / "weights.safetensors").write_bytes(b"\x00" * 40), "weights.safetensors: not readable safetensors"),
    (lambda f: _edit_card(f, lambda c: c.update(format="something-else")), "not a studio model card"),
    (lambda f: _edit_card(f, lambda c: c["codec"]["vocab"].pop()), "architecture.vocab_size: 13 does not match the codec vocabulary of 12"),
    (lambda f: _edit_card(f, lambda c: c["architecture"].update(units=32)), "rnn.weight_ih_l0: shape (64, 13) does not fit"),
    (lambda f: _edit_card(f, lambda c: c["architecture"].update(layers=3)), "weights do not fit the architecture in model.json: missing rnn.bias_hh_l2"),
    (lambda f: _edit_card(f, lambda c: c["architecture"].update(cell="lstmx")), "architecture: cell must be one of"),
    (lambda f: _edit_card(f, lambda c: c["architecture"].update(colour="blue")), "unknown architecture fields: colour"),
    (lambda f: _edit_card(f, lambda c: c.update(format_version=99)), "newer than this studio understands"),
])
def test_malformed_folder_names_what_is_wrong(tmp_path, damage, expected):
    folder = _saved(tmp_path)
    damage(folder)
    with pytest.raises(StudioError) as info:
        load_model(folder)
    assert expected in info.value.message()
    assert str(folder) in info.value.message()


def test_missing_folder(tmp_path):
    with pytest.raises(StudioError, match="no such model folder"):
        load_model(tmp_path / "nowhere")


def test_installed_models_shipped_and_yours(tmp_path, monkeypatch, studio_home):
    shipped_root = tmp_path / "shipped"
    save_model(small_model(), shipped_root / "folk", CODEC.config, {"description": "ships with studio"})
    monkeypatch.setattr("studio.paths.shipped", lambda kind: shipped_root)
    save_model(small_model("gru"), studio_home / "models" / "mine", CODEC.config)
    found = {m.name: m for m in list_models()}
    assert found["folk"].shipped and found["folk"].card["description"] == "ships with studio"
    assert not found["mine"].shipped and found["mine"].card["architecture"]["cell"] == "gru"
    assert find_model("mine") == studio_home / "models" / "mine"
    with pytest.raises(StudioError, match="no such model folder or installed model"):
        find_model("elsewhere")
