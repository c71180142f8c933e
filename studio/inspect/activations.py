"""What a model computes over a whole piece: per-token surprise, its top predictions, and every layer's
hidden output h (and LSTM cell state c) after each token.

The layers are run one at a time, each as a one-layer torch RNN holding that layer's own weights, so the
logits are exactly the model's (`tests/test_inspect.py` checks them against `SequenceModel.forward`). torch's
LSTM returns only the hidden sequence, so the cell states are recovered from it: with h known at every
step, all gates come from two large matrix products, and c_t = f_t * c_{t-1} + i_t * g_t is an
element-wise linear recurrence, run as a blocked scan (about 2*sqrt(T) vector operations, not T).
Long pieces go through in time chunks that carry the state, so memory stays bounded.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidArgument

TOP = 5
CHUNK = 8192  # tokens per time chunk


@dataclass
class ModelRun:
    """One piece under one model. Row t of every array is about body token t (the last row: `</s>`).

    `surprise[t]` = -log p(token t | everything before it), nats; their sum is the piece's NLL as
    `studio evaluate` counts it (`<s> ids </s>`, every target scored). `hidden[l][t]` / `cell[l][t]` are
    layer l's h and c right after reading token t (float16, to keep long performances in memory);
    `cell` is None for GRU/RNN models."""

    ids: np.ndarray  # body token ids [T]
    targets: np.ndarray  # ids then </s> [T + 1]
    surprise: np.ndarray  # float64 [T + 1]
    top_ids: np.ndarray  # int64 [T + 1, TOP]: most likely tokens at each place (before seeing it)
    top_p: np.ndarray  # float32 [T + 1, TOP]
    hidden: list | None  # per layer: float16 [T, units]
    cell: list | None

    @property
    def nll(self) -> float:
        return float(self.surprise.sum())

    @property
    def layers(self) -> int:
        return len(self.hidden) if self.hidden else 0

    def activation(self, layer: int, kind: str, unit: int) -> np.ndarray:
        """One unit's activation over the body tokens: kind "h" (hidden output) or "c" (cell state)."""
        source = self.hidden if kind == "h" else self.cell
        if source is None:
            raise InvalidArgument(f"this model has no {'cell state' if kind == 'c' else 'activations'} to show")
        if not 0 <= layer < len(source) or not 0 <= unit < source[layer].shape[1]:
            raise InvalidArgument(f"no unit {unit} in layer {layer}")
        return source[layer][:, unit].astype(np.float32)


def _layer_module(model, layer: int) -> nn.Module:
    """A one-layer torch RNN of the model's cell type holding layer `layer`'s weights (shared, not copied)."""
    rnn, c = model.rnn, model.config
    single = type(rnn)(getattr(rnn, f"weight_ih_l{layer}").shape[1], c.units, num_layers=1, batch_first=True)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        setattr(single, f"{name}_l0", getattr(rnn, f"{name}_l{layer}"))
    return single.to(model.head.weight.device).eval()


