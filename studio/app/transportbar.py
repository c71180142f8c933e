"""The transport bar every DAW has: play/stop, pause, stop, loop, jam, the position (bars:beats for metered
pieces, else minutes:seconds; click to switch), the tempo of metered pieces, the output, and panic.

The buttons are the window's own actions (Transport menu), so they follow the same shortcuts and the F1
list; the bar only shows them and keeps the position, tempo, loop and output in step with playback.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar, QToolButton

from ..music.piece import Piece
from .pianoroll.grid import bar_starts

REFRESH_MS = 100


def bars_beats(piece: Piece, seconds: float) -> str:
    """`bar:beat` (both from 1) at `seconds`, beats counted in the time signature's unit."""
    beats = float(piece.seconds_to_beats(max(seconds, 0.0)))
    starts = bar_starts(piece, beats + 1.0)
    i = max(0, int(np.searchsorted(starts, beats + 1e-9, side="right")) - 1)
    ts = piece.time_signatures
    denominator = 4
    if len(ts):
        current = ts[ts["time"] <= seconds + 1e-9]
        denominator = int((current if len(current) else ts)["denominator"][-1 if len(current) else 0])
    beat = int((beats - (starts[i] if len(starts) else 0.0)) * denominator / 4.0 + 1e-9) + 1
    return f"{i + 1}:{beat}"


def minutes_seconds(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def tempo_at(piece: Piece, seconds: float) -> float:
    t = piece.tempos
    return float(t["qpm"][max(0, int(np.searchsorted(t["time"], seconds, side="right")) - 1)])


class OutputBox(QComboBox):
    """The outputs, listed afresh each time it opens (ports come and go)."""

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.setToolTip("Where notes play: the built-in synth or a MIDI port (Transport ▸ Output)")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.refresh()
        self.activated.connect(self._chosen)

    def refresh(self) -> None:
        t = self.window.transport
        try:
            outputs = t.outputs() if t.available else []
        except Exception:  # the MIDI system cannot be asked: the synth is still there
            outputs = [("Built-in synth", "builtin:")]
        self.blockSignals(True)
        self.clear()
        for label, key in outputs or [(t.why_unavailable or "no playback", "")]:
            self.addItem(label, key)
        i = self.findData(t.output_key)
        self.setCurrentIndex(max(i, 0))
        self.blockSignals(False)

    def showPopup(self) -> None:
        self.refresh()
        super().showPopup()

    def _chosen(self, index: int) -> None:
        key = self.itemData(index)
        if key:
            self.window.playing.choose_output(key)
        self.refresh()  # shows what is really in use (the choice may have failed)


class TransportBar(QToolBar):
    def __init__(self, window):
        super().__init__("Transport")
        self.setObjectName("toolbar-transport")
        self.window = window
        self.bars_beats = True
        acts = window.actions_
        for name in ("play_stop", "pause", "stop", "loop", "jam"):
            self.addAction(acts[name])
        self.addSeparator()
        self.position = QToolButton()
        self.position.setToolTip("Playhead position: bars:beats for pieces with a meter, else minutes:seconds "
                                 "(click to switch)")
        self.position.clicked.connect(self._switch_format)
        self.position.setMinimumWidth(80)
        self.addWidget(self.position)
        self.tempo = QLabel()
        self.tempo.setToolTip("Tempo at the playhead (pieces with a meter)")
        self.addWidget(self.tempo)
        self.addSeparator()
        self.addWidget(QLabel(" Output "))
        self.output = OutputBox(window)
        self.addWidget(self.output)
        self.addAction(acts["panic"])
        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        window.transport.stateChanged.connect(lambda _s: self.refresh())
        self.refresh()

    def _switch_format(self) -> None:
        self.bars_beats = not self.bars_beats
        self.refresh()

    def refresh(self) -> None:
        """Position and tempo from the current piece's playhead (or the jam's), loop state from its roll."""
        w = self.window
        jam = getattr(w, "jam_panel", None)
        roll = w.current_roll()
        acts = w.actions_
        if jam is not None and (jam.running or jam.starting):
            self.position.setText(minutes_seconds(jam.jam.position if jam.jam else 0.0))
            self.tempo.setText("")
            return
        if roll is None:
            self.position.setText(minutes_seconds(0.0))
            self.tempo.setText("")
            acts["loop"].setChecked(False)
            return
        piece, seconds = roll.document.piece, roll.view.playhead
        metered = len(piece.time_signatures) > 0
        self.position.setText(bars_beats(piece, seconds) if metered and self.bars_beats else minutes_seconds(seconds))
        self.tempo.setText(f" ♩ = {tempo_at(piece, seconds):.0f} " if metered else "")
        acts["loop"].setChecked(roll.view.loop is not None)

    def toggle_loop(self, checked: bool) -> None:
        """Loop on: the span marked on the ruler last (else the whole piece); off: remember it and play on."""
        roll = self.window.current_roll()
        if roll is None:
            return
        if checked and roll.view.loop is None:
            span = getattr(roll, "_last_loop", None) or (0.0, max(roll.document.piece.duration, 0.5))
            roll.set_loop(span)
        elif not checked and roll.view.loop is not None:
            roll._last_loop = roll.view.loop
            roll.set_loop(None)
        self.refresh()


def install(window) -> TransportBar:
    bar = TransportBar(window)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return bar
