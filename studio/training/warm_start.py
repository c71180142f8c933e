"""Start a training run from a trained model's weights (`studio train --init-from MODEL`).

On a CPU, hours of training are not thrown away when the corpus grows, its vocabulary gains tokens, or the
model needs more room: the new run's model may have a vocabulary that extends the old one (the old tokens
first, in the same order, as the folk codec's `wide` vocabulary extends folk-rnn v2's) and more units per
layer. Cell, layer count, embedding width and controls must match.

Widening keeps the old model's function exactly (Net2Net's idea, with zero outgoing weights): each gate's
old units keep their weights, the new units get the fresh initialisation for their own inputs, and every
weight from a new unit into an old unit or into the output layer starts at zero, so at the first step the
wider model predicts what the old one did and the new units learn from there. Tokens the old model did not
know keep their fresh rows and columns.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import InvalidArgument

RNN_WEIGHT = re.compile(r"rnn\.(weight|bias)_(ih|hh)_l(\d+)$")


def initialise_from(model, codec_config: dict, source: str | Path) -> dict:
    """Copy the weights of the model folder (or installed model) `source` into `model` (a fresh
    SequenceModel for `codec_config`'s vocabulary), widening them where `model` has more units.
    Returns what the card records: the source's path, name and validation NLL."""
    from ..nn.folder import find_model, load_model

    folder = find_model(source)
    old = load_model(folder)
    old_vocab, vocab = old.codec_config.get("vocab"), codec_config.get("vocab")
    if old_vocab is None or vocab is None:  # a codec without a token list: the same settings, the same tokens
        if {**old.codec_config} != {**codec_config}:
            raise InvalidArgument(f"--init-from {source}: its codec settings differ from this corpus's")
        old_vocab = vocab = list(range(old.config.vocab_size))
    if vocab[:len(old_vocab)] != old_vocab:
        raise InvalidArgument(f"--init-from {source}: its vocabulary ({len(old_vocab)} tokens) is not the start of "
                              f"this corpus's ({len(vocab)}): token ids would change meaning")
    a, b = old.config, model.config
    for key in ("cell", "layers", "embedding", "control_size"):
        if getattr(a, key) != getattr(b, key):
            raise InvalidArgument(f"--init-from {source}: it has {key} {getattr(a, key)}, this run "
                                  f"{getattr(b, key)}; only the vocabulary and the units per layer may grow")
    if a.units > b.units:
        raise InvalidArgument(f"--init-from {source}: it has {a.units} units per layer, more than this run's {b.units}")
    if b.tie_weights and (a.units != b.units or not a.tie_weights):
        raise InvalidArgument(f"--init-from {source}: a model with tied weights can only start from one of its own size")
    fresh = model.state_dict()
    grown = {name: _widened(name, value.to(fresh[name].device), fresh[name], a, b)  # the run's device (a GPU)
             for name, value in old.state_dict().items()}
    model.load_state_dict({**fresh, **grown})
    card = old.card
    return {"model": card.get("name") or folder.name, "path": str(folder), "units": a.units,
            "tokens": len(old_vocab), "valid_nll_per_token": card.get("training", {}).get("valid_nll_per_token")}


def _widened(name: str, old: torch.Tensor, fresh: torch.Tensor, a, b) -> torch.Tensor:
    """`fresh` (the new model's initial weight `name`) with `old` written into the old units' places."""
    if old.shape == fresh.shape:
        return old.clone()
    out = fresh.clone()
    n_old = a.vocab_size
    if name == "embed.weight":
        out[:n_old] = old
    elif name == "head.weight":
        out[:, a.units:] = 0.0  # new units do not reach the output yet
        out[:n_old, :a.units] = old
    elif name == "head.bias":
        out[:n_old] = old
    elif match := RNN_WEIGHT.match(name):
        kind, source, layer = match.groups()
        for g in range(fresh.shape[0] // b.units):
            rows, old_rows = slice(g * b.units, g * b.units + a.units), slice(g * a.units, (g + 1) * a.units)
            if kind == "bias":
                out[rows] = old[old_rows]
            elif source == "hh" or int(layer) > 0:  # inputs are units: the new ones do not reach old ones yet
                out[rows, a.units:] = 0.0
                out[rows, :a.units] = old[old_rows]
            elif a.embedding:  # first layer on an embedding (+ controls): the same inputs
                out[rows] = old[old_rows]
            else:  # first layer on one-hot tokens, then the controls after the last token
                out[rows, :n_old] = old[old_rows, :n_old]
                if a.control_size:
                    out[rows, b.vocab_size:] = old[old_rows, n_old:]
    else:
        raise InvalidArgument(f"--init-from: weight {name} of shape {tuple(old.shape)} does not fit {tuple(fresh.shape)}")
    return out