def scan_cells(f: torch.Tensor, u: torch.Tensor, c0: torch.Tensor, block: int = 0) -> torch.Tensor:
    """c_t = f_t * c_{t-1} + u_t for t = 0..T-1 from c0; f, u [T, units]. Blocked: within each block the
    recurrence runs for all blocks at once from zero, then block ends are chained, then each block adds
    its start value times the running product of f (no division, so no blow-up when f is tiny)."""
    T, units = f.shape
    if T == 0:
        return f.new_zeros(0, units)
    block = block or max(1, int(T ** 0.5))
    n = -(-T // block)
    pad = n * block - T
    if pad:
        f = torch.cat([f, f.new_ones(pad, units)])
        u = torch.cat([u, u.new_zeros(pad, units)])
    fb, ub = f.view(n, block, units), u.view(n, block, units)
    local = torch.empty_like(ub)
    prod = torch.empty_like(fb)
    acc, run = ub[:, 0].clone(), fb[:, 0].clone()
    local[:, 0], prod[:, 0] = acc, run
    for k in range(1, block):
        acc = torch.addcmul(ub[:, k], fb[:, k], acc)
        run = run * fb[:, k]
        local[:, k], prod[:, k] = acc, run
    starts = torch.empty(n, units, dtype=f.dtype, device=f.device)
    carry = c0
    for j in range(n):
        starts[j] = carry
        carry = torch.addcmul(local[j, -1], prod[j, -1], carry)
    out = torch.addcmul(local, prod, starts[:, None, :])
    return out.reshape(n * block, units)[:T]


def run_model(model, ids, keep_activations: bool = True, chunk: int = CHUNK, threads: int | None = 1) -> ModelRun:
    """Score a piece (body ids, no specials) under `model` the way evaluation does, layer by layer.

    One torch thread by default: the recurrence is a chain of vector-matrix products, and extra threads
    spin-waiting between them cost 20x on a busy machine (bench/inspect_speed.py); denormals flushed."""
    from ..generation.stepper import cpu_tuned

    with cpu_tuned(8, model.head.weight.device, threads), torch.no_grad():
        return _run(model, ids, keep_activations, chunk)


def _run(model, ids, keep_activations: bool, chunk: int) -> ModelRun:
    from ..codecs import codec_from_config

    codec = codec_from_config(model.codec_config) if hasattr(model, "codec_config") else None
    bos, eos = (codec.bos_id, codec.eos_id) if codec else (model.config.vocab_size - 2, model.config.vocab_size - 1)
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) and (ids.min() < 0 or ids.max() >= model.config.vocab_size):
        raise InvalidArgument(f"token ids must lie in 0..{model.config.vocab_size - 1}")
    device = model.head.weight.device
    seq = torch.from_numpy(np.concatenate([[bos], ids, [eos]])).to(device)
    inputs, targets = seq[:-1], seq[1:]
    cfg = model.config
    layers = [_layer_module(model, layer) for layer in range(cfg.layers)]
    lstm = cfg.cell == "lstm"
    state = [None] * cfg.layers
    T = len(ids)
    surprise = np.empty(T + 1)
    top_ids = np.empty((T + 1, TOP), dtype=np.int64)
    top_p = np.empty((T + 1, TOP), dtype=np.float32)
    hidden = [np.empty((T, cfg.units), dtype=np.float16) for _ in layers] if keep_activations else None
    cell = [np.empty((T, cfg.units), dtype=np.float16) for _ in layers] if keep_activations and lstm else None
    k = min(TOP, cfg.vocab_size)
    for s in range(0, T + 1, chunk):
        x = model._inputs(inputs[s:s + chunk][None])  # a conditioned model reads its controls as absent
        for layer, module in enumerate(layers):
            out, new_state = module(x, state[layer])
            if keep_activations:
                rows = slice(max(s - 1, 0), min(s + chunk, T + 1) - 1)  # input t+1 is body token t
                skip = 1 if s == 0 else 0  # the state after <s> is not about any body token
                hidden[layer][rows] = out[0, skip:].cpu().numpy()
                if lstm:
                    c0 = state[layer][1][0, 0] if state[layer] is not None else out.new_zeros(cfg.units)
                    h_prev = torch.cat([(state[layer][0][0] if state[layer] is not None
                                         else out.new_zeros(1, cfg.units)), out[0, :-1]])
                    gates = (x[0] @ module.weight_ih_l0.t() + h_prev @ module.weight_hh_l0.t()
                             + module.bias_ih_l0 + module.bias_hh_l0)
                    i, f, g, _o = gates.chunk(4, 1)
                    c = scan_cells(torch.sigmoid(f), torch.sigmoid(i) * torch.tanh(g), c0)
                    cell[layer][rows] = c[skip:].cpu().numpy()
            state[layer] = new_state
            x = out
        logp = F.log_softmax(model.head(x[0]).float(), dim=-1)
        tgt = targets[s:s + chunk]
        surprise[s:s + len(tgt)] = (-logp.gather(1, tgt[:, None])[:, 0]).double().cpu().numpy()
        values, index = logp.topk(k, dim=-1)
        top_ids[s:s + len(tgt), :k] = index.cpu().numpy()
        top_p[s:s + len(tgt), :k] = values.exp().cpu().numpy()
    return ModelRun(ids, targets.cpu().numpy(), surprise, top_ids, top_p, hidden, cell)


@torch.no_grad()
def next_predictions(model, ids, k: int = 10) -> list[tuple[int, float]]:
    """The model's k most likely next tokens after `<s> ids` (what it would play here), with probabilities."""
    from ..codecs import codec_from_config

    codec = codec_from_config(model.codec_config)
    seq = torch.from_numpy(np.concatenate([[codec.bos_id], np.asarray(ids, dtype=np.int64)])).to(model.head.weight.device)
    logits, _ = model(seq[None])
    p = F.softmax(logits[0, -1].float(), dim=-1)
    values, index = p.topk(min(k, len(p)))
    return [(int(i), float(v)) for i, v in zip(index.tolist(), values.tolist())]
