"""Beam search as Magenta's event RNNs offer it (`beam_size`, `branch_factor`, `steps_per_iteration`).

Magenta's search (magenta/common/beam_search.py) is stochastic: `beam_size` copies of the sequence are each
extended by sampling; then, every iteration, each beam is copied `branch_factor` times, every copy samples
`steps_per_iteration` more tokens, and the `beam_size` copies with the highest log-likelihood (the sum of the
log-probabilities of their sampled tokens, under the tempered distribution they were drawn from) survive.
Beam size 1 with branch factor 1 is plain sampling: the same tokens as `Generation` with the same seed.

Pieces here end (`</s>`, a length in seconds or bars, `--max-tokens`) rather than run a fixed number of
events: a beam that ends leaves the search with its score; since a running beam's score can only fall, a
candidate's search is over once its best ended beam scores at least as well as every running one, and that
beam is the candidate. Everything else is the sampler's: the FastStepper, the codec's masks and clock, the
folk guard (every beam extends only with tokens its own guard allows), the performance controls, and each
candidate's own random stream (seed + i), so a candidate can be made again from generation.json.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from ..errors import InvalidArgument
from .sampler import RANDOM_BLOCK, WRAP_UP, Candidate, Generation, Step, guard_masks, sample
from .stepper import stepper_for


@dataclass
class Beam:
    """One beam's sampled tokens, log-likelihood and (when it has ended) why."""

    tokens: list[int]
    score: float
    ended: str | None = None


