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


class EndlessGeneration:
    def __init__(self, model: SequenceModel, settings: Settings | None = None, primer: Piece | None = None,
                 ahead: float = 10.0, on_error=None):
        self.generation = Generation(model, 1, settings, primer=primer, endless=True)
        self.ahead = float(ahead)
        self.on_error = on_error
        self.unit = self.generation.rules.unit
        self._lengths = self.generation.rules.lengths()
        self._tokens: list[int] = []
        self._length = 0.0
        self._playhead = 0.0
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="endless-generation", daemon=True)
        self.error: BaseException | None = None

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

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def length(self) -> float:
        """How much has been generated so far, in `unit`."""
        return self._length

    def wait_for(self, length: float, timeout: float | None = None) -> bool:
        """Block until at least `length` is generated (or it stopped); True when reached."""
        with self._changed:
            self._changed.wait_for(lambda: self._length >= length or not self._thread.is_alive() or self._stop.is_set(),
                                   timeout)
            return self._length >= length

    # ------------------------------------------------------------------ results (any thread)
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
        return g.rules.decode(np.concatenate([np.asarray(g.plan.header, dtype=np.int64), self.tokens()]), g.settings)

    # ------------------------------------------------------------------ the worker
    def _run(self) -> None:
        try:
            for step in self.generation.steps():
                token = step.tokens[0]
                with self._changed:
                    self._tokens.append(token)
                    self._length += self._lengths[token]
                    self._changed.notify_all()
                    self._changed.wait_for(lambda: self._stop.is_set() or self._length < self._playhead + self.ahead)
                if self._stop.is_set():
                    break
        except BaseException as exc:  # reported to the owner; a worker thread has nobody else to tell
            self.error = exc
            if self.on_error:
                self.on_error(exc)
        finally:
            with self._changed:
                self._changed.notify_all()
