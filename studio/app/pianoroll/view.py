"""The roll's graphics view: grid background, playhead and loop on top, and the mouse tools.

Mouse conventions follow the anchors doc (LMMS / MuseScore / Carla): drag a note to move it, drag near an
edge to resize, drag on empty space for a rubber band; plain click replaces the selection, Ctrl adds,
Shift toggles, Ctrl+Shift subtracts. Wheel scrolls vertically, Shift+wheel horizontally, Ctrl+wheel zooms
time at the cursor, Ctrl+Shift+wheel zooms pitch; the middle button pans.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QRubberBand

from ..document import PieceDocument
from . import edits
from .geometry import PX_PER_SECOND, ROW_HEIGHT, SCENE_HEIGHT, is_black, pitch_of, seconds_of, x_of, y_of
from .grid import Grid, bar_starts, second_step
from .notelayer import NoteLayer

TOOLS = ("select", "draw", "erase")
EDGE_PX = 5  # how close (in screen pixels) to a note's edge a press resizes instead of moving
MIN_ZOOM, MAX_ZOOM = 0.005, 40.0
PLAYHEAD_COLOR = QColor("#e53935")
LOOP_COLOR = QColor(66, 165, 245, 40)


class PianoRollView(QGraphicsView):
    viewChanged = Signal()  # scrolled or zoomed: keyboard, ruler and velocity lane repaint
    noteAuditioned = Signal(int, int)  # pitch, velocity: a note was clicked or drawn
    toolChanged = Signal(str)

    def __init__(self, doc: PieceDocument, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.grid = Grid(doc.piece)
        self.tool = "select"
        self.new_length_beats = 1.0  # new notes reuse the last length drawn or clicked (LMMS)
        self.new_velocity = 100
        self.playhead = 0.0
        self.note_tip_extra = None  # optional callable(note index) -> more tooltip text (the model's view)
        self.loop: tuple[float, float] | None = None
        self.scale: frozenset[int] | None = None  # pitch classes shaded as the scale (None: off)
        self.scale_tonic: int | None = None
        self.follow = True
        self.follow_suspended = False
        self._drag: dict | None = None
        self._programmatic_scroll = False
        self.sx, self.sy = 1.0, 1.0

        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # one item; no BSP bookkeeping
        self.layer = NoteLayer(doc)
        scene.addItem(self.layer)
        self.setScene(scene)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)  # so the keyboard and ruler line up to the pixel
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState
                                  | QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._band = QRubberBand(QRubberBand.Shape.Rectangle, self.viewport())
        self._update_scene_rect()
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.viewChanged.emit())
        self.horizontalScrollBar().sliderPressed.connect(self._manual_scroll)
        doc.changed.connect(self._doc_changed)
        doc.selectionChanged.connect(self.layer.update)

    def sizeHint(self) -> QSize:
        return QSize(900, 500)

    # ----------------------------------------------------------------- model sync
    def _doc_changed(self) -> None:
        self.layer.refresh()
        self._update_scene_rect()
        self.viewChanged.emit()

    def _update_scene_rect(self) -> None:
        self.setSceneRect(QRectF(0, 0, self.layer.boundingRect().width(), SCENE_HEIGHT))

    def reset_grid(self) -> None:
        """The tempo map or meter changed (a new ABC parse): redraw the cached grid."""
        self.grid.piece = self.doc.piece
        self.resetCachedContent()
        self.viewport().update()

    # ----------------------------------------------------------------- zoom and scroll
    def _apply_zoom(self) -> None:
        self.setTransform(QTransform.fromScale(self.sx, self.sy))
        self.viewChanged.emit()

    def zoom_time(self, factor: float, anchor_x: float | None = None) -> None:
        """Zoom the time axis keeping the scene point under `anchor_x` (viewport px; default centre) still."""
        anchor_x = self.viewport().width() / 2 if anchor_x is None else anchor_x
        scene_x = self.mapToScene(QPoint(int(anchor_x), 0)).x()
        self.sx = min(MAX_ZOOM, max(MIN_ZOOM, self.sx * factor))
        self._apply_zoom()
        self._set_h(int(round(scene_x * self.sx - anchor_x)))

    def zoom_pitch(self, factor: float, anchor_y: float | None = None) -> None:
        anchor_y = self.viewport().height() / 2 if anchor_y is None else anchor_y
        scene_y = self.mapToScene(QPoint(0, int(anchor_y))).y()
        self.sy = min(4.0, max(0.3, self.sy * factor))
        self._apply_zoom()
        self.verticalScrollBar().setValue(int(round(scene_y * self.sy - anchor_y)))

    def zoom_to_fit(self) -> None:
        span = max(self.doc.piece.duration, 1.0)
        self.sx = min(MAX_ZOOM, max(MIN_ZOOM, self.viewport().width() / x_of(span * 1.02)))
        self._apply_zoom()
        self._set_h(0)

    def center_on_notes(self) -> None:
        """Scroll so the piece's pitch range is in view (used when a piece opens)."""
        notes = self.doc.notes
        mid = int(np.median(notes["pitch"])) if len(notes) else 60
        self.verticalScrollBar().setValue(int(y_of(mid) * self.sy - self.viewport().height() / 2))

    def visible_seconds(self) -> tuple[float, float]:
        r = self.mapToScene(self.viewport().rect()).boundingRect()
        return seconds_of(r.left()), seconds_of(r.right())

    def _set_h(self, value: int) -> None:
        self._programmatic_scroll = True
        try:
            self.horizontalScrollBar().setValue(value)
        finally:
            self._programmatic_scroll = False

    def _scrolled(self, _value: int) -> None:
        self.viewChanged.emit()

    def _manual_scroll(self) -> None:
        """The user scrolled the time axis: following the playhead yields until playback restarts."""
        if self.follow:
            self.follow_suspended = True

    def wheelEvent(self, event) -> None:
        mods = event.modifiers()
        delta = event.angleDelta().y() or event.angleDelta().x()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if ctrl and shift:
            self.zoom_pitch(1.15 ** (delta / 120), event.position().y())
        elif ctrl:
            self.zoom_time(1.25 ** (delta / 120), event.position().x())
        elif shift:
            self._manual_scroll()
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - delta)
        else:
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() - delta)
        event.accept()

    # ----------------------------------------------------------------- playhead, loop, follow
    def set_playhead(self, seconds: float) -> None:
        old = self.playhead
        self.playhead = max(0.0, seconds)
        for t in (old, self.playhead):
            x = int(self.mapFromScene(QPointF(x_of(t), 0)).x())
            self.viewport().update(QRect(x - 2, 0, 5, self.viewport().height()))
        if self.follow and not self.follow_suspended:
            t0, t1 = self.visible_seconds()
            if not (t0 <= self.playhead <= t0 + (t1 - t0) * 0.9):  # page-turn, leaving a little context
                self._set_h(int(x_of(self.playhead) * self.sx - self.viewport().width() * 0.1))

    def resume_follow(self) -> None:
        self.follow_suspended = False

    def set_scale(self, classes: frozenset[int] | None, tonic: int | None = None) -> None:
        """Shade the rows of these pitch classes (None: no scale shown)."""
        self.scale, self.scale_tonic = classes, tonic
        self.resetCachedContent()
        self.viewport().update()

    def set_loop(self, loop: tuple[float, float] | None) -> None:
        self.loop = loop
        self.viewport().update()

    # ----------------------------------------------------------------- painting
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, QColor("#fafafa"))
        p_top, p_bottom = pitch_of(rect.top()), pitch_of(rect.bottom())
        dark = QColor("#e8eaed")
        in_scale, tonic_row = QColor("#dcefe0"), QColor("#c3e3ca")  # the scale's rows (its tonic deeper)
        for p in range(p_bottom, p_top + 1):
            row = QRectF(rect.left(), y_of(p), rect.width(), ROW_HEIGHT)
            if self.scale is not None and p % 12 in self.scale:
                painter.fillRect(row, tonic_row if p % 12 == self.scale_tonic else in_scale)
            elif is_black(p):
                painter.fillRect(row, dark)
        lines = [QLineF(rect.left(), y_of(p) + ROW_HEIGHT, rect.right(), y_of(p) + ROW_HEIGHT)
                 for p in range(p_bottom, p_top + 1) if p % 12 == 0]
        painter.setPen(QPen(QColor("#b0b4ba"), 0))
        painter.drawLines(lines)
        self._draw_time_lines(painter, rect)

    def _draw_time_lines(self, painter: QPainter, rect: QRectF) -> None:
        """Beat and bar lines for metered music; round-second lines (as in the ruler) for performances."""
        top, bottom = rect.top(), rect.bottom()
        t0, t1 = max(seconds_of(rect.left()), 0.0), max(seconds_of(rect.right()), 0.0)
        px_per_second = self.sx * PX_PER_SECOND
        if not self.doc.is_metered:
            for step, colour in ((second_step(px_per_second, 15.0), "#eceff1"), (second_step(px_per_second), "#c5c9ce")):
                xs = np.arange(math.floor(t0 / step) * step, t1 + step, step) * PX_PER_SECOND
                painter.setPen(QPen(QColor(colour), 0))
                painter.drawLines([QLineF(x, top, x, bottom) for x in xs.tolist()])
            return
        piece = self.doc.piece
        b0, b1 = float(piece.seconds_to_beats(t0)), float(piece.seconds_to_beats(t1))
        px_per_beat = px_per_second * 60.0 / float(piece.tempos["qpm"].mean())
        step = self.grid.step_beats
        levels = []  # (beats step, colour), finest first, only when lines would be >= 6 px apart
        if step and step < 1 and step * px_per_beat >= 6:
            levels.append((step, QColor("#eceff1")))
        if px_per_beat >= 6:
            levels.append((1.0, QColor("#d5d8dc")))
        for beat_step, colour in levels:
            beats = np.arange(math.floor(b0 / beat_step) * beat_step, b1 + beat_step, beat_step)
            xs = np.asarray(piece.beats_to_seconds(beats)) * PX_PER_SECOND
            painter.setPen(QPen(colour, 0))
            painter.drawLines([QLineF(x, top, x, bottom) for x in xs.tolist()])
        bars = bar_starts(piece, b1 + 1)
        bars = bars[bars >= b0 - 1e-9]
        px_per_bar = px_per_beat * (float(np.median(np.diff(bars))) if len(bars) > 1 else 4.0)
        every = 1
        while px_per_bar * every < 24:  # too dense to read: every 2nd, 4th, ... bar
            every *= 2
        xs = np.asarray(piece.beats_to_seconds(bars[::every])) * PX_PER_SECOND
        painter.setPen(QPen(QColor("#9aa0a6"), 0))
        painter.drawLines([QLineF(x, top, x, bottom) for x in np.atleast_1d(xs).tolist()])

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.loop:
            a, b = self.loop
            painter.fillRect(QRectF(x_of(a), rect.top(), x_of(b - a), rect.height()), LOOP_COLOR)
        x = x_of(self.playhead)
        if rect.left() - 2 <= x <= rect.right() + 2:
            painter.setPen(QPen(PLAYHEAD_COLOR, 0))
            painter.drawLine(QLineF(x, rect.top(), x, rect.bottom()))

    # ----------------------------------------------------------------- tools
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self.tool = tool
        self.viewport().setCursor({"select": Qt.CursorShape.ArrowCursor, "draw": Qt.CursorShape.CrossCursor,
                                   "erase": Qt.CursorShape.PointingHandCursor}[tool])
        self.toolChanged.emit(tool)

    def _edge_at(self, index: int, pos: QPointF) -> str:
        """'left'/'right' when the press is within EDGE_PX screen pixels of that edge, else ''."""
        r = self.layer.note_rect(index)
        if r.width() * self.sx < 3 * EDGE_PX:
            return "right" if (r.right() - pos.x()) * self.sx <= EDGE_PX else ""
        if (r.right() - pos.x()) * self.sx <= EDGE_PX:
            return "right"
        if (pos.x() - r.left()) * self.sx <= EDGE_PX:
            return "left"
        return ""

    def mousePressEvent(self, event) -> None:
        pos = self.mapToScene(event.position().toPoint())
        button = event.button()
        if button == Qt.MouseButton.MiddleButton:
            self._drag = {"kind": "pan", "last": event.position().toPoint()}
            self._manual_scroll()
            return
        hit = self.layer.note_at(pos)
        if button == Qt.MouseButton.RightButton and self.tool == "draw" and hit >= 0:  # LMMS: right-click erases
            self._erase_at(pos, start=True)
            return
        if button != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        if self.tool == "erase":
            self._erase_at(pos, start=True)
            return
        if hit >= 0:
            self._press_note(hit, pos, event.modifiers())
        elif self.tool == "draw":
            self._start_draw(pos)
        else:
            origin = event.position().toPoint()
            self._drag = {"kind": "band", "origin": origin, "mods": event.modifiers()}
            self._band.setGeometry(QRect(origin, QSize()))
            self._band.show()

    def _press_note(self, hit: int, pos: QPointF, mods) -> None:
        doc = self.doc
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        sel = doc.selected.copy()
        if ctrl and shift:
            sel[hit] = False
        elif shift:
            sel[hit] = not sel[hit]
        elif ctrl:
            sel[hit] = True
        elif not sel[hit]:
            sel[:] = False
            sel[hit] = True
        doc.set_selection(sel)
        note = doc.notes[hit]
        self.new_velocity = int(note["velocity"])
        self.new_length_beats = max(1e-3, float(doc.piece.seconds_to_beats(float(note["end"]))
                                                - doc.piece.seconds_to_beats(float(note["start"]))))
        self.noteAuditioned.emit(int(note["pitch"]), int(note["velocity"]))
        if not sel[hit]:
            return
        edge = self._edge_at(hit, pos)
        self._drag = {"kind": "resize" if edge else "move", "edge": edge, "hit": hit, "origin": pos,
                      "before": doc.state(), "mask": sel.copy(), "plain": not (ctrl or shift), "moved": False,
                      "last_pitch": int(note["pitch"])}

    def _start_draw(self, pos: QPointF) -> None:
        doc = self.doc
        start = float(self.grid.snap_floor(seconds_of(pos.x())))
        b = doc.piece.seconds_to_beats(start)
        end = float(doc.piece.beats_to_seconds(b + self.new_length_beats))
        pitch = pitch_of(pos.y())
        before = doc.state()
        notes, sel = edits.add_note(doc.notes, pitch, start, end, self.new_velocity)
        doc.preview(notes, sel)
        self.noteAuditioned.emit(pitch, self.new_velocity)
        self._drag = {"kind": "draw", "before": before, "index": len(notes) - 1, "start": start, "moved": False}

    def _erase_at(self, pos: QPointF, start: bool = False) -> None:
        doc = self.doc
        if start:
            self._drag = {"kind": "erase", "before": doc.state(), "erased": 0}
        hit = self.layer.note_at(pos)
        if hit < 0 or self._drag is None:
            return
        mask = np.zeros(len(doc.notes), dtype=bool)
        mask[hit] = True
        notes, _ = edits.delete(doc.notes, mask)
        doc.preview(notes, np.delete(doc.selected, hit))
        self._drag["erased"] += 1

    def mouseMoveEvent(self, event) -> None:
        drag = self._drag
        pos = self.mapToScene(event.position().toPoint())
        if drag is None:
            self._hover(pos)
            return super().mouseMoveEvent(event)
        kind = drag["kind"]
        if kind == "pan":
            p = event.position().toPoint()
            d = p - drag["last"]
            drag["last"] = p
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - d.y())
        elif kind == "band":
            self._band.setGeometry(QRect(drag["origin"], event.position().toPoint()).normalized())
        elif kind == "erase":
            self._erase_at(pos)
        elif kind == "draw":
            self._drag_draw(drag, pos)
        else:
            self._drag_notes(drag, pos)

    def _drag_draw(self, drag: dict, pos: QPointF) -> None:
        """Dragging right after placing a note sets its length (MuseScore and Carla's insert tools)."""
        doc = self.doc
        t = seconds_of(pos.x())
        end = float(self.grid.snap(t)) if self.grid.step_beats else t
        step_end = doc.piece.beats_to_seconds(doc.piece.seconds_to_beats(drag["start"]) + (self.grid.step_beats or 0.0))
        end = max(end, float(step_end), drag["start"] + edits.MIN_LENGTH)
        notes = doc.notes.copy()
        notes["end"][drag["index"]] = end
        drag["moved"] = True
        doc.preview(notes, doc.selected)

    def _drag_notes(self, drag: dict, pos: QPointF) -> None:
        doc = self.doc
        before_notes = drag["before"][0]
        anchor = before_notes[drag["hit"]]
        raw = seconds_of(pos.x() - drag["origin"].x())
        if drag["kind"] == "move":
            target = float(self.grid.snap(float(anchor["start"]) + raw))
            semis = pitch_of(pos.y()) - pitch_of(drag["origin"].y())
            notes = edits.move(before_notes, drag["mask"], target - float(anchor["start"]), semis)
            pitch = int(anchor["pitch"]) + semis
            if pitch != drag["last_pitch"] and 0 <= pitch <= 127:
                drag["last_pitch"] = pitch
                self.noteAuditioned.emit(pitch, int(anchor["velocity"]))
        else:
            edge_time = float(anchor["end"] if drag["edge"] == "right" else anchor["start"])
            target = float(self.grid.snap(edge_time + raw))
            notes = edits.resize(before_notes, drag["mask"], target - edge_time, drag["edge"])
        if not drag["moved"] and np.array_equal(notes, before_notes):
            return
        drag["moved"] = True
        doc.preview(notes, drag["mask"])

    def mouseReleaseEvent(self, event) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return super().mouseReleaseEvent(event)
        doc = self.doc
        kind = drag["kind"]
        if kind == "band":
            self._band.hide()
            self._finish_band(drag, QRect(drag["origin"], event.position().toPoint()).normalized())
        elif kind == "erase":
            if drag["erased"]:
                doc.edit(f"Erase {drag['erased']} note(s)", doc.notes, doc.selected, before=drag["before"])
        elif kind == "draw":
            notes = doc.notes
            i = drag["index"]
            b = doc.piece.seconds_to_beats
            self.new_length_beats = max(1e-3, float(b(float(notes["end"][i])) - b(float(notes["start"][i]))))
            doc.edit("Draw note", notes, doc.selected, before=drag["before"])
        elif kind in ("move", "resize"):
            if drag["moved"]:
                doc.edit("Move notes" if kind == "move" else "Resize notes", doc.notes, doc.selected,
                         before=drag["before"])
            elif drag["plain"]:  # a plain click on a note inside a selection selects just that note
                sel = np.zeros(len(doc.notes), dtype=bool)
                sel[drag["hit"]] = True
                doc.set_selection(sel)

    def _finish_band(self, drag: dict, band: QRect) -> None:
        doc = self.doc
        inside = np.zeros(len(doc.notes), dtype=bool)
        if band.width() > 2 or band.height() > 2:
            inside[self.layer.indices_in(self.mapToScene(band).boundingRect())] = True
        mods = drag["mods"]
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if ctrl and shift:
            doc.set_selection(doc.selected & ~inside)
        elif shift:
            doc.set_selection(doc.selected ^ inside)
        elif ctrl:
            doc.set_selection(doc.selected | inside)
        else:
            doc.set_selection(inside)

    def cancel_drag(self) -> bool:
        """Esc during a drag puts everything back (MuseScore); returns whether there was a drag."""
        drag, self._drag = self._drag, None
        if drag is None:
            return False
        self._band.hide()
        if "before" in drag:
            self.doc.preview(*drag["before"])
        return True

    def _hover(self, pos: QPointF) -> None:
        if self.tool != "select":
            return
        hit = self.layer.note_at(pos)
        shape = Qt.CursorShape.ArrowCursor
        if hit >= 0:
            shape = Qt.CursorShape.SizeHorCursor if self._edge_at(hit, pos) else Qt.CursorShape.SizeAllCursor
        if self.viewport().cursor().shape() != shape:
            self.viewport().setCursor(QCursor(shape))
        self.setToolTip(self._note_tip(hit) if hit >= 0 else "")

    def _note_tip(self, i: int) -> str:
        from .geometry import note_name

        n = self.doc.notes[i]
        tip = (f"{note_name(int(n['pitch']))} (MIDI {int(n['pitch'])}), velocity {int(n['velocity'])}, "
               f"{float(n['start']):.3f}–{float(n['end']):.3f} s")
        more = self.note_tip_extra(i) if self.note_tip_extra else ""
        return tip + ("\n" + more if more else "")

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            if not self.cancel_drag():
                self.doc.clear_selection()
            return
        super().keyPressEvent(event)
