"""Continue a piece from a point, or replace a span of it with new material: what the editor's
"continue from here" and "regenerate selection" call.

Performance models work in seconds. The music before the point (the last `context_seconds`, pedal folded
in) is the primer; what is sampled is decoded on its own and moved into place, so the original notes
outside the span are kept exactly (notes sounding across the start of the span end there). A regenerated
span is sampled to exactly its length and every note it opens is closed by its end, so nothing hangs into
the music after it; same-pitch overlaps inside the new material are ended at the re-strike.

Folk models work in bars (numbered from 1, as a musician counts): the tune's tokens up to the first bar are
the primer, exactly `last - first + 1` bars are sampled, and the tokens after the span follow unchanged.
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import InvalidArgument, UnsupportedContent
from ..music import Piece
from ..nn import SequenceModel
from .rules import FolkRules, Plan
from .sampler import Candidate, Generation, Settings

CONTEXT_SECONDS = 30.0


def continue_piece(piece: Piece, model: SequenceModel, at: float, settings: Settings | None = None, n: int = 1,
                   context_seconds: float = CONTEXT_SECONDS, progress=None, should_stop=None) -> list[Candidate]:
    """`n` continuations of `piece` from `at` (seconds for performance models, a bar number for folk models:
    new material replaces bar `at` onwards). Each candidate's `.piece` is the whole result."""
    return _edit(piece, model, at, None, settings, n, context_seconds, progress, should_stop)


def regenerate(piece: Piece, model: SequenceModel, start: float, end: float, settings: Settings | None = None,
               n: int = 1, context_seconds: float = CONTEXT_SECONDS, progress=None, should_stop=None) -> list[Candidate]:
    """`n` versions of `piece` with the span start..end replaced (seconds [start, end) for performance
    models; bars start..end inclusive for folk models); everything outside the span is kept."""
    return _edit(piece, model, start, end, settings, n, context_seconds, progress, should_stop)


def _edit(piece, model, start, end, settings, n, context_seconds, progress, should_stop):
    from ..codecs import codec_from_config

    codec = codec_from_config(model.codec_config)
    settings = Settings(**{**(settings or Settings()).__dict__})
    if codec.name == "folk":
        return _edit_folk(piece, model, codec, int(start), None if end is None else int(end), settings, n,
                          progress, should_stop)
    if codec.name != "performance":
        raise InvalidArgument(f"continue/regenerate work with performance and folk models, not {codec.name!r}")
    if start < 0:
        raise InvalidArgument(f"the point to continue from must not be negative (got {start} s)")
    if end is not None and not end > start:
        raise InvalidArgument(f"the span to regenerate is empty ({start} s to {end} s)")
    if end is not None:
        settings.seconds = float(end - start)
    gen = Generation(model, n, settings, plan=_performance_plan(codec, piece, start, context_seconds))
    candidates = gen.run(progress, should_stop)
    for cand in candidates:
        cand.piece = _splice(codec, piece, _new_notes(codec, gen.plan.header, cand.ids, start), start, end)
    return candidates


def _performance_plan(codec, piece: Piece, at: float, context_seconds: float) -> Plan:
    from .rules import PerformanceRules

    rules = PerformanceRules(codec)
    notes = codec.prepare(piece).notes
    begin = max(0.0, at - context_seconds)
    notes = notes[(notes["start"] >= begin) & (notes["start"] < at)].copy()
    notes["end"] = np.minimum(notes["end"], at)
    notes["start"] -= begin
    notes["end"] -= begin
    ids = rules.primer_ids(notes, at - begin)
    return Plan([codec.bos_id] + ids, [], ids)


def _new_notes(codec, context: list[int], ids: np.ndarray, at: float) -> np.ndarray:
    """The sampled notes alone, at their place in the piece, with the velocity in force at the point."""
    velocities = [t for t in context if codec.velocity0 <= t < codec.events]
    lead = velocities[-1:]
    new = codec.prepare(codec.decode(np.asarray(lead + ids.tolist(), dtype=np.int64))).notes.copy()
    new["start"] += at
    new["end"] += at
    return new


def _splice(codec, piece: Piece, new: np.ndarray, start: float, end: float | None) -> Piece:
    """Original notes before `start` (cut there), the new notes, original notes from `end` on."""
    notes = piece.notes
    before = notes[notes["start"] < start].copy()
    before["end"] = np.minimum(before["end"], start)
    after = notes[notes["start"] >= end] if end is not None else notes[:0]
    pedals = piece.pedals
    kept_pedals = pedals[pedals["start"] < start].copy()
    kept_pedals["end"] = np.minimum(kept_pedals["end"], start)
    if end is not None:
        kept_pedals = np.concatenate([kept_pedals, pedals[pedals["start"] >= end]])
    new = new.astype(notes.dtype)
    if len(new) and len(notes):  # the new notes take the first melodic track and program of the piece
        pitched = notes[~notes["is_drum"]]
        new["track"], new["program"] = (pitched["track"][0], pitched["program"][0]) if len(pitched) else (0, 0)
    merged = np.concatenate([before, new, after])
    out = piece.copy()
    out.notes = merged[np.lexsort((merged["pitch"], merged["start"]))]
    out.pedals = kept_pedals
    out.warnings = []
    return out


# ---------------------------------------------------------------------------------------------- folk
def bar_ends(rules: FolkRules, body: list[int]) -> list[int]:
    """Index just after each bar line that closes a bar holding notes (empty bars, e.g. `|:` first, skipped)."""
    ends, notes = [], False
    is_bar, is_event = rules.is_bar.tolist(), rules.is_event.tolist()
    for j, token in enumerate(body):
        if is_bar[token]:
            if notes:
                ends.append(j + 1)
            notes = False
        elif is_event[token]:
            notes = True
    return ends


def _edit_folk(piece, model, codec, first: int, last: int | None, settings, n, progress, should_stop):
    rules = FolkRules(codec)
    try:
        tokens = codec.encode(piece).tolist()
    except UnsupportedContent as exc:
        raise InvalidArgument(f"this tune cannot be tokenised for the model: {exc.reason}") from None
    header, body = tokens[:2], tokens[2:]
    ends = bar_ends(rules, body)
    if not 1 <= first <= len(ends) + (last is None) or (last is not None and not first <= last <= len(ends)):
        if last is not None and last < first:
            raise InvalidArgument(f"the span to regenerate is empty (bars {first} to {last})")
        span = f"bars {first}..{last}" if last is not None else f"bar {first}"
        raise InvalidArgument(f"{span} is outside the tune, which has {len(ends)} bars (numbered from 1)")
    cut = ends[first - 2] if first > 1 else _leading_bar_lines(rules, body)
    prefix = header + body[:cut]
    tail = []
    if last is not None:
        settings.bars = last - first + 1
        tail = body[ends[last - 1]:]
    key = settings.key or (piece.key.tonic if piece.key else None) or _abc_key(piece)
    settings.key = key
    gen = Generation(model, n, settings, plan=Plan([codec.bos_id] + prefix, [], prefix, exact_length=bool(tail)))
    candidates = gen.run(progress, should_stop)
    for cand in candidates:
        cand.suffix = list(tail)
        cand.piece = codec.decode(cand.tokens, key=key, title=piece.title)
    return candidates


def _leading_bar_lines(rules, body):
    j = 0
    while j < len(body) and rules.is_bar[body[j]]:
        j += 1
    return j


def _abc_key(piece: Piece) -> str | None:
    m = re.search(r"^K:\s*([A-G][#b]?)", piece.meta.get("abc", ""), re.M)
    return m.group(1) if m else None
