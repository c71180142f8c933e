"""One recurrent step for a whole batch, with the model's weights rearranged for single-token stepping.

`nn.LSTM` called on one token at a time pays for a full sequence kernel each call and, with one-hot input,
multiplies a mostly-zero vector by the whole input matrix. Here the first layer's input projection (of the
one-hot vector or the embedding) and both biases are precomputed into one table indexed by token, deeper
layers multiply `[x, h]` by one concatenated matrix, and the gate arithmetic runs in place. The numbers are
the model's own weights; only the order of floating-point additions differs from `nn.LSTM`.

On the CPU, a model whose weights are all exactly float16 values (every shipped model: they are stored in
float16) multiplies with fbgemm's packed-float16 kernels, which read half the bytes and compute in float32:
the same products to rounding, about twice as fast at batch 1, where a step is bound by reading the
weights (bench/sample_speed.py). Any other model keeps float32 products.
"""
from __future__ import annotations

import contextlib
import functools

import torch

from ..nn import SequenceModel


@functools.cache
def _packed_half_available() -> bool:
    """Whether fbgemm's packed-float16 product runs here and gives the float32 product (fbgemm needs AVX2;
    a build or CPU without it keeps float32 products)."""
    try:
        w = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8
        x = torch.ones(2, 4)
        out = torch.ops.quantized.linear_dynamic_fp16(x, torch.ops.quantized.linear_prepack_fp16(w, None))
        return bool(torch.allclose(out, x @ w.t()))
    except (AttributeError, RuntimeError):
        return False


def _exactly_half(tensors) -> bool:
    return all(torch.equal(t, t.half().float()) for t in tensors)


