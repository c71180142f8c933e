"""Sampling rules of the folk codec: meter and mode tokens only in the header, lengths in bars (bar lines
after at least one note), the grammar guard, start notes typed as ABC.

Editing works in bars (numbered from 1, as a musician counts): the tune's tokens up to the first bar are the
primer, exactly `last - first + 1` bars are sampled, and the tokens after the span follow unchanged.
"""
from __future__ import annotations

import re

import numpy as np

from ...errors import InvalidArgument, StudioError, UnsupportedContent
from ...music import Piece
from ..rules import EditPlan, Plan, SamplingRules


PRIMER_BARS = 4  # bars of a primer tune a folk model continues from


class FolkRules(SamplingRules):
    """Meter and mode tokens only in the header; length in bars (bar lines after at least one note)."""

    settings = ("meter", "mode", "start", "key", "bars")
    clock_fields = {"clock": "int", "notes_since_bar": "bool"}
    clean_ends = True
    guard_text = ("Keep every bar in time", "Only let the model write what is a playable tune: bars that fit the "
                  "meter (a pickup and the bar that completes it allowed), closed repeats, chords and tuplets. "
                  "Untick to hear the model's raw choices")

    def __init__(self, codec):
        super().__init__(codec)
        from .vocab import BARS

        vocab = codec.vocab
        self.meters = [t for t in vocab if t.startswith("M:")]
        self.modes = [t for t in vocab if t.startswith("K:")]
        self.body &= ~self.mask(self.meters + self.modes)
        self.body_with_end &= ~self.mask(self.meters + self.modes)
        self.is_bar = self.mask([t for t in BARS if t in codec.index])
        self.is_event = self.body & ~self.is_bar

    def clock_tables(self):
        return {"is_bar": self.is_bar, "is_event": self.is_event}

    def advance(self, clock, tokens, tables):
        bar = tables["is_bar"][tokens]
        clock["clock"] += bar & clock["notes_since_bar"]
        clock["notes_since_bar"] = (clock["notes_since_bar"] | tables["is_event"][tokens]) & ~bar

    def limit(self, settings):
        return getattr(settings, "bars", None)

    def lengths(self):
        return self.is_bar.astype(float).tolist()

    def meter_token(self, meter: str) -> str:
        token = meter if meter.startswith("M:") else f"M:{meter.strip()}"
        if token not in self.meters:
            raise InvalidArgument(f"meter {meter!r} is not in this model's vocabulary; valid: "
                                  f"{', '.join(t[2:] for t in self.meters)}")
        return token

    def mode_token(self, mode: str) -> str:
        from .vocab import MODE_NAMES

        word = mode.strip().removeprefix("K:C")
        short = next((k for k, v in MODE_NAMES.items() if word.lower() in (k, v)), word.lower())
        token = f"K:C{short}"
        if token not in self.modes:
            raise InvalidArgument(f"mode {mode!r} is not in this model's vocabulary; valid: "
                                  f"{', '.join(t[3:] for t in self.modes)}")
        return token

    def check(self, settings) -> None:
        super().check(settings)
        if settings.key:
            from .lexer import TuneSkip, parse_key

            try:
                parse_key(settings.key)
            except TuneSkip as exc:
                raise InvalidArgument(f"--key {settings.key!r}: {exc}") from None

    def plan(self, settings, primer: Piece | None = None) -> Plan:
        """`<s>`, then meter and mode (given or sampled from the header tokens), then the user's start notes."""
        idx = self.codec.index
        if primer is not None:
            header = self.primer_tokens(primer, settings)
            return Plan([self.codec.bos_id] + header, [], header)
        if settings.start:
            header = self.start_tokens(settings)
            return Plan([self.codec.bos_id] + header, [], header)
        fixed, masks = [], []
        meter = self.meter_token(settings.meter) if settings.meter else None
        mode = self.mode_token(settings.mode) if settings.mode else None
        if meter and mode:
            fixed = [idx[meter], idx[mode]]
        elif meter:
            fixed, masks = [idx[meter]], [self.mask(self.modes)]
        else:
            masks = [self.mask(self.meters), self.mask([mode]) if mode else self.mask(self.modes)]
        return Plan([self.codec.bos_id] + fixed, masks, fixed)

    def primer_tokens(self, primer: Piece, settings, bars: int = PRIMER_BARS) -> list[int]:
        """A tune's meter, mode and first `bars` bars (from its ABC text, or its melody for a MIDI file), as
        tokens on C: what a folk jam or generation continues from."""
        from .vocab import BARS

        source = primer.source or "the primer"
        try:
            ids = [int(i) for i in self.codec.encode(primer)]
        except StudioError as exc:
            raise InvalidArgument(f"{source}: cannot start a tune from it: {exc.message()}") from None
        words = [self.codec.vocab[i] for i in ids]
        if settings.meter and words[0] != self.meter_token(settings.meter) or \
                settings.mode and words[1] != self.mode_token(settings.mode):
            raise InvalidArgument(f"{source} is in {words[0][2:]} {words[1][3:]}, which contradicts the "
                                  "meter/mode asked for")
        seen, notes = 0, False
        for n, word in enumerate(words[2:], start=2):
            if word in BARS and notes:
                seen, notes = seen + 1, False
                if seen == bars:
                    return ids[:n + 1]
            elif word not in BARS:
                notes = True
        return ids

    def start_tokens(self, settings) -> list[int]:
        """The user's opening notes (an ABC body, or a tune with M:/K: lines) as tokens on C."""
        from .lexer import TuneSkip, parse_key

        text = settings.start
        has_header = any(line.strip().startswith("K:") for line in text.splitlines())
        meter = None if has_header else (self.meter_token(settings.meter)[2:] if settings.meter else "4/4")
        key = None
        if not has_header:  # the notes are read in --key (its tonic) and --mode
            tonic = parse_key(settings.key).tonic if settings.key else "C"
            key = tonic + (self.mode_token(settings.mode)[3:] if settings.mode else "")
        try:
            tokens = self.codec.tune_tokens(text, meter, key)[0]
        except TuneSkip as exc:
            raise InvalidArgument(f"--start notes cannot be used: {exc}") from None
        if settings.meter and tokens[0] != self.meter_token(settings.meter) or \
                settings.mode and tokens[1] != self.mode_token(settings.mode):
            raise InvalidArgument(f"--start has {tokens[0]} {tokens[1]}, which contradicts --meter/--mode")
        return [self.codec.index[t] for t in tokens]

    def decode(self, ids, settings):
        return self.codec.decode(ids, key=settings.key or None)

    def guards(self, n, prefix):
        from .guard import TuneGuard, token_table

        guard = TuneGuard(token_table(tuple(self.codec.vocab)))
        for token in prefix:
            guard.push(int(token))
        return [guard] + [guard.copy() for _ in range(n - 1)]

    # ------------------------------------------------------------------------------------ editing
    def bar_ends(self, body: list[int]) -> list[int]:
        """Index just after each bar line that closes a bar holding notes (empty bars, e.g. `|:` first, skipped)."""
        ends, notes = [], False
        is_bar, is_event = self.is_bar.tolist(), self.is_event.tolist()
        for j, token in enumerate(body):
            if is_bar[token]:
                if notes:
                    ends.append(j + 1)
                notes = False
            elif is_event[token]:
                notes = True
        return ends

    def edit_plan(self, piece, start, end, settings, context_seconds):
        first, last = int(start), None if end is None else int(end)
        codec = self.codec
        try:
            tokens = codec.encode(piece).tolist()
        except UnsupportedContent as exc:
            raise InvalidArgument(f"this tune cannot be tokenised for the model: {exc.reason}") from None
        header, body = tokens[:2], tokens[2:]
        ends = self.bar_ends(body)
        if not 1 <= first <= len(ends) + (last is None) or (last is not None and not first <= last <= len(ends)):
            if last is not None and last < first:
                raise InvalidArgument(f"the span to regenerate is empty (bars {first} to {last})")
            span = f"bars {first}..{last}" if last is not None else f"bar {first}"
            raise InvalidArgument(f"{span} is outside the tune, which has {len(ends)} bars (numbered from 1)")
        cut = ends[first - 2] if first > 1 else self._leading_bar_lines(body)
        prefix = header + body[:cut]
        tail = []
        if last is not None:
            settings.bars = last - first + 1
            tail = body[ends[last - 1]:]
        key = settings.key or (piece.key.tonic if piece.key else None) or _abc_key(piece)
        settings.key = key
        plan = Plan([codec.bos_id] + prefix, [], prefix, exact_length=bool(tail))
        return EditPlan(plan, settings, {"tail": tail, "key": key})

    def edited(self, piece, edit, candidate):
        candidate.suffix = list(edit.state["tail"])
        return self.codec.decode(candidate.tokens, key=edit.state["key"], title=piece.title)

    def _leading_bar_lines(self, body):
        j = 0
        while j < len(body) and self.is_bar[body[j]]:
            j += 1
        return j


def _abc_key(piece: Piece) -> str | None:
    m = re.search(r"^K:\s*([A-G][#b]?)", piece.meta.get("abc", ""), re.M)
    return m.group(1) if m else None
