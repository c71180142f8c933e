"""The torch side of a codec's sampling rules (`codec.rules()`, numpy): masks and clock tables as tensors
on the sampler's device. The sampler stays codec-blind; everything a codec decides lives in its rules."""
from __future__ import annotations

import torch

from ..codecs import Codec
from ..codecs.rules import EditPlan, Plan, SamplingRules

CLOCK_DTYPES = {"int": torch.long, "bool": torch.bool}


class TorchRules:
    """A codec's `SamplingRules` with `body`/`body_with_end` as bool tensors and a clock on a device;
    every other attribute (plan, limit, finish, decode, guards, check, lengths, unit, scale) is the codec's."""

    def __init__(self, rules: SamplingRules):
        self.codec_rules = rules
        self.body = torch.from_numpy(rules.body.copy())
        self.body_with_end = torch.from_numpy(rules.body_with_end.copy())
        self._tables_np = rules.clock_tables()
        self._tables: dict = {}

    def __getattr__(self, name):
        return getattr(self.codec_rules, name)

    def clock_start(self, batch: int, device) -> dict:
        self._tables = {k: torch.from_numpy(v.copy()).to(device) for k, v in self._tables_np.items()}
        return {k: torch.zeros(batch, dtype=CLOCK_DTYPES[kind], device=device)
                for k, kind in self.codec_rules.clock_fields.items()}

    def advance(self, clock: dict, tokens: torch.Tensor) -> None:
        self.codec_rules.advance(clock, tokens, self._tables)

    def default_limit(self) -> int | None:
        """Clock ticks of the codec's default length (None: the codec has none; max tokens ends a piece)."""
        length = self.codec_rules.default_length
        return None if length is None else max(1, round(length * self.codec_rules.scale))


def rules_for(codec: Codec) -> TorchRules:
    return TorchRules(codec.rules())


__all__ = ["Plan", "EditPlan", "TorchRules", "rules_for"]
