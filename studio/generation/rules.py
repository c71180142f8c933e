"""What sampling needs to know about each codec: which tokens may come where, how far a piece has got
(seconds or bars), how to tidy a finished sequence and how to decode it.

The sampler itself is codec-blind; a `Rules` object turns user controls (meter, mode, start notes, primer,
length) into a fixed prefix, per-position token masks and a clock measured in the codec's own units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..codecs import Codec
from ..codecs.base import SPECIAL_TOKENS
from ..errors import InvalidArgument, StudioError
from ..music import Piece


@dataclass
class Plan:
    """Tokens fed before sampling (`prefix`, starting with `<s>`), then masks for the first sampled positions."""

    prefix: list[int]
    masks: list[torch.Tensor]  # bool [vocab] for sampled positions 0, 1, ... (then `Rules.body`)
    header: list[int]  # tokens that belong to the piece (primer body), prefix without `<s>`
    exact_length: bool = False  # end at the length asked for even where the tune cannot end cleanly (a span)


class Rules:
    """Base: every codec token may be sampled; `</s>` ends a piece unless a length is asked for."""

    unit = ""
    scale = 1  # clock ticks per unit

    def __init__(self, codec: Codec):
        self.codec = codec
        v = codec.vocab_size
        self.body = torch.ones(v, dtype=torch.bool)
        for special in SPECIAL_TOKENS:
            self.body[codec.index[special]] = False
        self.body_with_end = self.body.clone()
        self.body_with_end[codec.eos_id] = True

    def mask(self, names) -> torch.Tensor:
        m = torch.zeros(self.codec.vocab_size, dtype=torch.bool)
        m[[self.codec.index[n] for n in names]] = True
        return m

    # the clock: an integer per stream, advanced by each sampled token
    def clock_start(self, batch: int, device) -> dict:
        return {"clock": torch.zeros(batch, dtype=torch.long, device=device)}

    def advance(self, clock: dict, tokens: torch.Tensor) -> None:
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
            raise InvalidArgument(f"a primer piece is for performance models; this model uses the {self.codec.name} codec")
        return Plan([self.codec.bos_id], [], [])

    def check(self, settings) -> None:
        """Refuse controls this codec has no use for, naming them."""
        other = [name for name in self.foreign if getattr(settings, name, None)]
        if other:
            raise InvalidArgument(f"{', '.join('--' + o.replace('_', '-') for o in other)} "
                                  f"do(es) not apply to {self.codec.name} models")

    foreign: tuple[str, ...] = ("meter", "mode", "start", "key", "bars")


class PerformanceRules(Rules):
    """Length in seconds: TIME_SHIFTs advance the clock (in codec steps); the last shift is cut to the limit."""

    unit = "seconds"

    def plan(self, settings, primer: Piece | None = None) -> Plan:
        """`<s>`, then the first `primer_seconds` of the primer piece (all of it when not given)."""
        if primer is None:
            return Plan([self.codec.bos_id], [], [])
        notes = self.codec.prepare(primer).notes
        seconds = settings.primer_seconds if settings.primer_seconds is not None else float(notes["end"].max(initial=0))
        notes = notes[notes["start"] < seconds].copy()
        notes["end"] = np.minimum(notes["end"], seconds)
        ids = self.primer_ids(notes, seconds)
        return Plan([self.codec.bos_id] + ids, [], ids)

    def __init__(self, codec):
        super().__init__(codec)
        steps = np.zeros(codec.vocab_size, dtype=np.int64)
        steps[codec.shift0:codec.velocity0] = np.arange(1, codec.max_shift + 1)
        self.shift_steps = torch.from_numpy(steps)

    def clock_start(self, batch, device):
        self.shift_steps = self.shift_steps.to(device)
        return super().clock_start(batch, device)

    def advance(self, clock, tokens):
        clock["clock"] += self.shift_steps[tokens]

    @property
    def scale(self):
        return self.codec.steps_per_second

    def lengths(self):
        return (self.shift_steps.cpu().double() / self.codec.steps_per_second).tolist()

    def limit(self, settings):
        return None if settings.seconds is None else max(1, round(settings.seconds * self.codec.steps_per_second))

    def finish(self, ids, limit):
        if limit is None or not len(ids):
            return ids
        steps = self.shift_steps.cpu().numpy()[ids]
        over = int(steps.sum()) - limit
        if over > 0 and steps[-1] > over:
            ids = ids.copy()
            ids[-1] -= over  # TIME_SHIFT_k -> TIME_SHIFT_(k - over)
        elif over > 0:
            ids = ids[:-1]
        return ids

    def shift_ids(self, steps: int) -> list[int]:
        """TIME_SHIFT tokens covering `steps` codec steps (full shifts, then the rest)."""
        c = self.codec
        full, rest = divmod(int(steps), c.max_shift)
        return [c.shift0 + c.max_shift - 1] * full + ([c.shift0 + rest - 1] if rest else [])

    def primer_ids(self, notes: np.ndarray, seconds: float) -> list[int]:
        """Ids for prepared notes (already cut to [0, seconds)), then shifts up to exactly `seconds`."""
        c = self.codec
        ids = c.encode_notes(notes).tolist()
        clock = int(self.shift_steps.cpu().numpy()[ids].sum()) if ids else 0
        return ids + self.shift_ids(round(seconds * c.steps_per_second) - clock)


PRIMER_BARS = 4  # bars of a primer tune a folk model continues from


class FolkRules(Rules):
    """Meter and mode tokens only in the header; length in bars (bar lines after at least one note)."""

    unit = "bars"
    foreign = ("seconds", "primer_seconds")

    def __init__(self, codec):
        super().__init__(codec)
        from ..codecs.folk.vocab import BARS

        vocab = codec.vocab
        self.meters = [t for t in vocab if t.startswith("M:")]
        self.modes = [t for t in vocab if t.startswith("K:")]
        self.body &= ~self.mask(self.meters + self.modes)
        self.body_with_end &= ~self.mask(self.meters + self.modes)
        self.is_bar = self.mask([t for t in BARS if t in codec.index])
        self.is_event = self.body & ~self.is_bar

    def clock_start(self, batch, device):
        self.is_bar, self.is_event = self.is_bar.to(device), self.is_event.to(device)
        return {"clock": torch.zeros(batch, dtype=torch.long, device=device),
                "notes_since_bar": torch.zeros(batch, dtype=torch.bool, device=device)}

    def advance(self, clock, tokens):
        bar = self.is_bar[tokens]
        clock["clock"] += (bar & clock["notes_since_bar"]).long()
        clock["notes_since_bar"] = (clock["notes_since_bar"] | self.is_event[tokens]) & ~bar

    def limit(self, settings):
        return settings.bars

    def lengths(self):
        return self.is_bar.cpu().double().tolist()

    def meter_token(self, meter: str) -> str:
        token = meter if meter.startswith("M:") else f"M:{meter.strip()}"
        if token not in self.meters:
            raise InvalidArgument(f"meter {meter!r} is not in this model's vocabulary; valid: "
                                  f"{', '.join(t[2:] for t in self.meters)}")
        return token

    def mode_token(self, mode: str) -> str:
        from ..codecs.folk.vocab import MODE_NAMES

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
            from ..codecs.folk.lexer import TuneSkip, parse_key

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
        from ..codecs.folk.vocab import BARS

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
        from ..codecs.folk import TuneSkip

        text = settings.start
        has_header = any(line.strip().startswith("K:") for line in text.splitlines())
        meter = None if has_header else (self.meter_token(settings.meter)[2:] if settings.meter else "4/4")
        key = None
        if not has_header:  # the notes are read in --key (its tonic) and --mode
            from ..codecs.folk.lexer import parse_key

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
        from ..codecs.folk.guard import TuneGuard, token_table

        guard = TuneGuard(token_table(tuple(self.codec.vocab)))
        for token in prefix:
            guard.push(int(token))
        return [guard] + [guard.copy() for _ in range(n - 1)]


def rules_for(codec: Codec) -> Rules:
    return {"performance": PerformanceRules, "folk": FolkRules}.get(codec.name, Rules)(codec)
