"""The one object the GUI's transport and `studio play` drive: a piece, an output (the built-in synth, a
named MIDI port, or our own virtual port "Studio"), and play/pause/stop/seek/loop/tempo over whichever
output is chosen. Changing output carries the transport over; a MIDI port that disappears mid-playback is
reported and playback moves to the built-in synth.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from ..music import Piece
from .midi_player import MidiPlayer
from .ports import VIRTUAL_PORT_NAME, list_output_ports, open_output_port, open_virtual_port
from .synth_player import AudioUnavailable, SynthPlayer
from .transport import PLAYING, STOPPED, Transport

WATCH_INTERVAL = 1.0  # seconds between checks that the MIDI port still exists


class Player:
    """Thread-safe transport. Listeners (`on_state(state)`, `on_message(text)`) run on a short-lived
    thread of their own; a Qt wrapper relays them as signals. Read `position` at display rate."""

    def __init__(self, piece: Piece | None = None, *, soundfont: str | Path | None = None,
                 on_state: Callable[[str], None] | None = None,
                 on_message: Callable[[str], None] | None = None,
                 watch_interval: float = WATCH_INTERVAL):
        self._piece = piece if piece is not None else Piece()
        self._soundfont = soundfont
        self.on_state, self.on_message = on_state, on_message
        self._lock = threading.RLock()
        self._engine: MidiPlayer | SynthPlayer | None = None
        self._output = ""
        self._port_name: str | None = None  # a system port we watch for disappearing
        self._channel: int | None = None
        self._program: int | None = None
        self._open_ended = False
        self._closed = threading.Event()
        self._watch_interval = watch_interval
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="midi-port-watch")
        self._watcher.start()

    list_ports = staticmethod(list_output_ports)

    # ----- output -----
    @property
    def output(self) -> str:
        """What is playing: "built-in synth (DEVICE)", "MIDI port NAME" or "" before any output is chosen."""
        return self._output

    def use_builtin(self, soundfont: str | Path | None = None, device: str | None = None) -> None:
        """The built-in SoundFont synth on the system's audio output (AudioUnavailable when there is none)."""
        with self._lock:
            if soundfont is not None:
                self._soundfont = soundfont
            engine = SynthPlayer(self._piece, self._soundfont, transport=self._detach(), device=device,
                                 on_state=self._state_changed, on_error=self._message)
            self._attach(engine, f"built-in synth ({engine.device_name})", None)

    def use_port(self, name: str, channel: int | None = None, program: int | None = None) -> None:
        """A MIDI output by (part of) its name; `channel` 0-15 and `program` 0-127 override the piece's."""
        exact, port = open_output_port(name)
        self._use_midi(port, exact, f"MIDI port {exact}", channel, program)

    def use_virtual_port(self, channel: int | None = None, program: int | None = None) -> None:
        """Our own output port "Studio", for synths and DAWs to connect to (where the MIDI system allows)."""
        port = open_virtual_port(VIRTUAL_PORT_NAME)
        self._use_midi(port, None, f"virtual MIDI port {VIRTUAL_PORT_NAME}", channel, program)

    def set_channel_program(self, channel: int | None, program: int | None) -> None:
        """Change the MIDI channel (0-15) / program (0-127) override on the current port, while playing."""
        with self._lock:
            self._channel, self._program = channel, program
            if isinstance(self._engine, MidiPlayer):
                self._engine.set_channel_program(channel, program, self._piece)

    def _use_midi(self, port, watch_name, label, channel, program) -> None:
        with self._lock:
            self._channel, self._program = channel, program
            try:
                engine = MidiPlayer(port, self._piece, channel=channel, program=program,
                                    transport=self._detach(), on_state=self._state_changed,
                                    on_error=self._port_failed)
            except Exception:
                port.close()
                raise
            self._attach(engine, label, watch_name)

    def _detach(self) -> Transport:
        """Close the current engine (silencing it) and hand back where it was."""
        if self._engine is None:
            return Transport()
        t = self._engine.transport()
        self._engine.close()
        self._engine = None
        return t

    def _attach(self, engine, label: str, watch_name: str | None) -> None:
        engine.open_ended = self._open_ended
        self._engine, self._output, self._port_name = engine, label, watch_name

    def set_open_ended(self, flag: bool) -> None:
        """True: playback does not end after the last note but plays on (silence) until stopped, for a piece
        that is still being written while it plays (a jam); kept across output changes."""
        with self._lock:
            self._open_ended = bool(flag)
            if self._engine is not None:
                self._engine.open_ended = self._open_ended

    def _ensure_engine(self):
        if self._engine is None:
            self.use_builtin()
        return self._engine

    # ----- the piece -----
    def set_piece(self, piece: Piece) -> None:
        """Swap in an edited piece: heard from the playhead on (on the next pass of a loop), no restart."""
        with self._lock:
            self._piece = piece
            if self._engine is not None:
                self._engine.set_piece(piece)

    # ----- transport -----
    def play(self) -> None:
        self._ensure_engine().play()

    def pause(self) -> None:
        if self._engine is not None:
            self._engine.pause()

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.stop()

    def seek(self, seconds: float) -> None:
        self._ensure_engine().seek(seconds)

    def set_loop(self, start: float | None, end: float | None) -> None:
        self._ensure_engine().set_loop(start, end)

    def set_tempo_scale(self, scale: float) -> None:
        self._ensure_engine().set_tempo_scale(scale)

    def panic(self) -> None:
        """Stop sounding everything now: pause, and on a MIDI port all-sound-off/all-notes-off on 16 channels."""
        if self._engine is not None:
            self._engine.panic()

    @property
    def position(self) -> float:
        engine = self._engine
        return engine.position if engine is not None else 0.0

    @property
    def lead(self) -> float:
        """Seconds of the piece handed to the output but not heard yet (the synth's audio queue; 0 on MIDI)."""
        return getattr(self._engine, "lead", 0.0)

    @property
    def state(self) -> str:
        engine = self._engine
        return engine.state if engine is not None else STOPPED

    @property
    def duration(self) -> float:
        engine = self._engine
        return engine.duration if engine is not None else 0.0

    def transport(self) -> Transport:
        engine = self._engine
        return engine.transport() if engine is not None else Transport()

    def close(self) -> None:
        """End all sound and let go of ports and audio devices."""
        self._closed.set()
        with self._lock:
            self._detach()
        self._watcher.join(timeout=2)

    def __enter__(self) -> "Player":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- a port that goes away -----
    def _state_changed(self, state: str) -> None:
        if self.on_state:
            self.on_state(state)

    def _port_failed(self, reason: str) -> None:
        self._fall_back(reason)

    def _watch(self) -> None:
        while not self._closed.wait(self._watch_interval):
            name, engine = self._port_name, self._engine
            if name and isinstance(engine, MidiPlayer) and engine.state == PLAYING and not engine.port_present():
                self._fall_back(f"MIDI port {name!r} disappeared")

    def _fall_back(self, reason: str) -> None:
        with self._lock:
            engine = self._engine
            if not isinstance(engine, MidiPlayer) or self._closed.is_set():
                return
            try:
                self.use_builtin()
            except AudioUnavailable as exc:
                self._detach()
                self._output, self._port_name = "", None
                self._message(f"{reason}; playback stopped: {exc.reason}")
                self._state_changed(STOPPED)
                return
        self._message(f"{reason}; playing on the built-in synth")

    def _message(self, text: str) -> None:
        if self.on_message:
            self.on_message(text)