class BeamGeneration(Generation):
    """`Generation` with Magenta's beam search; made by `Generation(...)` when the settings ask for it.

    `scores[i]` is candidate i's log-likelihood; `beams[i]` the beams its search ended with (ended ones and
    the survivors of the last pruning), best first."""

    def __init__(self, model, n=1, settings=None, primer=None, plan=None, seeds=None, endless=False, threads=None):
        if endless:
            raise InvalidArgument("beam search needs pieces that end; it cannot run endlessly")
        super().__init__(model, n, settings, primer, plan, seeds, False, threads)
        s = self.settings
        self.beam_size = s.beam_size or 1
        self.branch_factor = s.branch_factor or 1
        self.steps_per_iteration = s.steps_per_iteration or 1
        self.scores: list[float | None] = [None] * self.n
        self.beams: list[list[Beam]] = [[] for _ in range(self.n)]

    def _steps(self) -> Iterator[Step]:
        model, rules, s = self.model, self.rules, self.settings
        stepper = stepper_for(model)
        controls = self._control_vector()
        prefix = torch.tensor(self.plan.prefix, dtype=torch.long, device=self.device)
        if len(prefix) > 1:
            _, state = model(prefix[None, :-1], None, None if controls is None else controls[None])
            state = stepper.from_model_state(state)
        else:
            state = stepper.initial_state(1)
        gates = None if controls is None else stepper.control_gates(controls[None])  # [1, gates]: broadcast
        width = self.beam_size * self.branch_factor  # rows a candidate may hold; row slot j draws column j
        # rows: every running beam of every candidate, in candidate order
        owner = [c for c in range(self.n) for _ in range(self.beam_size)]
        rows = len(owner)
        state = stepper.select(state, torch.zeros(rows, dtype=torch.long, device=self.device))
        tokens = prefix[-1:].expand(rows).contiguous()
        seqs: list[list[int]] = [[] for _ in range(rows)]
        scores = torch.zeros(rows, dtype=torch.float64, device=self.device)
        clock = rules.clock_start(rows, self.device)
        generators = [torch.Generator().manual_seed(int(seed)) for seed in self.seeds]
        body = (rules.body if self.limit is not None else rules.body_with_end).to(self.device)
        body_bias = stepper.head_b.masked_fill(~body, float("-inf"))
        masks = [torch.as_tensor(m, device=self.device) for m in self.plan.masks]
        guards = None
        if s.guard:
            made = rules.guards(self.n, self.plan.prefix)
            guards = None if made is None else [made[c].copy() for c in owner]
        clean_end = guards is not None and rules.clean_ends and not self.plan.exact_length
        body_np = body.cpu().numpy()
        eos = self.codec.eos_id
        ended: list[list[Beam]] = [[] for _ in range(self.n)]
        running = list(range(self.n))
        blocks = torch.zeros(self.n, RANDOM_BLOCK, width)
        position = self.position = 0
        version = 0
        first = True
        while rows:
            if not first and self.branch_factor > 1:  # branch: every beam copied branch_factor times
                index = [r for r in range(rows) for _ in range(self.branch_factor)]
                state, tokens, scores, clock, owner, seqs, guards = self._take(
                    stepper, index, state, tokens, scores, clock, owner, seqs, guards, copy=True)
                rows = len(owner)
            first = False
            for _ in range(self.steps_per_iteration):
                if self._version != version:  # update_settings: controls from this step on
                    with self._lock:
                        version = self._version
                        self.applied.append((version, position))
                        controls = self._control_vector()
                    if controls is not None:
                        gates = stepper.control_gates(controls[None])
                if position % RANDOM_BLOCK == 0:  # as the sampler's blocks: one column per row slot
                    for c in running:
                        blocks[c] = torch.rand(RANDOM_BLOCK * width, generator=generators[c]).view(RANDOM_BLOCK, width)
                u = blocks[owner, position % RANDOM_BLOCK, _slots(owner)].to(self.device)
                planned = position < len(masks)
                logits = stepper.step(tokens, state, None if planned else body_bias, gates)
                allowed = masks[position] if planned else None
                if guards is not None and not planned:
                    allowed = guard_masks(guards, body_np, self.device)
                tokens, logp = sample(logits, allowed, u, s.temperature, s.top_k, s.top_p, scored=True,
                                      groups=rules.guard_groups if guards is not None and not planned else ())
                scores += logp.to(scores.dtype)
                rules.advance(clock, tokens)
                values = tokens.tolist()
                done = tokens == eos
                if guards is not None:
                    for guard, value in zip(guards, values):
                        guard.push(value)
                if self.limit is not None:
                    at_length = clock["clock"] >= self.limit
                    if clean_end:
                        at_length &= torch.tensor([g.can_end() for g in guards], device=self.device)
                    done |= at_length
                position += 1
                self.position = position
                if position % 32 == 0:
                    self._clock_min = int(clock["clock"].min())
                keep = []
                for r, (value, flag) in enumerate(zip(values, done.tolist())):
                    if value != eos:
                        seqs[r].append(value)
                    wrap_up = clean_end and not flag and position >= self.max_tokens - WRAP_UP and guards[r].can_end()
                    if flag or wrap_up or position >= self.max_tokens or self._stop:
                        if clean_end and (flag or guards[r].can_end()):
                            seqs[r].extend(guards[r].ending())
                        why = ("end" if value == eos else "length") if flag else \
                            "max_tokens" if position >= self.max_tokens or wrap_up else "stopped"
                        ended[owner[r]].append(Beam(seqs[r], float(scores[r]), why))
                    else:
                        keep.append(r)
                if len(keep) < rows:
                    state, tokens, scores, clock, owner, seqs, guards = self._take(
                        stepper, keep, state, tokens, scores, clock, owner, seqs, guards)
                    rows = len(owner)
                finished = self._conclude(running, owner, scores, seqs, ended)
                yield Step(position, list(running), [self._shown_token(c) for c in running], finished)
                if finished:
                    running = [c for c in running if c not in finished]
                    keep = [r for r in range(rows) if owner[r] not in finished]
                    state, tokens, scores, clock, owner, seqs, guards = self._take(
                        stepper, keep, state, tokens, scores, clock, owner, seqs, guards)
                    rows = len(owner)
                if not rows:
                    break
            if rows:  # prune: each candidate keeps its beam_size best running beams
                keep, values = [], scores.tolist()
                for c in running:
                    mine = sorted((r for r in range(rows) if owner[r] == c), key=lambda r: -values[r])
                    keep.extend(sorted(mine[:self.beam_size]))
                if len(keep) < rows:
                    state, tokens, scores, clock, owner, seqs, guards = self._take(
                        stepper, keep, state, tokens, scores, clock, owner, seqs, guards)
                    rows = len(owner)

    def _conclude(self, running, owner, scores, seqs, ended) -> list[int]:
        """Candidates whose search is over (no running beam can beat their best ended one); the best running
        beam of the others is what `piece(i)` shows meanwhile."""
        finished = []
        values = scores.tolist()
        for c in running:
            mine = [(values[r], r) for r in range(len(owner)) if owner[r] == c]
            best_running = max(mine) if mine else None
            best_ended = max(ended[c], key=lambda b: b.score) if ended[c] else None
            if best_ended is not None and (best_running is None or best_ended.score >= best_running[0]):
                finished.append(c)
                beams = ended[c] + [Beam(list(seqs[r]), v) for v, r in mine]
                self.beams[c] = sorted(beams, key=lambda b: -b.score)
                self.sampled[c], self.ended[c], self.scores[c] = best_ended.tokens, best_ended.ended, best_ended.score
            elif best_running is not None:
                self.sampled[c] = seqs[best_running[1]]
        return finished

    def _shown_token(self, c: int) -> int:
        return self.sampled[c][-1] if self.sampled[c] else self.codec.eos_id

    @staticmethod
    def _take(stepper, index, state, tokens, scores, clock, owner, seqs, guards, copy=False):
        """Keep (or repeat) the rows in `index`; token lists and guards are copied where rows are repeated."""
        rows = torch.tensor(index, dtype=torch.long, device=tokens.device)
        state = stepper.select(state, rows)
        clock = {k: v[rows] for k, v in clock.items()}
        owner = [owner[r] for r in index]
        seqs = [list(seqs[r]) for r in index] if copy else [seqs[r] for r in index]
        if guards is not None:
            guards = [guards[r].copy() for r in index] if copy else [guards[r] for r in index]
        return state, tokens[rows], scores[rows], clock, owner, seqs, guards

    def candidates(self) -> list[Candidate]:
        made = super().candidates()
        for cand, score in zip(made, self.scores):
            cand.score = score
        return made


def _slots(owner: list[int]) -> list[int]:
    """Each row's number among its candidate's rows (which column of the candidate's random block it reads)."""
    seen: dict[int, int] = {}
    slots = []
    for c in owner:
        slots.append(seen.get(c, 0))
        seen[c] = slots[-1] + 1
    return slots


__all__ = ["BeamGeneration", "Beam"]
