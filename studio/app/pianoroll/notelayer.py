"""The one scene item that paints notes: it picks the visible notes from the sorted arrays with a binary
search and draws them in a few batched calls; when thousands are visible (zoomed far out) it rasterises
them with numpy into one image instead, so a frame costs about the same at any zoom."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from ..document import PieceDocument
from .geometry import PX_PER_SECOND, ROW_HEIGHT, SCENE_HEIGHT, pitch_of, x_of, y_of

RASTER_ABOVE = 2500  # visible notes beyond which one numpy-drawn image is cheaper than rectangles
VELOCITY_BUCKETS = 8
SELECTED_COLOR = QColor("#ff9800")
OUTLINE_COLOR = QColor(20, 20, 20, 160)
TAIL_SECONDS = 30.0  # room to draw after the last note


def velocity_color(velocity: int) -> QColor:
    """Soft notes cool blue, loud notes warm red: velocity reads as colour, as in Carla and most DAWs."""
    v = max(1, min(127, int(velocity))) / 127.0
    return QColor.fromHsvF((0.62 - 0.62 * v) % 1.0, 0.55 + 0.35 * v, 0.95 - 0.15 * v)


_BUCKET_BRUSHES = [QBrush(velocity_color(int((b + 0.5) * 127 / VELOCITY_BUCKETS))) for b in range(VELOCITY_BUCKETS)]
_LUT = np.array([velocity_color(v).rgba() for v in range(128)], dtype=np.uint32)
_SELECTED_BUCKET = 1 << 20


class NoteLayer(QGraphicsItem):
    """Paints the document's notes; also answers the geometric questions the tools ask (hit tests)."""

    def __init__(self, doc: PieceDocument):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.doc = doc
        self._rect = QRectF()
        self._levels: np.ndarray | None = None  # a colour level per note (-1: by velocity), see set_note_levels
        self._palette: list[QColor] = []
        self.refresh()

    def set_note_levels(self, levels: np.ndarray | None, palette: list[QColor] | None = None) -> None:
        """Colour notes by level (index into `palette`; -1 keeps the velocity colour) instead of velocity,
        e.g. by the model's surprise; None goes back to velocity colours. Ignored once the notes change
        count, until the caller sets levels for the new notes."""
        self._levels = None if levels is None else np.asarray(levels, dtype=np.int64)
        self._palette = list(palette or [])
        self._palette_brushes = [QBrush(c) for c in self._palette]
        self._palette_lut = np.array([c.rgba() for c in self._palette], dtype=np.uint32)
        self.update()

    def _note_levels(self, idx: np.ndarray) -> np.ndarray | None:
        if self._levels is None or len(self._levels) != len(self.doc.notes) or not self._palette:
            return None
        return self._levels[idx]

    # ----------------------------------------------------------------- indexing
    def refresh(self) -> None:
        """Re-read the arrays after an edit (notes are kept sorted by start, so searches stay valid)."""
        notes = self.doc.notes
        self._starts = np.ascontiguousarray(notes["start"])
        self._sorted = bool(np.all(self._starts[1:] >= self._starts[:-1])) if len(notes) > 1 else True
        self._max_len = float((notes["end"] - notes["start"]).max()) if len(notes) else 0.0
        rect = QRectF(0, 0, x_of(self.doc.piece.duration + TAIL_SECONDS), SCENE_HEIGHT)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def indices_in(self, rect: QRectF) -> np.ndarray:
        """Indices of notes overlapping a scene rectangle."""
        notes = self.doc.notes
        t0, t1 = rect.left() / PX_PER_SECOND, rect.right() / PX_PER_SECOND
        if self._sorted:
            lo = int(np.searchsorted(self._starts, t0 - self._max_len, side="left"))
            hi = int(np.searchsorted(self._starts, t1, side="right"))
        else:  # mid-drag the order can be off; fall back to a full scan
            lo, hi = 0, len(notes)
        part = notes[lo:hi]
        p_top, p_bottom = pitch_of(rect.top()), pitch_of(rect.bottom())
        hit = (part["end"] > t0) & (part["start"] < t1) & (part["pitch"] <= p_top) & (part["pitch"] >= p_bottom)
        return np.flatnonzero(hit) + lo

    def note_at(self, pos: QPointF) -> int:
        """The note under a scene point (the latest-starting one when several overlap), or -1."""
        idx = self.indices_in(QRectF(pos.x(), pos.y(), 0.001, 0.001))
        if len(idx) == 0:
            return -1
        pitch = pitch_of(pos.y())
        idx = idx[self.doc.notes["pitch"][idx] == pitch]
        return int(idx[-1]) if len(idx) else -1

    def note_rect(self, i: int) -> QRectF:
        n = self.doc.notes[i]
        return QRectF(x_of(float(n["start"])), y_of(int(n["pitch"])) + 1,
                      x_of(float(n["end"] - n["start"])), ROW_HEIGHT - 2)

    # ----------------------------------------------------------------- painting
    def paint(self, painter: QPainter, option, widget=None) -> None:
        rect = option.exposedRect
        idx = self.indices_in(rect)
        if len(idx) == 0:
            return
        if len(idx) > RASTER_ABOVE:
            self._paint_raster(painter, rect, idx)
        else:
            self._paint_rects(painter, idx)

    def _paint_rects(self, painter: QPainter, idx: np.ndarray) -> None:
        notes = self.doc.notes[idx]
        x = notes["start"] * PX_PER_SECOND
        w = (notes["end"] - notes["start"]) * PX_PER_SECOND
        y = (127 - notes["pitch"].astype(float)) * ROW_HEIGHT + 1
        h = ROW_HEIGHT - 2
        sel = self.doc.selected[idx]
        bucket = np.minimum(notes["velocity"].astype(int) * VELOCITY_BUCKETS // 128, VELOCITY_BUCKETS - 1)
        levels = self._note_levels(idx)
        if levels is not None:
            bucket = np.where(levels >= 0, VELOCITY_BUCKETS + 1 + levels, bucket)
        bucket[sel] = _SELECTED_BUCKET  # selected notes drawn last, on top
        wide_enough = painter.worldTransform().m11() * float(np.median(w)) > 3
        pen = QPen(OUTLINE_COLOR, 0) if wide_enough else QPen(Qt.PenStyle.NoPen)
        painter.setPen(pen)
        xs, ws, ys = x.tolist(), w.tolist(), y.tolist()
        for b in np.unique(bucket).tolist():
            painter.setBrush(QBrush(SELECTED_COLOR) if b == _SELECTED_BUCKET else _BUCKET_BRUSHES[b]
                             if b < VELOCITY_BUCKETS else self._palette_brushes[b - VELOCITY_BUCKETS - 1])
            painter.drawRects([QRectF(xs[k], ys[k], ws[k], h) for k in np.flatnonzero(bucket == b).tolist()])

    def _paint_raster(self, painter: QPainter, rect: QRectF, idx: np.ndarray) -> None:
        """Thousands of notes: count coverage per pixel column and pitch row with numpy, draw one image."""
        scale = painter.worldTransform().m11()
        width = int(min(max(rect.width() * scale, 1), 8192))
        p_top, p_bottom = pitch_of(rect.top()), pitch_of(rect.bottom())
        rows = p_top - p_bottom + 1
        notes = self.doc.notes[idx]
        px = width / rect.width()
        x0 = np.clip(((notes["start"] * PX_PER_SECOND - rect.left()) * px).astype(int), 0, width - 1)
        x1 = np.clip(np.ceil((notes["end"] * PX_PER_SECOND - rect.left()) * px).astype(int), x0 + 1, width)
        row = (p_top - notes["pitch"]).astype(int)
        stride = width + 1
        size = rows * stride

        def coverage(weights):
            d = np.bincount(row * stride + x0, weights, size) - np.bincount(row * stride + x1, weights, size)
            return np.cumsum(d.reshape(rows, stride), axis=1)[:, :width]

        count = coverage(None)
        vel = coverage(notes["velocity"].astype(float))
        chosen = coverage(self.doc.selected[idx].astype(float))
        mean_vel = np.divide(vel, count, out=np.zeros_like(vel), where=count > 0.5).astype(int).clip(0, 127)
        pixels = np.where(count > 0.5, _LUT[mean_vel], 0).astype(np.uint32)
        levels = self._note_levels(idx)
        if levels is not None:  # mean level of the coloured notes under each pixel
            coloured = coverage((levels >= 0).astype(float))
            mean_level = np.divide(coverage(np.maximum(levels, 0).astype(float)), coloured,
                                   out=np.zeros_like(coloured), where=coloured > 0.5)
            mean_level = np.rint(mean_level).astype(int).clip(0, len(self._palette_lut) - 1)
            pixels = np.where(coloured > 0.5, self._palette_lut[mean_level], pixels).astype(np.uint32)
        pixels[chosen > 0.5] = SELECTED_COLOR.rgba()
        pixels = np.ascontiguousarray(pixels)
        image = QImage(pixels.data, width, rows, width * 4, QImage.Format.Format_ARGB32)
        target = QRectF(rect.left(), y_of(p_top), rect.width(), rows * ROW_HEIGHT)
        painter.drawImage(target, image)
