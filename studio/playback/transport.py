"""What both playback engines share: transport states, the settings that carry over when playback moves
from one output to another, and how they tell the GUI that something changed."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from ..errors import InvalidArgument

STOPPED, PLAYING, PAUSED = "stopped", "playing", "paused"
MIN_TEMPO_SCALE, MAX_TEMPO_SCALE = 0.1, 8.0


@dataclass
class Transport:
    """Where playback is and how it plays: handed from one engine to the next on an output change."""

    position: float = 0.0  # piece seconds
    state: str = STOPPED
    loop: tuple[float, float] | None = None
    tempo_scale: float = 1.0  # 2.0 plays twice as fast


def check_loop(start: float | None, end: float | None) -> tuple[float, float] | None:
    if start is None and end is None:
        return None
    if start is None or end is None or not 0 <= start < end:
        raise InvalidArgument(f"a loop needs 0 <= start < end (got {start}..{end})")
    return float(start), float(end)


def check_tempo_scale(scale: float) -> float:
    if not MIN_TEMPO_SCALE <= scale <= MAX_TEMPO_SCALE:
        raise InvalidArgument(f"tempo scale must be between {MIN_TEMPO_SCALE} and {MAX_TEMPO_SCALE}, not {scale}")
    return float(scale)


def check_position(seconds: float) -> float:
    if not seconds >= 0:
        raise InvalidArgument(f"cannot seek to {seconds} s")
    return float(seconds)


def notify(callback: Callable[..., None] | None, *args) -> None:
    """Run a listener on its own short thread: engine threads never wait for (or deadlock with) the GUI."""
    if callback is not None:
        threading.Thread(target=callback, args=args, daemon=True, name="playback-notify").start()


class Engine:
    """The transport calls both engines answer the same way. A subclass provides `_cond` (a Condition),
    `_state`, `_loop`, `_scale`, `position`, `play()` and `_halt(state, position_or_None)`."""

    @property
    def state(self) -> str:
        return self._state

    def transport(self) -> Transport:
        with self._cond:
            return Transport(self.position, self._state, self._loop, self._scale)

    def pause(self) -> None:
        """Silence, keeping the place."""
        self._halt(PAUSED, None)

    def stop(self) -> None:
        """Silence and return to the start."""
        self._halt(STOPPED, 0.0)

    def _resume(self, transport: Transport) -> None:
        """Take up the state an engine handed over (see Player's output changes)."""
        if transport.state == PLAYING:
            self.play()
        elif transport.state == PAUSED:
            self._state = PAUSED
