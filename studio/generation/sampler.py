"""Sampling many candidates at once, one token per step, with the recurrent state carried along.

The prefix (`<s>`, primer, the user's start notes) is run through the model once; after that every step
feeds one token per candidate through `FastStepper`. Each candidate draws its random numbers from its own
`torch.Generator` seeded with its own seed (in blocks, inverse-CDF sampling), so what candidate i gets
depends only on its seed and the settings, never on how the others fared. Finished candidates leave the
batch. `Generation.steps()` yields every step as it happens (streaming); `Generation.run()` just drains it,
so streaming and batch calls give the same tokens.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Callable, Iterator

import numpy as np
import torch

from ..codecs import codec_from_config
from ..errors import InvalidArgument
from ..music import Piece
from ..nn import SequenceModel
from .rules import Plan, rules_for
from .stepper import cpu_tuned, stepper_for

DEFAULT_SEED = 1
LIVE_SETTINGS = {"temperature", "top_k", "top_p", "note_density", "pitch_histogram"}  # update_settings
RANDOM_BLOCK = 256
WRAP_UP = 64  # guarded folk tunes this close to --max-tokens end at their next clean ending


@dataclass
class Settings:
    """Every setting that shapes a sample; saved in generation.json, enough to reproduce any candidate."""

    temperature: float = 1.0
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1.0: off
    max_tokens: int | None = None
    seconds: float | None = None  # performance length
    bars: int | None = None  # folk length
    seed: int = DEFAULT_SEED  # candidate i uses seed + i
    meter: str | None = None  # folk
    mode: str | None = None
    start: str | None = None
    key: str | None = None
    primer_seconds: float | None = None  # performance
    note_density: float | None = None  # performance controls: only for models trained with them
    pitch_histogram: list[float] | None = None
    guard: bool = True  # folk: keep bars, chords, tuplets and repeats well-formed (False: the model's raw choices)
    beam_size: int | None = None  # beam search (Magenta's): any of these three set runs `beam.BeamGeneration`
    branch_factor: int | None = None
    steps_per_iteration: int | None = None

    @property
    def beam(self) -> bool:
        return any(v is not None for v in (self.beam_size, self.branch_factor, self.steps_per_iteration))

    def check(self) -> None:
        if not self.temperature >= 0:
            raise InvalidArgument(f"temperature must be 0 (greedy) or positive, not {self.temperature}")
        if self.top_k < 0:
            raise InvalidArgument(f"top-k must be 0 (off) or positive, not {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise InvalidArgument(f"top-p must be in (0, 1], not {self.top_p}")
        for name in ("max_tokens", "bars", "beam_size", "branch_factor", "steps_per_iteration"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InvalidArgument(f"{name.replace('_', '-')} must be at least 1, not {value}")
        for name in ("seconds", "primer_seconds"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InvalidArgument(f"{name.replace('_', '-')} must be positive, not {value}")

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> "Settings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Candidate:
    """One finished (or stopped) sample: its seed, the tokens, why it ended, and the decoded piece."""

    index: int
    seed: int
    prefix: list[int]  # piece tokens before sampling (header, primer), without `<s>`
    ids: np.ndarray  # sampled tokens, without `</s>`
    ended: str  # "end" (</s> drawn), "length", "max_tokens" or "stopped"
    piece: Piece | None = None
    suffix: list[int] = field(default_factory=list)  # original tokens after a regenerated span
    score: float | None = None  # beam search: log-likelihood of the sampled tokens (tempered, masked, filtered)

    @property
    def tokens(self) -> np.ndarray:
        """Prefix, sampled and suffix tokens: the whole piece as the codec sees it."""
        return np.concatenate([np.asarray(self.prefix, dtype=np.int64), self.ids.astype(np.int64),
                               np.asarray(self.suffix, dtype=np.int64)])


@dataclass
class Step:
    """What one step produced: for each still-running candidate, its new token."""

    position: int
    candidates: list[int]
    tokens: list[int]
    finished: list[int] = field(default_factory=list)


class Generation:
    """A batch of candidates being sampled; iterate `steps()` to watch it grow, or call `run()`.

    `model` is a loaded SequenceModel (with `.codec_config`, as `load_model` gives); `n` candidates with
    seeds `settings.seed + i` (or exactly `seeds`); `primer` is a Piece for performance models; `plan`
    overrides the prefix (continue/regenerate use it); `endless` runs with no length limit and no `</s>`
    until stopped; `threads` fixes the CPU threads used while sampling. `stop()` may be called from any
    thread.
    """

    def __init__(self, model: SequenceModel, n: int = 1, settings: Settings | None = None, primer: Piece | None = None,
                 plan: Plan | None = None, seeds: list[int] | None = None, endless: bool = False,
                 threads: int | None = None):
        self.model = model
        self.settings = settings = settings or Settings()
        settings.check()
        if n < 1:
            raise InvalidArgument(f"the number of candidates must be at least 1, not {n}")
        self.codec = codec_from_config(model.codec_config)
        self.rules = rules_for(self.codec)
        self.rules.check(settings)
        check_controls(settings, model, self.codec)
        self.plan = plan or self.rules.plan(settings, primer)
        self.seeds = list(seeds) if seeds is not None else [settings.seed + i for i in range(n)]
        self.n = len(self.seeds)
        self.endless = endless  # no length limit and no end token: runs until stopped
        self.limit = None if endless else self.rules.limit(settings)
        if self.limit is None and settings.max_tokens is None and not endless:
            self.limit = self.rules.default_limit()  # the codec's default length, if it has one
        self.max_tokens = (float("inf") if endless else settings.max_tokens or self.codec.default_max_tokens)
        self.device = model.head.weight.device
        self.sampled: list[list[int]] = [[] for _ in range(self.n)]
        self.ended: list[str | None] = [None] * self.n
        self.threads = threads  # CPU threads while sampling (None: one for up to 8 candidates, else half the cores)
        self._stop = False
        self._started = False
        self._clock_min = 0
        self.position = 0  # sampled steps so far
        self._lock = threading.Lock()
        self._live = (settings.temperature, settings.top_k, settings.top_p)  # read once per step
        self._version = 0
        self.applied: list[tuple[int, int]] = []  # (settings version, first step sampled with it)

    def __new__(cls, model=None, n=1, settings=None, *args, **kwargs):
        """Settings asking for beam search make a `beam.BeamGeneration` (same interface)."""
        if cls is Generation and settings is not None and settings.beam:
            from .beam import BeamGeneration

            cls = BeamGeneration
        return super().__new__(cls)

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """Finish every running candidate after the current step (their tokens so far are kept)."""
        self._stop = True

    def update_settings(self, **changes) -> int:
        """Change temperature, top_k, top_p, note_density or pitch_histogram while sampling (any thread):
        every step sampled after this call uses them. Returns the new settings version; `applied` says
        from which step each version took effect."""
        unknown = set(changes) - LIVE_SETTINGS
        if unknown:
            raise InvalidArgument(f"cannot change {', '.join(sorted(unknown))} while sampling "
                                  f"(only {', '.join(sorted(LIVE_SETTINGS))})")
        new = replace(self.settings, **changes)
        new.check()
        check_controls(new, self.model, self.codec)
        with self._lock:
            for name, value in changes.items():
                setattr(self.settings, name, value)
            self._live = (new.temperature, new.top_k, new.top_p)
            self._version += 1
            return self._version

    # ------------------------------------------------------------------ streaming
    @torch.inference_mode()
    def steps(self) -> Iterator[Step]:
        """Sample, yielding after every step; can only be consumed once. While it is suspended between
        steps the CPU thread settings of `cpu_tuned` stay in force for this process."""
        if self._started:
            raise InvalidArgument("a Generation runs once; make a new one to sample again")
        self._started = True
        with cpu_tuned(self.n, self.device, self.threads):
            yield from self._steps()

    def _steps(self) -> Iterator[Step]:
        model, rules, s = self.model, self.rules, self.settings
        stepper = stepper_for(model)
        controls = self._control_vector()
        prefix = torch.tensor(self.plan.prefix, dtype=torch.long, device=self.device)
        if len(prefix) > 1:  # all but the last prefix token in one pass of the model's own kernel
            _, state = model(prefix[None, :-1], None, None if controls is None else controls[None])
            state = stepper.from_model_state(state)
        else:
            state = stepper.initial_state(1)
        state = stepper.select(state, torch.zeros(self.n, dtype=torch.long, device=self.device))
        tokens = prefix[-1:].expand(self.n).contiguous()
        clock = rules.clock_start(self.n, self.device)
        generators = [torch.Generator().manual_seed(int(seed)) for seed in self.seeds]
        uniforms = None
        body = (rules.body if self.limit is not None or self.endless else rules.body_with_end).to(self.device)
        body_bias = stepper.head_b.masked_fill(~body, float("-inf"))  # the body mask, inside the output layer
        masks = [torch.as_tensor(m, device=self.device) for m in self.plan.masks]
        guards = rules.guards(self.n, self.plan.prefix) if s.guard else None
        clean_end = guards is not None and rules.clean_ends and not self.plan.exact_length  # (not a span)
        body_np = body.cpu().numpy()
        eos = self.codec.eos_id
        active = list(range(self.n))
        control_gates = None if controls is None else stepper.control_gates(controls[None].expand(self.n, -1))
        position = self.position = 0
        version = 0
        temperature, top_k, top_p = self._live
        while active:
            if self._version != version:  # settings changed (update_settings): from this step on
                with self._lock:
                    version, live = self._version, self._live
                    self.applied.append((version, position))
                    controls = self._control_vector()
                temperature, top_k, top_p = live
                if controls is not None:
                    control_gates = stepper.control_gates(controls[None].expand(len(active), -1))
            if position % RANDOM_BLOCK == 0:
                block = torch.stack([torch.rand(RANDOM_BLOCK, generator=generators[i]) for i in active])
                uniforms = block.to(self.device)
            planned = position < len(masks)
            logits = stepper.step(tokens, state, None if planned else body_bias, control_gates)
            allowed = masks[position] if planned else None
            if guards is not None and not planned:
                allowed = guard_masks([guards[i] for i in active], body_np, self.device)
            tokens = sample(logits, allowed, uniforms[:, position % RANDOM_BLOCK], temperature, top_k, top_p,
                            groups=rules.guard_groups if guards is not None and not planned else ())
            rules.advance(clock, tokens)
            values = tokens.tolist()
            done = tokens == eos
            if guards is not None:
                for i, value in zip(active, values):
                    guards[i].push(value)
            if self.limit is not None:
                at_length = clock["clock"] >= self.limit
                if clean_end:  # the tune ends at the first clean ending after the length asked for
                    at_length &= torch.tensor([guards[i].can_end() for i in active], device=self.device)
                done |= at_length
            position += 1
            self.position = position
            if position % 32 == 0:
                self._clock_min = int(clock["clock"].min())
            flags = done.tolist()
            finished = []
            for i, value, flag in zip(active, values, flags):
                if value != eos:
                    self.sampled[i].append(value)
                wrap_up = clean_end and not flag and position >= self.max_tokens - WRAP_UP and \
                    guards[i].can_end()  # near --max-tokens: end at the first clean point rather than mid-bar
                if flag or wrap_up or position >= self.max_tokens or self._stop:
                    if clean_end and (flag or guards[i].can_end()):
                        # close the repeat the tune left open (not in a span: the kept bars follow it)
                        self.sampled[i].extend(guards[i].ending())
                    finished.append(i)
                    self.ended[i] = ("end" if value == eos else "length") if flag else \
                        "max_tokens" if position >= self.max_tokens or wrap_up else "stopped"
            yield Step(position, list(active), values, finished)
            if finished:
                keep = [k for k, i in enumerate(active) if i not in set(finished)]
                active = [active[k] for k in keep]
                if not active:
                    break
                index = torch.tensor(keep, dtype=torch.long, device=self.device)
                state = stepper.select(state, index)
                tokens, uniforms = tokens[index], uniforms[index]
                clock = {k: v[index] for k, v in clock.items()}
                if control_gates is not None:
                    control_gates = control_gates[index]

    def _control_vector(self) -> torch.Tensor | None:
        """The model's control input for the current settings (None for a model without controls)."""
        if not self.model.config.control_size:
            return None
        s = self.settings
        vector = self.codec.controls.vector(s.note_density, s.pitch_histogram)
        return torch.from_numpy(vector).to(self.device)

    # ------------------------------------------------------------------ results
    def run(self, progress: Callable[[float, float, str], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> list[Candidate]:
        """Sample to the end. Every 32 steps `progress(done, total, unit)` reports how far the slowest
        running candidate has got (seconds or bars when a length is set, else tokens) and `should_stop()`
        is polled (True: every candidate ends now, keeping what it has)."""
        total, unit = self.total()
        if progress:
            progress(0, total, unit)
        for step in self.steps():
            if step.position % 32 == 0:
                if progress:
                    progress(self._clock_min / self.rules.scale if self.limit is not None else step.position,
                             total, unit)
                if should_stop and should_stop():
                    self.stop()
        if progress:
            progress(total, total, unit)
        return self.candidates()

    def total(self) -> tuple[float, str]:
        """The length this generation runs to: (seconds or bars, unit) with a limit, else (max tokens, "tokens")."""
        if self.limit is not None:
            return self.limit / self.rules.scale, self.rules.unit
        return self.max_tokens, "tokens"

    def tokens(self, i: int) -> np.ndarray:
        """Candidate i's sampled tokens so far (finished: made final, e.g. the last shift cut to length)."""
        ids = np.asarray(self.sampled[i], dtype=np.int64)
        return self.rules.finish(ids, self.limit) if self.ended[i] == "length" else ids

    def piece(self, i: int) -> Piece:
        """Candidate i decoded as it stands (a partial piece while it is still growing)."""
        return self.rules.decode(np.concatenate([np.asarray(self.plan.header, dtype=np.int64), self.tokens(i)]),
                                 self.settings)

    def candidates(self) -> list[Candidate]:
        return [Candidate(i, self.seeds[i], list(self.plan.header), self.tokens(i), self.ended[i] or "stopped",
                          self.piece(i)) for i in range(self.n)]


def sample(logits: torch.Tensor, allowed: torch.Tensor | None, u: torch.Tensor, temperature: float, top_k: int,
           top_p: float, scored: bool = False, groups=()):
    """One token per row: tempered, masked, top-k/top-p filtered, drawn by inverse CDF with uniforms `u`.
    `groups`: token ranges whose masked members' mass goes to their allowed members (`guard_groups`).
    `scored`: (tokens, log-probability of each under the distribution it was drawn from) for beam search."""
    if temperature not in (0, 1):
        logits = logits / temperature
    if allowed is not None:
        if groups:
            logits = keep_group_mass(logits, allowed, groups)
        logits = logits.masked_fill(~allowed, float("-inf"))
    if temperature == 0:
        pick = logits.argmax(1)
        return (pick, torch.log_softmax(logits, 1).gather(1, pick[:, None]).squeeze(1)) if scored else pick
    if top_k and top_k < logits.shape[1]:
        kth = torch.topk(logits, top_k, dim=1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, 1)
    order = None
    if top_p < 1:
        probs, order = torch.sort(probs, 1, descending=True)
        before = probs.cumsum(1) - probs  # mass of the more likely tokens
        probs = probs.masked_fill(before >= top_p, 0.0)  # the most likely token always stays
    cdf = probs.cumsum(1)
    pick = torch.searchsorted(cdf, (u.to(cdf.dtype) * cdf[:, -1]).unsqueeze(1), right=True)
    pick = pick.clamp_(max=probs.shape[1] - 1).squeeze(1)
    tokens = order.gather(1, pick[:, None]).squeeze(1) if order is not None else pick
    if scored:
        return tokens, torch.log(probs.gather(1, pick[:, None]).squeeze(1) / cdf[:, -1])
    return tokens


def keep_group_mass(logits: torch.Tensor, allowed: torch.Tensor, groups) -> torch.Tensor:
    """Within each (first, end) id range, raise the allowed members so that they carry the whole range's
    probability (in their own proportions); a row with no allowed member there is left as it is."""
    logits = logits.clone()
    for first, end in groups:
        part, ok = logits[:, first:end], allowed[:, first:end]
        weight = torch.exp(part - part.max(1, keepdim=True).values)  # (one exp for both sums)
        whole, kept = weight.sum(1, keepdim=True), (weight * ok).sum(1, keepdim=True)
        part += torch.where(kept > 0, torch.log(whole / kept.clamp_min(1e-30)), torch.zeros_like(whole))
    return logits


def guard_masks(guards: list, body: np.ndarray, device) -> torch.Tensor:
    """The tokens each guard allows (within the body mask); a guard at a dead end leaves the model free."""
    rows = np.stack([g.allowed() for g in guards]) & body
    rows[~rows.any(1)] = body
    return torch.from_numpy(rows).to(device)


def check_controls(settings: Settings, model: SequenceModel, codec) -> None:
    """Note-density and pitch-histogram controls (Performance RNN's conditioned configs) need a model trained
    with them as extra inputs (`studio train --controls`); their values are checked here too."""
    for name, flag in (("note_density", "--note-density"), ("pitch_histogram", "--pitch-histogram")):
        if getattr(settings, name) is None:
            continue
        if codec.controls is None:
            raise InvalidArgument(f"{flag} is a performance control; this model uses the {codec.name} codec")
        if not model.config.control_size:
            raise InvalidArgument(f"{flag} needs a model trained with that control as an input "
                                  "(`studio train --controls`); this model was trained without controls")
    if codec.controls is not None and model.config.control_size:
        codec.controls.vector(settings.note_density, settings.pitch_histogram)  # checks the values


def generate(model: SequenceModel, n: int = 1, settings: Settings | None = None, primer: Piece | None = None,
             progress=None, should_stop=None) -> list[Candidate]:
    """Sample `n` candidates to the end (the batch call); see `Generation` for streaming."""
    return Generation(model, n, settings, primer).run(progress, should_stop)
