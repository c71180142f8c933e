"""The sequence model: a stack of LSTM/GRU/RNN layers over token ids, predicting the next token.

One class serves training (whole windows at once, `forward`) and generation (one token at a time with the
recurrent state carried by the caller, `step`), so a trained model samples with exactly the weights and
code it was trained with.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidArgument

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}  # the modules for studio.nn.cells.CELL_NAMES


@dataclass
class ModelConfig:
    """The architecture, exactly as saved in `model.json` under "architecture"."""

    vocab_size: int
    cell: str = "lstm"
    layers: int = 2
    units: int = 256
    embedding: int = 0  # 0: one-hot input (as folk-rnn and Performance RNN); >0: a learned embedding
    dropout: float = 0.0  # between stacked layers and after the last one
    tie_weights: bool = False  # share the embedding matrix with the output layer (needs embedding == units)
    control_size: int = 0  # extra inputs at every step (the codec's conditioning controls); 0: none

    def __post_init__(self):
        problems = []
        if self.cell not in CELLS:
            problems.append(f"cell must be one of {', '.join(CELLS)}, not {self.cell!r}")
        for name in ("vocab_size", "layers", "units"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name} must be a positive integer, not {value!r}")
        if not isinstance(self.control_size, int) or isinstance(self.control_size, bool) or self.control_size < 0:
            problems.append(f"control_size must be 0 (no controls) or a positive integer, not {self.control_size!r}")
        if not isinstance(self.embedding, int) or self.embedding < 0:
            problems.append(f"embedding must be 0 (one-hot) or a positive integer, not {self.embedding!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), not {self.dropout!r}")
        if self.tie_weights and self.embedding != self.units:
            problems.append(f"weight tying needs an embedding as wide as the layers "
                            f"(embedding {self.embedding}, units {self.units})")
        if problems:
            raise InvalidArgument("; ".join(problems))

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InvalidArgument(f"unknown architecture fields: {', '.join(unknown)}")
        if "vocab_size" not in d:
            raise InvalidArgument("architecture lacks vocab_size")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


class SequenceModel(nn.Module):
    """Token ids in, next-token logits out; `step` runs one token for a whole batch of streams."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.embedding) if c.embedding else None
        self.rnn = CELLS[c.cell]((c.embedding or c.vocab_size) + c.control_size, c.units, num_layers=c.layers,
                                 dropout=c.dropout if c.layers > 1 else 0.0, batch_first=True)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.units, c.vocab_size)
        if c.tie_weights:
            self.head.weight = self.embed.weight
        if c.cell == "lstm":  # a forget-gate bias of 1 lets gradients through early in training
            for name, bias in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    with torch.no_grad():
                        bias[c.units:2 * c.units].fill_(1.0)

    def _inputs(self, tokens: torch.Tensor, controls: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            x = self.embed(tokens)
        else:
            x = F.one_hot(tokens, self.config.vocab_size).to(self.head.weight.dtype)
        size = self.config.control_size
        if not size:
            return x
        if controls is None:  # every control absent
            controls = x.new_zeros(*tokens.shape, size)
        elif controls.dim() == 2:  # one control vector per stream, the same at every step
            controls = controls[:, None, :].expand(*tokens.shape, size)
        return torch.cat([x, controls.to(x.dtype)], -1)

    def forward(self, tokens: torch.Tensor, state=None, controls: torch.Tensor | None = None):
        """tokens: [batch, time] int64 -> (logits [batch, time, vocab], new state). `controls`
        ([batch, time, control_size], or [batch, control_size] for the same at every step) goes beside
        each token for models trained with controls; None means every control absent."""
        out, state = self.rnn(self._inputs(tokens, controls), state)
        return self.head(self.drop(out)), state

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, state=None, controls: torch.Tensor | None = None):
        """One token per stream: tokens [batch] -> (logits [batch, vocab], new state). State None = start.

        The state is the cell's own: (h, c) for LSTM, h for GRU/RNN, each [layers, batch, units]; index
        dimension 1 to keep or reorder streams.
        """
        logits, state = self.forward(tokens.reshape(-1, 1), state, controls)
        return logits[:, 0], state

    def initial_state(self, batch: int, device=None):
        """Zeros: what `state=None` means, for callers that want to keep or edit the state explicitly."""
        c = self.config
        device = device or self.head.weight.device
        h = torch.zeros(c.layers, batch, c.units, device=device)
        return (h, h.clone()) if c.cell == "lstm" else h

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
