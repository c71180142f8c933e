"""Helpers for the desktop-app tests: real pieces and real mouse/wheel input on real widgets."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.music.piece import TIME_SIGNATURE_DTYPE, Piece, make_notes


def scale_piece() -> Piece:
    """C major scale in quarter notes at 120 BPM (0.5 s each) in 4/4, then a chord at bar 3."""
    pitches = [60, 62, 64, 65, 67, 69, 71, 72, 60, 64, 67]
    starts = [i * 0.5 for i in range(8)] + [4.0, 4.0, 4.0]
    ends = [s + 0.5 for s in starts[:8]] + [5.0, 5.0, 5.0]
    velocities = [40, 50, 60, 70, 80, 90, 100, 110, 64, 64, 64]
    return Piece(notes=make_notes(pitches, starts, ends, velocity=velocities),
                 time_signatures=np.array([(0.0, 4, 4)], dtype=TIME_SIGNATURE_DTYPE), title="Scale")


def vp(view, seconds: float, pitch: int, dy: float = 0.5) -> QPoint:
    """Viewport point at a time and inside a pitch row (dy = fraction down the row)."""
    from studio.app.pianoroll.geometry import ROW_HEIGHT, x_of, y_of

    return view.mapFromScene(QPointF(x_of(seconds), y_of(pitch) + ROW_HEIGHT * dy))


def drag(qtbot, widget, start: QPoint, end: QPoint, modifier=Qt.KeyboardModifier.NoModifier, steps: int = 4) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, modifier, start)
    for k in range(1, steps + 1):
        p = start + (end - start) * (k / steps)
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, modifier, end)


def wheel(widget, pos: QPoint, delta: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    event = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, delta),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def crash_midway(progress, stop):
    """A job whose process dies without a word (as a segfault or the OOM killer would end it)."""
    import os

    progress({"step": 1})
    os._exit(3)


def reject_input(path, progress, stop):
    from studio.errors import UnsupportedContent

    raise UnsupportedContent(path, "line 3", "no K: field")
