"""Continue a piece from a point, or replace a span of it with new material: what the editor's
"continue from here" and "regenerate selection" call.

The point and span are in the model's codec's unit (`codec.unit`: seconds, or bars numbered from 1 as a
musician counts). What is kept, what is sampled and how the result is put together is the codec's
(`SamplingRules.edit_plan` / `edited`, in the codec's folder); this module runs the sampling.
"""
from __future__ import annotations

from ..nn import SequenceModel
from ..music import Piece
from .sampler import Candidate, Generation, Settings

CONTEXT_SECONDS = 30.0


def continue_piece(piece: Piece, model: SequenceModel, at: float, settings: Settings | None = None, n: int = 1,
                   context_seconds: float = CONTEXT_SECONDS, progress=None, should_stop=None) -> list[Candidate]:
    """`n` continuations of `piece` from `at` (in the codec's unit: seconds, or a bar number, new material
    replacing bar `at` onwards). Each candidate's `.piece` is the whole result."""
    return _edit(piece, model, at, None, settings, n, context_seconds, progress, should_stop)


def regenerate(piece: Piece, model: SequenceModel, start: float, end: float, settings: Settings | None = None,
               n: int = 1, context_seconds: float = CONTEXT_SECONDS, progress=None, should_stop=None) -> list[Candidate]:
    """`n` versions of `piece` with the span start..end replaced (seconds [start, end), or bars start..end
    inclusive, by the codec's unit); everything outside the span is kept."""
    return _edit(piece, model, start, end, settings, n, context_seconds, progress, should_stop)


def _edit(piece, model, start, end, settings, n, context_seconds, progress, should_stop):
    from ..codecs import codec_from_config

    rules = codec_from_config(model.codec_config).rules()
    settings = Settings(**{**(settings or Settings()).__dict__})
    edit = rules.edit_plan(piece, start, end, settings, context_seconds)
    gen = Generation(model, n, edit.settings, plan=edit.plan)
    candidates = gen.run(progress, should_stop)
    for cand in candidates:
        cand.piece = rules.edited(piece, edit, cand)
    return candidates


def bar_ends(rules, body: list[int]) -> list[int]:
    """Index just after each bar line that closes a bar holding notes (the rules of a codec counting bars)."""
    return rules.bar_ends(body)
