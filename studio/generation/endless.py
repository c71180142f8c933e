"""Endless generation for live playback: one stream sampled in a background thread, kept a set distance
ahead of the player's position, for as long as it is allowed to run.

A performance model plays one endless piece. A folk model plays tune after tune, as a session does: each
tune runs to its own end (`</s>`, after its repeats), a bar's rest follows, then the next tune (the next
seed; the meter and mode asked for, else the model's choice; live settings carried over). In the stream
the tunes follow one another, each with its meter and mode tokens and ended by `</s>` (which counts as the
bar of rest); `piece()` decodes each tune on its own and lays them end to end.

The player (or the GUI) calls `set_playhead(t)` as it plays and reads `piece()` (everything so far,
decoded) or `new_tokens(since)`; the worker sleeps while it is more than `ahead` units (seconds for
performance models, bars for folk) in front of the playhead, and `stop()` ends it within one step.
"""
from __future__ import annotations

import threading

import numpy as np

from dataclasses import replace

from ..music import Piece
from ..nn import SequenceModel
from .sampler import Generation, Settings

TUNE_GAP_BARS = 1.0  # a folk jam's rest between one tune and the next, in bars of the tune that ended


class Stream:
    """What a growing stream offers its reader, however it is sampled: tokens, how far it has got (in
    `unit`), the decoded piece, and a wait for more. Subclasses call `_append` and `_finish`."""

    def __init__(self, generation: Generation, ahead: float, on_error=None):
        self.generation = generation
        self.settings = generation.settings
        self.ahead = float(ahead)
        self.on_error = on_error
        self.unit = generation.rules.unit
        self.lengths = generation.rules.lengths()  # how far each token moves the stream on, in `unit`
        self.tunes = self.unit == "bars"  # tune after tune (folk), else one endless piece
        self.eos = generation.codec.eos_id
        if self.tunes:
            self.lengths[self.eos] = TUNE_GAP_BARS
        self._finished: dict[int, Piece] = {}  # decoded tunes that have ended, by where they begin
        self.header = list(generation.plan.header)  # primer tokens before the sampled ones
        self._tokens: list[int] = []
        self._length = 0.0
        self._playhead = 0.0
        self._done = False
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self.error: BaseException | None = None

    @property
    def length(self) -> float:
        """How much has been generated so far, in `unit`."""
        return self._length

    @property
    def count(self) -> int:
        """How many tokens have been sampled so far."""
        return len(self._tokens)

    def wait_for(self, length: float, timeout: float | None = None) -> bool:
        """Block until at least `length` is generated (or it stopped); True when reached."""
        with self._changed:
            self._changed.wait_for(lambda: self._length >= length or self._done or self._stop.is_set(), timeout)
            return self._length >= length

    def tokens(self) -> np.ndarray:
        with self._changed:
            return np.asarray(self._tokens, dtype=np.int64)

    def new_tokens(self, since: int) -> np.ndarray:
        """Tokens from index `since` on (keep `since += len(result)` to follow the stream)."""
        with self._changed:
            return np.asarray(self._tokens[since:], dtype=np.int64)

    def piece(self) -> Piece:
        """Everything generated so far, decoded (notes still open end where the stream has got to)."""
        g = self.generation
        ids = np.concatenate([np.asarray(self.header, dtype=np.int64), self.tokens()])
        if not self.tunes:
            return g.rules.decode(ids, g.settings)
        cuts = np.flatnonzero(ids == self.eos)
        tunes, begin = [], 0
        for end in [*(cuts + 1), len(ids)]:
            part = ids[begin:end]
            if len(part) > 1:
                finished = end - 1 in cuts  # a finished tune never changes: decoded once (long jams stay cheap)
                tune = self._finished.get(begin) if finished else None
                if tune is None:
                    tune = g.rules.decode(part, g.settings)
                    if finished:
                        self._finished[begin] = tune
                tunes.append(tune)
            begin = end
        return join_tunes(tunes)

    def _append(self, tokens) -> None:
        with self._changed:
            for token in tokens:
                self._tokens.append(int(token))
                self._length += self.lengths[token]
            self._changed.notify_all()

    def _finish(self, error: BaseException | None = None) -> None:
        if error is not None:
            self.error = error
            if self.on_error:
                self.on_error(error)
        with self._changed:
            self._done = True
            self._changed.notify_all()


