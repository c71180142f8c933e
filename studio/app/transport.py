"""Play / pause / stop / panic through the playback engine's `Player`, the playhead clock, and hearing a
clicked key or note.

The Player is thread-safe and reports state changes from its own threads; they reach the GUI thread
through a queued Qt signal. While playing, its position is read at display rate and sent to the roll,
which follows it. A note to audition plays through a second Player holding just that note.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from ..music.piece import Piece, make_notes
from . import engines

POLL_MS = 30
AUDITION_SECONDS = 0.4


class Transport(QObject):
    positionChanged = Signal(float)
    stateChanged = Signal(str)  # "playing", "paused", "stopped"
    message = Signal(str)  # the engine's own notes (e.g. "MIDI port gone, playing on the built-in synth")
    _engine_state = Signal(str)  # from the Player's threads; queued to the GUI thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self.player_class = engines.engine("player")
        self.player = None
        self._preview = None
        self.output_key = "builtin:"  # where notes go: the built-in synth until the user picks a port
        self.state = "stopped"
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._engine_state.connect(self._set)

    @property
    def available(self) -> bool:
        return bool(self.player_class)

    @property
    def why_unavailable(self) -> str:
        return "" if self.available else self.player_class.tooltip

    def _ensure(self):
        if self.player is None and self.available:
            self.player = self.player_class(on_state=self._engine_state.emit, on_message=self.message.emit)
        return self.player

    def live_player(self):
        """The Player on the chosen output, for a jam to drive directly (raises the engine's error when the
        output cannot be opened)."""
        player = self._ensure()
        if player is not None and not player.output:
            _apply_output(player, self.output_key)
        return player

    # ----------------------------------------------------------------- output choice
    def outputs(self) -> list[tuple[str, str]]:
        """(label, key) for every output, listed afresh each call (ports come and go; no restart needed)."""
        if not self.available:
            return []
        ports = [(f"MIDI port: {name}", f"port:{name}") for name in self.player_class.list_ports()]
        return [("Built-in synth", "builtin:")] + ports + [("Virtual MIDI port “Studio”", "virtual:")]

    @property
    def output(self) -> str:
        return self.player.output if self.player is not None else ""

    def use_output(self, key: str) -> None:
        """Switch output ("builtin:", "port:NAME", "virtual:"); playback carries over. Raises the engine's
        error when the output cannot be opened."""
        player = self._ensure()
        if player is None:
            return
        _apply_output(player, key)
        self.output_key = key
        if self._preview is not None:
            _apply_output(self._preview, key if key != "virtual:" else "builtin:")

    def play(self, piece: Piece, start: float = 0.0, loop: tuple[float, float] | None = None) -> None:
        """Play `piece` from `start` (looping between `loop` when given). Raises the engine's errors
        (no audio device, a port gone), which the window shows."""
        player = self._ensure()
        if player is None:
            return
        player.set_piece(piece)
        player.set_loop(*(loop or (None, None)))
        player.seek(start)
        player.play()
        self._set("playing")

    def update_piece(self, piece: Piece) -> None:
        """An edit while playing: heard from the playhead on, no restart."""
        if self.player is not None and self.state != "stopped":
            self.player.set_piece(piece)

    def set_loop(self, loop: tuple[float, float] | None) -> None:
        if self.player is not None:
            self.player.set_loop(*(loop or (None, None)))

    def seek(self, seconds: float) -> None:
        if self.player is not None:
            self.player.seek(seconds)

    def pause(self) -> None:
        if self.player is not None and self.state == "playing":
            self.player.pause()
            self._set("paused")

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
        self._set("stopped")

    def panic(self) -> None:
        for p in (self.player, self._preview):
            if p is not None:
                p.panic()
        self._set("stopped")

    def audition(self, pitch: int, velocity: int) -> None:
        """Sound one note (a key or a note clicked in the roll); silent when no playback engine is installed
        or the output cannot be opened (the reason goes to the status bar once)."""
        if not self.available:
            return
        try:
            if self._preview is None:
                self._preview = self.player_class()
                if self.output_key.startswith("port:"):  # the preview sounds where playback does
                    _apply_output(self._preview, self.output_key)
            note = Piece(notes=make_notes([pitch], [0.0], [AUDITION_SECONDS], velocity=max(1, velocity)))
            self._preview.set_piece(note)
            self._preview.seek(0.0)
            self._preview.play()
        except Exception as exc:  # no audio device, no SoundFont: editing goes on silently
            self.player_class = engines.Missing("player", f"cannot play: {exc}")
            self.message.emit(f"Cannot sound notes: {exc}")

    def close(self) -> None:
        self._timer.stop()
        for p in (self.player, self._preview):
            if p is not None:
                p.close()
        self.player = self._preview = None

    def _poll(self) -> None:
        if self.player is not None:
            self.positionChanged.emit(float(self.player.position))

    def _set(self, state: str) -> None:
        if state == "playing":
            self._timer.start()
        else:
            self._timer.stop()
            self._poll()
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)


def _apply_output(player, key: str) -> None:
    kind, _, name = key.partition(":")
    if kind == "port":
        player.use_port(name)
    elif kind == "virtual":
        player.use_virtual_port()
    else:
        player.use_builtin()


def render_midi_to_wav(midi_path: str, wav_path: str, progress, stop, normalize_dbfs: float | None = -1.0) -> str:
    """File ▸ Export WAV's job (run in a child process: rendering holds the interpreter for long stretches):
    the piece, saved as MIDI by the window, rendered by the playback engine, peak-normalised unless None."""
    render = engines.engine("render_wav")
    if not render:
        raise RuntimeError(render.tooltip)
    done = render(Piece.read(midi_path), wav_path, progress=lambda d, t: progress({"done": d, "total": t}), stop=stop,
                  normalize_dbfs=normalize_dbfs)
    return wav_path if done else ""
