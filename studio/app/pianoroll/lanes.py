"""The widgets that follow the roll's scrolling: the keyboard on the left, the time ruler on top (playhead
and loop region) and the velocity lane underneath. Each maps scene coordinates through the view, so they
line up at every zoom."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from . import edits
from .geometry import PX_PER_SECOND, ROW_HEIGHT, is_black, note_name, pitch_of, y_of
from .grid import bar_starts, second_step
from .notelayer import SELECTED_COLOR, VELOCITY_BUCKETS, velocity_color
from .view import LOOP_COLOR, PLAYHEAD_COLOR, PianoRollView


class _Follower(QWidget):
    def __init__(self, view: PianoRollView, parent=None):
        super().__init__(parent)
        self.view = view
        view.viewChanged.connect(self.update)

    def x_at(self, seconds):
        """Widget x of a time (the view's viewport starts at the same x as this widget's left edge)."""
        origin = self.view.mapToScene(0, 0).x()
        return (np.asarray(seconds) * PX_PER_SECOND - origin) * self.view.sx

    def seconds_at(self, x: float) -> float:
        return max(0.0, (self.view.mapToScene(0, 0).x() + x / self.view.sx) / PX_PER_SECOND)


class Keyboard(QWidget):
    """Piano keys with note names (every C labelled with its octave, all names when rows are tall enough);
    clicking a key emits `keyPressed` so the playback layer can sound it."""

    keyPressed = Signal(int)

    def __init__(self, view: PianoRollView, parent=None):
        super().__init__(parent)
        self.view = view
        self.setFixedWidth(56)
        self.setMouseTracking(True)
        self._hover = -1
        view.viewChanged.connect(self.update)

    def pitch_at(self, y: float) -> int:
        return pitch_of(self.view.mapToScene(0, int(y)).y())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        top = self.view.mapToScene(0, 0).y()
        row = ROW_HEIGHT * self.view.sy
        p_top, p_bottom = pitch_of(top), pitch_of(top + self.height() / self.view.sy)
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, min(9.0, row * 0.7)))
        painter.setFont(small)
        w = self.width()
        for p in range(p_bottom, p_top + 1):
            y = (y_of(p) - top) * self.view.sy
            black = is_black(p)
            fill = QColor("#ffcc80") if p == self._hover else (QColor("#303030") if black else QColor("#ffffff"))
            painter.fillRect(QRectF(0, y, w if not black else w * 0.62, row), fill)
            if black and p != self._hover:
                painter.fillRect(QRectF(w * 0.62, y, w * 0.38, row), QColor("#ffffff"))
            painter.setPen(QPen(QColor("#9e9e9e"), 0))
            painter.drawLine(QPointF(0, y + row), QPointF(w, y + row))
            if (p % 12 == 0 or p == self._hover or (row >= 14 and not black)) and row >= 7:
                painter.setPen(QColor("#ffffff") if black and p != self._hover else QColor("#202020"))
                painter.drawText(QRectF(2, y, w - 4, row), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                                 note_name(p))
        painter.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.keyPressed.emit(self.pitch_at(event.position().y()))

    def mouseMoveEvent(self, event) -> None:
        p = self.pitch_at(event.position().y())
        if p != self._hover:
            self._hover = p
            self.setToolTip(f"{note_name(p)} (MIDI {p})")
            self.update()

    def leaveEvent(self, _event) -> None:
        self._hover = -1
        self.update()

    def wheelEvent(self, event) -> None:
        self.view.wheelEvent(event)


class Ruler(_Follower):
    """Bars and beats (seconds for unmetered performances), the playhead and the loop region.
    Click or drag: move the playhead. Shift+drag or right-drag: set the loop. Double-click: clear the loop."""

    seekRequested = Signal(float)
    loopChanged = Signal(object)  # (start, end) seconds or None

    def __init__(self, view: PianoRollView, parent=None):
        super().__init__(view, parent)
        self.setFixedHeight(26)
        self._loop_origin: float | None = None

    def sizeHint(self) -> QSize:
        return QSize(600, 26)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#eceff1"))
        view, piece = self.view, self.view.doc.piece
        t0 = self.seconds_at(0)
        t1 = self.seconds_at(self.width())
        h = self.height()
        if view.loop:
            a, b = self.x_at(list(view.loop)).tolist()
            painter.fillRect(QRectF(a, 0, b - a, h), QColor(LOOP_COLOR.red(), LOOP_COLOR.green(), LOOP_COLOR.blue(), 110))
        painter.setPen(QPen(QColor("#455a64"), 0))
        if view.doc.is_metered:
            self._paint_bars(painter, piece, t0, t1, h)
        else:
            self._paint_seconds(painter, t0, t1, h)
        x = float(self.x_at(view.playhead))
        painter.setPen(QPen(PLAYHEAD_COLOR, 2))
        painter.drawLine(QPointF(x, h * 0.35), QPointF(x, h))
        painter.setBrush(PLAYHEAD_COLOR)
        painter.drawPolygon([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, h * 0.4)])
        painter.end()

    def _paint_bars(self, painter: QPainter, piece, t0: float, t1: float, h: int) -> None:
        b1 = float(piece.seconds_to_beats(t1))
        bars = bar_starts(piece, b1 + 1)
        xs = self.x_at(np.asarray(piece.beats_to_seconds(bars)))
        px_per_bar = float(np.median(np.diff(xs))) if len(xs) > 1 else self.width()
        every = 1
        while px_per_bar * every < 36:
            every *= 2
        for number, x in enumerate(xs.tolist(), start=1):
            if x < -40 or x > self.width():
                continue
            if (number - 1) % every == 0:
                painter.drawLine(QPointF(x, h * 0.45), QPointF(x, h))
                painter.drawText(QPointF(x + 3, h * 0.45), str(number))
            if px_per_bar > 80:  # beat ticks
                k = bars[number - 1]
                nxt = bars[number] if number < len(bars) else k + 4
                for beat in np.arange(k + 1, nxt - 1e-9, 1.0):
                    bx = float(self.x_at(piece.beats_to_seconds(beat)))
                    painter.drawLine(QPointF(bx, h * 0.75), QPointF(bx, h))

    def _paint_seconds(self, painter: QPainter, t0: float, t1: float, h: int) -> None:
        step = second_step(self.view.sx * PX_PER_SECOND)
        for t in np.arange(np.floor(t0 / step) * step, t1 + step, step).tolist():
            x = float(self.x_at(t))
            painter.drawLine(QPointF(x, h * 0.45), QPointF(x, h))
            label = f"{int(t // 60)}:{t % 60:04.1f}" if step < 1 else f"{int(t // 60)}:{int(round(t % 60)):02d}"
            painter.drawText(QPointF(x + 3, h * 0.45), label)

    def mousePressEvent(self, event) -> None:
        t = self.seconds_at(event.position().x())
        looping = event.button() == Qt.MouseButton.RightButton or event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if looping:
            self._loop_origin = float(self.view.grid.snap(t))
        else:
            self._loop_origin = None
            self.seekRequested.emit(t)

    def mouseMoveEvent(self, event) -> None:
        t = self.seconds_at(event.position().x())
        if self._loop_origin is None:
            if event.buttons() & Qt.MouseButton.LeftButton:
                self.seekRequested.emit(t)
            return
        t = float(self.view.grid.snap(t))
        a, b = sorted((self._loop_origin, t))
        if b > a:
            self.loopChanged.emit((a, b))

    def mouseReleaseEvent(self, _event) -> None:
        self._loop_origin = None

    def mouseDoubleClickEvent(self, _event) -> None:
        self.loopChanged.emit(None)


class VelocityLane(_Follower):
    """One bar per note at its start, height = velocity. Drag across bars to set them (only the selected
    notes when there is a selection); the whole drag is one undo step. Wheel over it nudges the selection."""

    def __init__(self, view: PianoRollView, parent=None):
        super().__init__(view, parent)
        self.setFixedHeight(84)
        self._drag_before = None
        self._last_x = 0.0
        view.doc.changed.connect(self.update)
        view.doc.selectionChanged.connect(self.update)

    def _visible(self) -> np.ndarray:
        t0, t1 = self.seconds_at(0), self.seconds_at(self.width())
        notes = self.view.doc.notes
        return np.flatnonzero((notes["start"] >= t0 - 0.05) & (notes["start"] <= t1))

    def paintEvent(self, _event) -> None:
        """Stems batched per velocity colour (a few draw calls per frame, however many notes are visible)."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#f5f5f5"))
        h, bottom = self.height() - 4, float(self.height())
        idx = self._visible()
        notes = self.view.doc.notes
        xs = self.x_at(notes["start"][idx])
        vel = notes["velocity"][idx].astype(int)
        if len(idx) > self.width() / 4:  # denser than a stem per 4 px: one numpy-drawn image of column maxima
            self._paint_dense(painter, xs, vel, h)
            painter.end()
            return
        bucket = np.minimum(vel * VELOCITY_BUCKETS // 128, VELOCITY_BUCKETS - 1)
        bucket[self.view.doc.selected[idx]] = VELOCITY_BUCKETS
        ys = bottom - vel / 127 * h
        xl, yl = xs.tolist(), ys.tolist()
        painter.setPen(Qt.PenStyle.NoPen)
        for b in np.unique(bucket).tolist():
            ks = np.flatnonzero(bucket == b).tolist()
            painter.setBrush(SELECTED_COLOR if b == VELOCITY_BUCKETS else
                             velocity_color(int((b + 0.5) * 127 / VELOCITY_BUCKETS)))
            painter.drawRects([QRectF(xl[k] - 1.0, yl[k], 2.0, bottom - yl[k]) for k in ks])
            painter.drawRects([QRectF(xl[k] - 2.5, yl[k] - 2.5, 5.0, 5.0) for k in ks])
        painter.setPen(QColor("#757575"))
        painter.drawText(QPointF(4, 12), "Velocity")
        painter.end()

    def _paint_dense(self, painter: QPainter, xs: np.ndarray, vel: np.ndarray, h: int) -> None:
        width, height = self.width(), self.height()
        top = np.zeros(width, dtype=int)
        np.maximum.at(top, xs.astype(int).clip(0, width - 1), vel)
        filled = np.arange(height)[:, None] >= (height - top / 127 * h)[None, :]
        pixels = np.ascontiguousarray(np.where(filled & (top > 0), np.uint32(QColor("#78909c").rgba()), np.uint32(0)))
        painter.drawImage(0, 0, QImage(pixels.data, width, height, width * 4, QImage.Format.Format_ARGB32))
        painter.setPen(QColor("#757575"))
        painter.drawText(QPointF(4, 12), "Velocity")

    def _velocity_at(self, y: float) -> int:
        return int(round(np.clip((self.height() - y) / (self.height() - 4) * 127, 1, 127)))

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._drag_before = self.view.doc.state()
        self._last_x = event.position().x()
        self._paint_velocity(event.position().x(), event.position().y())

    def mouseMoveEvent(self, event) -> None:
        if self._drag_before is not None:
            self._paint_velocity(event.position().x(), event.position().y())

    def _paint_velocity(self, x: float, y: float) -> None:
        doc = self.view.doc
        a, b = sorted((self._last_x, x))
        self._last_x = x
        xs = self.x_at(doc.notes["start"])
        under = (xs >= a - 3) & (xs <= b + 3)
        if doc.selected.any():
            under &= doc.selected
        if under.any():
            doc.preview(edits.set_velocity(doc.notes, under, self._velocity_at(y)), doc.selected)

    def mouseReleaseEvent(self, _event) -> None:
        before, self._drag_before = self._drag_before, None
        doc = self.view.doc
        if before is not None and not np.array_equal(before[0], doc.notes):
            doc.edit("Set velocity", doc.notes, doc.selected, before=before)

    def wheelEvent(self, event) -> None:
        doc = self.view.doc
        if not doc.selected.any():
            return
        step = 4 if event.angleDelta().y() > 0 else -4
        notes = doc.notes.copy()
        notes["velocity"][doc.selected] = np.clip(notes["velocity"][doc.selected] + step, 1, 127)
        doc.edit("Change velocity", notes, doc.selected)
