"""Sampling rules of the REMI codec: a length in bars, counted by `Bar` tokens (each one after the first
closes a bar), so a piece asked for N bars ends as bar N+1 would begin (that last `Bar` is dropped)."""
from __future__ import annotations

from ..rules import SamplingRules


class RemiRules(SamplingRules):
    settings = ("bars",)
    clock_fields = {"clock": "int", "started": "bool"}

    def __init__(self, codec):
        super().__init__(codec)
        self.is_bar = self.mask([t for t in codec.vocab if t == "Bar"])

    def clock_tables(self):
        return {"is_bar": self.is_bar}

    def advance(self, clock, tokens, tables):
        bar = tables["is_bar"][tokens]
        clock["clock"] += bar & clock["started"]
        clock["started"] = clock["started"] | bar

    def limit(self, settings):
        return getattr(settings, "bars", None)

    def lengths(self):
        return self.is_bar.astype(float).tolist()

    def finish(self, ids, limit):
        if limit is not None and len(ids) and self.is_bar[ids[-1]]:
            return ids[:-1]  # the bar line that would start the bar after the last one asked for
        return ids
