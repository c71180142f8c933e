"""What sampling needs to know about a codec: which tokens may come where, how far a piece has got (in the
codec's `unit`), how to tidy a finished sequence and how to decode it. Numpy only, so a codec and its rules
import without torch; `studio.generation.rules` turns the masks and clock tables into tensors on the device.

A `SamplingRules` object turns user controls (meter, mode, start notes, primer, length) into a fixed prefix,
per-position token masks and a clock: an integer per stream that `advance` moves on from per-token tables
(`clock_tables`). `advance` uses only indexing and `+ & | ~`, so the same code runs on numpy arrays (here, in
tests) and on tensors (the sampler).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgument
from ..music import Piece
from .base import SPECIAL_TOKENS


@dataclass
class Plan:
    """Tokens fed before sampling (`prefix`, starting with `<s>`), then masks for the first sampled positions."""

    prefix: list[int]
    masks: list  # bool [vocab] arrays for sampled positions 0, 1, ... (then `SamplingRules.body`)
    header: list[int]  # tokens that belong to the piece (primer body), prefix without `<s>`
    exact_length: bool = False  # end at the length asked for even where the tune cannot end cleanly (a span)


@dataclass
class EditPlan:
    """How a codec continues a piece from a point or replaces a span: the plan to sample from, the settings
    to sample with, and how a sampled candidate becomes the whole edited piece (`SamplingRules.edited`)."""

    plan: Plan
    settings: object
    state: dict


class SamplingRules:
    """Base: every codec token may be sampled; `</s>` ends a piece unless a length is asked for.

    Subclasses (one per codec, in the codec's folder) say which `Settings` fields they take (`settings`;
    the others are refused by name in `check`), how lengths are counted, and how editing works."""

    scale = 1  # clock ticks per unit
    settings: tuple[str, ...] = ()  # the length/header/primer settings this codec takes (the GUI shows these)
    clock_fields: dict[str, str] = {"clock": "int"}  # name -> "int" | "bool": the per-stream clock state
    default_length: float | None = None  # a length (in `unit`) when neither a length nor max tokens is given
    # The grammar guard `guards` gives, as a user turns it off and on (None: this codec samples unguarded):
    # (label, what it keeps). On by default (Settings.guard); off gives the model's raw choices.
    guard_text: tuple[str, str] | None = None
    # Token classes ((first id, end id) ranges) inside which a guard's mask moves the forbidden members' mass
    # to the allowed ones, in the model's own proportions, instead of spreading it over every token: the guard
    # then constrains which member (which sounding note a NOTE_OFF ends), not whether the class is chosen.
    guard_groups: tuple[tuple[int, int], ...] = ()
    # A guarded piece ends only where its guard `can_end()` (a tune at a clean bar, its repeat closed by the
    # guard's `ending()`), and near --max-tokens at the first such point; False: it ends where it stops.
    clean_ends = False

    OPTIONAL = ("meter", "mode", "start", "key", "bars", "seconds", "primer_seconds")  # what `settings` picks from

    def __init__(self, codec):
        self.codec = codec
        self.unit = codec.unit
        v = codec.vocab_size
        self.body = np.ones(v, dtype=bool)
        for special in SPECIAL_TOKENS:
            self.body[codec.index[special]] = False
        self.body_with_end = self.body.copy()
        self.body_with_end[codec.eos_id] = True

    def mask(self, names) -> np.ndarray:
        m = np.zeros(self.codec.vocab_size, dtype=bool)
        m[[self.codec.index[n] for n in names]] = True
        return m

    # the clock: an integer per stream, advanced by each sampled token
    def clock_tables(self) -> dict[str, np.ndarray]:
        """Per-token tables `advance` reads (moved to the sampler's device once)."""
        return {}

    def advance(self, clock: dict, tokens, tables: dict) -> None:
        pass

    def limit(self, settings) -> int | None:
        return None

    def lengths(self) -> list[float]:
        """How far each token moves a piece on, in `unit` (for watching a stream grow)."""
        return [0.0] * self.codec.vocab_size

    def finish(self, ids: np.ndarray, limit: int | None) -> np.ndarray:
        """The generated ids made final (e.g. the last time shift cut back to the length asked for)."""
        return ids

    def decode(self, ids: np.ndarray, settings) -> Piece:
        return self.codec.decode(ids)

    def guards(self, n: int, prefix: list[int]) -> list | None:
        """One grammar guard per candidate, having read `prefix` (None: this codec samples unguarded)."""
        return None

    def plan(self, settings, primer: Piece | None = None) -> Plan:
        if primer is not None:
            raise InvalidArgument(f"a primer piece is not used by {self.codec.name} models")
        return Plan([self.codec.bos_id], [], [])

    def check(self, settings) -> None:
        """Refuse controls this codec has no use for, naming them."""
        other = [name for name in self.OPTIONAL if name not in self.settings and getattr(settings, name, None)]
        if other:
            raise InvalidArgument(f"{', '.join('--' + o.replace('_', '-') for o in other)} "
                                  f"do(es) not apply to {self.codec.name} models")

    # editing: continue from a point, regenerate a span
    def edit_plan(self, piece: Piece, start, end, settings, context_seconds: float) -> EditPlan:
        """Where sampling starts to continue `piece` from `start` (to `end`: a span), in the codec's unit."""
        raise InvalidArgument(f"continue/regenerate is not available for {self.codec.name} models")

    def edited(self, piece: Piece, edit: EditPlan, candidate) -> Piece:
        """The whole piece once `candidate` (sampled from `edit.plan`) is put in place. Only reached after
        `edit_plan` gave a plan, so a codec that plans edits overrides both; the base refuses as its plan does."""
        raise InvalidArgument(f"continue/regenerate is not available for {self.codec.name} models")