def join_tunes(tunes: list[Piece]) -> Piece:
    """Tunes one after another, each followed by TUNE_GAP_BARS of its own bars' rest (from its last full
    bar), with their meters, tempos and keys where each begins."""
    out = tunes[0].copy()
    at = 0.0
    for previous, tune in zip(tunes, tunes[1:]):
        ts, qpm = previous.time_signatures, previous.tempos
        bar = (int(ts["numerator"][-1]) * 4.0 / int(ts["denominator"][-1]) if len(ts) else 4.0) * \
            60.0 / (float(qpm["qpm"][-1]) if len(qpm) else 120.0)
        at += bar * np.ceil(previous.duration / bar - 1e-6) + bar * TUNE_GAP_BARS
        moved = tune.shift(at)
        out.notes = np.concatenate([out.notes, moved.notes])
        out.pedals = np.concatenate([out.pedals, moved.pedals])
        out.tempos = np.concatenate([out.tempos, moved.tempos])
        out.time_signatures = np.concatenate([out.time_signatures, moved.time_signatures])
        out.key_signatures = out.key_signatures + moved.key_signatures
    out.meta = dict(out.meta, tunes=len(tunes))
    out.meta.pop("abc", None)  # one tune's text; the jam is many
    return out


class EndlessGeneration(Stream):
    def __init__(self, model: SequenceModel, settings: Settings | None = None, primer: Piece | None = None,
                 ahead: float = 10.0, on_error=None):
        generation = Generation(model, 1, settings, primer=primer, endless=True)
        if generation.rules.unit == "bars":  # folk: each tune ends (tune after tune, see the module's note)
            generation = Generation(model, 1, settings, primer=primer, plan=generation.plan)
        super().__init__(generation, ahead, on_error)
        self._thread = threading.Thread(target=self._run, name="endless-generation", daemon=True)
        self._current = generation  # the tune being sampled
        self._version = 0  # settings versions, counted across tunes
        self._versions = [0]  # the current tune's own settings versions -> ours
        self._first = 0  # index in the stream of the current tune's first sampled token
        self._applied: list[tuple[int, int]] = []  # of the tunes before the current one

    # ------------------------------------------------------------------ control (any thread)
    def start(self) -> "EndlessGeneration":
        self._thread.start()
        return self

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if wait and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def set_playhead(self, position: float) -> None:
        """Where the player is (seconds or bars): generation runs on until `ahead` past it."""
        with self._changed:
            self._playhead = float(position)
            self._changed.notify_all()

    def set_ahead(self, ahead: float) -> None:
        with self._changed:
            self.ahead = float(ahead)
            self._changed.notify_all()

    def update_settings(self, **changes) -> int:
        """See `Generation.update_settings`: used from the next sampled token on (and by every later tune);
        returns the version."""
        with self._changed:
            self._current.update_settings(**changes)
            for name, value in changes.items():
                setattr(self.settings, name, value)
            self._version += 1
            self._versions.append(self._version)
            return self._version

    @property
    def applied(self) -> list[tuple[int, int]]:
        """(settings version, first token index sampled with it)."""
        with self._changed:
            current = [(self._versions[v], self._first + step) for v, step in self._current.applied]
            known = {v for v, _ in self._applied}
            return self._applied + [(v, step) for v, step in current if v not in known]

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _next_tune(self) -> Generation:
        """End the tune just sampled and start the next: the next seed, the live settings, the meter and mode
        asked for (else the model's choice again); its meter and mode tokens go into the stream."""
        with self._changed:
            self._applied = self.applied
            settings = replace(self.settings, seed=self.settings.seed + self._tunes_done() + 1, start=None)
            tune = Generation(self.generation.model, 1, settings)
            self._current, self._versions = tune, [self._version]
        self._append([self.eos])
        self._append(tune.plan.header)
        self._first = self.count
        return tune

    def _tunes_done(self) -> int:
        with self._changed:
            return sum(1 for t in self._tokens if t == self.eos)

    # ------------------------------------------------------------------ the worker
    def _run(self) -> None:
        error = None
        try:
            tune = self.generation
            while not self._stop.is_set():
                for step in tune.steps():
                    if step.tokens[0] != self.eos:  # (a tune's end is added below, once)
                        self._append(step.tokens[:1])
                    with self._changed:
                        self._changed.wait_for(lambda: self._stop.is_set() or self._length < self._playhead + self.ahead)
                    if self._stop.is_set():
                        break
                if not self.tunes or self._stop.is_set():
                    break
                tune = self._next_tune()
        except BaseException as exc:  # reported to the owner; a worker thread has nobody else to tell
            error = exc
        finally:
            self._finish(error)
