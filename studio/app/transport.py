"""Play/pause/stop/panic through the playback engine (`engines.player`), and the playhead clock: while
playing, the engine's position is polled and sent to the roll, which follows it."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from . import engines

POLL_MS = 30


class Transport(QObject):
    positionChanged = Signal(float)
    stateChanged = Signal(str)  # "playing", "paused", "stopped"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.player_class = engines.engine("player")
        self.player = None
        self.state = "stopped"
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def available(self) -> bool:
        return bool(self.player_class)

    @property
    def why_unavailable(self) -> str:
        return "" if self.available else self.player_class.tooltip

    def _ensure(self):
        if self.player is None and self.available:
            self.player = self.player_class()
        return self.player

    def play(self, piece, start: float = 0.0, loop=None) -> None:
        player = self._ensure()
        if player is None:
            return
        player.play(piece, start, loop) if loop else player.play(piece, start)
        self._set("playing")
        self._timer.start()

    def pause(self) -> None:
        if self.player is not None and self.state == "playing":
            self.player.pause()
            self._timer.stop()
            self._set("paused")

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
        self._timer.stop()
        self._set("stopped")

    def panic(self) -> None:
        if self._ensure() is not None:
            self.player.panic()

    def audition(self, pitch: int, velocity: int) -> None:
        """Sound one note (a key or note clicked in the roll); silent when no playback engine is installed."""
        if self.available:
            self._ensure().note_on(pitch, velocity)

    def _poll(self) -> None:
        pos = float(self.player.position())
        self.positionChanged.emit(pos)
        if hasattr(self.player, "is_playing") and not self.player.is_playing():
            self._timer.stop()
            self._set("stopped")

    def _set(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)