class _Product:
    """`add + x @ w` for a fixed `w` ([in, out]): float32 `addmm`, or fbgemm's packed-float16 product (which
    keeps only the packed copy)."""

    def __init__(self, w: torch.Tensor, packed_half: bool):
        self.packed = torch.ops.quantized.linear_prepack_fp16(w.t().contiguous(), None) if packed_half else None
        self.w = None if packed_half else w.contiguous()

    def __call__(self, add: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.packed is None:
            return torch.addmm(add, x, self.w)
        return torch.ops.quantized.linear_dynamic_fp16(x, self.packed).add_(add)


class FastStepper:
    """`step(tokens, state) -> logits` with `state` a list of per-layer tensors ((h, c) pairs for LSTM)."""

    def __init__(self, model: SequenceModel):
        c = model.config
        self.cell, self.layers, self.units = c.cell, c.layers, c.units
        self.device = model.head.weight.device
        self.packed_half = (self.device.type == "cpu" and model.head.weight.dtype == torch.float32
                            and _packed_half_available() and _exactly_half(model.parameters()))
        product = lambda m: _Product(m, self.packed_half)  # noqa: E731
        rnn = model.rnn
        with torch.no_grad():
            w = lambda name, layer: getattr(rnn, f"{name}_l{layer}").detach()  # noqa: E731
            inputs = model.embed.weight.detach() if model.embed is not None else None
            w_ih0 = w("weight_ih", 0)
            width = c.embedding or c.vocab_size  # the token's part of the first layer's input; controls follow
            self.w_controls = w_ih0[:, width:].t().contiguous() if c.control_size else None  # [controls, gates]
            w_ih0 = w_ih0[:, :width]
            first = w_ih0.t() if inputs is None else inputs @ w_ih0.t()  # [vocab, gates]
            if self.cell == "gru":  # the hidden bias sits inside the reset gate for GRU: keep it apart
                self.table = (first + w("bias_ih", 0)).contiguous()
                self.b_hh = [w("bias_hh", layer) for layer in range(c.layers)]
                self.w_ih = [None] + [product(w("weight_ih", layer).t()) for layer in range(1, c.layers)]
                self.b_ih = [None] + [w("bias_ih", layer) for layer in range(1, c.layers)]
            else:
                self.table = (first + w("bias_ih", 0) + w("bias_hh", 0)).contiguous()
                self.w_cat = [None] + [product(torch.cat([w("weight_ih", layer), w("weight_hh", layer)], 1).t())
                                       for layer in range(1, c.layers)]
                self.bias = [None] + [w("bias_ih", layer) + w("bias_hh", layer) for layer in range(1, c.layers)]
            self.w_hh = [product(w("weight_hh", layer).t()) for layer in range(c.layers)]
            self.head_w = product(model.head.weight.detach().t())
            self.head_b = model.head.bias.detach()

    # ------------------------------------------------------------------ state in the model's layout
    def initial_state(self, batch: int) -> list:
        zeros = lambda: torch.zeros(batch, self.units, device=self.device)  # noqa: E731
        return [(zeros(), zeros()) if self.cell == "lstm" else zeros() for _ in range(self.layers)]

    def from_model_state(self, state) -> list:
        """nn.LSTM's ([layers, batch, units], ...) -> a list of per-layer tensors."""
        if self.cell == "lstm":
            h, c = state
            return [(h[i].contiguous(), c[i].contiguous()) for i in range(self.layers)]
        return [state[i].contiguous() for i in range(self.layers)]

    @staticmethod
    def select(state: list, rows: torch.Tensor) -> list:
        """The state of some batch rows only (finished candidates dropped, or one row repeated)."""
        return [(layer[0][rows], layer[1][rows]) if isinstance(layer, tuple) else layer[rows] for layer in state]

    def control_gates(self, controls: torch.Tensor) -> torch.Tensor:
        """The first layer's input from control vectors [batch, control_size]: computed once per change of
        controls and passed to every `step` (a constant control costs nothing per step)."""
        if self.w_controls is None:
            raise ValueError("this model was trained without controls")
        return controls.to(self.w_controls.dtype) @ self.w_controls

    # ------------------------------------------------------------------ one step
    def step(self, tokens: torch.Tensor, state: list, head_bias: torch.Tensor | None = None,
             control_gates: torch.Tensor | None = None) -> torch.Tensor:
        """tokens [batch] int64; `state` is updated in place (new tensors per layer); returns logits.
        `head_bias` replaces the output bias (a bias holding -inf masks tokens out at no extra cost);
        `control_gates` ([batch, gates], from `control_gates`) adds the controls' input."""
        x = None
        for layer in range(self.layers):
            first = None
            if layer == 0:
                first = self.table[tokens] if control_gates is None else self.table[tokens] + control_gates
            if self.cell == "lstm":
                h, c = state[layer]
                if layer == 0:
                    gates = self.w_hh[0](first, h)
                else:
                    gates = self.w_cat[layer](self.bias[layer], torch.cat([x, h], 1))
                i, f, g, o = gates.chunk(4, 1)
                c = torch.sigmoid(f).mul_(c).add_(torch.sigmoid(i).mul_(torch.tanh(g)))
                x = torch.sigmoid(o).mul_(torch.tanh(c))
                state[layer] = (x, c)
            elif self.cell == "gru":
                h = state[layer]
                gi = first if layer == 0 else self.w_ih[layer](self.b_ih[layer], x)
                gh = self.w_hh[layer](self.b_hh[layer], h)
                ir, iz, in_ = gi.chunk(3, 1)
                hr, hz, hn = gh.chunk(3, 1)
                r = torch.sigmoid(ir.add(hr))
                z = torch.sigmoid(iz.add(hz))
                n = torch.tanh(in_.add(r.mul_(hn)))
                x = n.add(z.mul(h.sub(n)))  # (1 - z) * n + z * h
                state[layer] = x
            else:
                h = state[layer]
                if layer == 0:
                    pre = self.w_hh[0](first, h)
                else:
                    pre = self.w_cat[layer](self.bias[layer], torch.cat([x, h], 1))
                x = torch.tanh(pre)
                state[layer] = x
        return self.head_w(self.head_b if head_bias is None else head_bias, x)


def stepper_for(model: SequenceModel) -> FastStepper:
    """The model's FastStepper, built once and kept on the model while its weights are unchanged (a
    generation per tune or per candidate would otherwise rearrange and pack every weight each time). The key
    is each parameter's storage and in-place version counter, so training or moving the model rebuilds it."""
    try:
        key = tuple((p.data_ptr(), p._version) for p in model.parameters())
    except RuntimeError:  # inference-mode tensors keep no version counter: build afresh
        return FastStepper(model)
    cached = getattr(model, "_studio_stepper", None)
    if cached is None or cached[0] != key:
        cached = (key, FastStepper(model))
        model._studio_stepper = cached
    return cached[1]


@contextlib.contextmanager
def cpu_tuned(batch: int, device: torch.device, threads: int | None = None):
    """CPU sampling settings, restored afterwards: denormal floats flushed to zero (a decaying LSTM cell
    state otherwise drifts into denormals, which are slow to compute with); one thread for up to 8 streams (starting
    threads for a vector-matrix product costs more than the product), else half the cores, leaving the
    rest to the GUI and playback (busy-waiting threads on a loaded machine cost up to 7x; see
    bench/sample_speed.py). `threads` overrides."""
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    flushed = torch.set_flush_denormal(True)
    torch.set_num_threads(threads or (1 if batch <= 8 else max(1, previous // 2)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
        if flushed:
            torch.set_flush_denormal(False)
