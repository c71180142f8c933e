"""Endless generation for live playback: one stream sampled in a background thread, kept a set distance
ahead of the player's position, for as long as it is allowed to run.

The player (or the GUI) calls `set_playhead(t)` as it plays and reads `piece()` (everything so far,
decoded) or `new_tokens(since)`; the worker sleeps while it is more than `ahead` units (seconds for
performance models, bars for folk) in front of the playhead, and `stop()` ends it within one step.
"""
from __future__ import annotations

import threading

import numpy as np

from ..music import Piece
from ..nn import SequenceModel
from .sampler import Generation, Settings


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
        return g.rules.decode(np.concatenate([np.asarray(self.header, dtype=np.int64), self.tokens()]), g.settings)

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


class EndlessGeneration(Stream):
    def __init__(self, model: SequenceModel, settings: Settings | None = None, primer: Piece | None = None,
                 ahead: float = 10.0, on_error=None):
        super().__init__(Generation(model, 1, settings, primer=primer, endless=True), ahead, on_error)
        self._thread = threading.Thread(target=self._run, name="endless-generation", daemon=True)

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
        """See `Generation.update_settings`: used from the next sampled token on; returns the version."""
        return self.generation.update_settings(**changes)

    @property
    def applied(self) -> list[tuple[int, int]]:
        """(settings version, first token index sampled with it)."""
        return list(self.generation.applied)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------------ the worker
    def _run(self) -> None:
        error = None
        try:
            for step in self.generation.steps():
                self._append(step.tokens[:1])
                with self._changed:
                    self._changed.wait_for(lambda: self._stop.is_set() or self._length < self._playhead + self.ahead)
                if self._stop.is_set():
                    break
        except BaseException as exc:  # reported to the owner; a worker thread has nobody else to tell
            error = exc
        finally:
            self._finish(error)
