"""One open piece in the editor: a plain `Piece`, its selection, its undo history and its provenance.

Every edit replaces the note array through an undo command that keeps the arrays before and after, so the
rest of the app only ever sees whole, valid Pieces, and undo/redo is exact (arrays are cheap to copy).
"""
from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..music.piece import NOTE_DTYPE, Piece


class NotesEdit(QUndoCommand):
    """Swap the note array (and the selection that goes with it) between a before and an after state."""

    def __init__(self, doc: "PieceDocument", text: str, before: tuple, after: tuple, meta_after: dict | None = None):
        super().__init__(text)
        self.doc = doc
        self.before = before
        self.after = after
        self.meta_before = dict(doc.piece.meta) if meta_after is not None else None
        self.meta_after = meta_after

    def redo(self) -> None:
        self.doc._apply(*self.after, meta=self.meta_after)

    def undo(self) -> None:
        self.doc._apply(*self.before, meta=self.meta_before)


class PieceEdit(QUndoCommand):
    """Swap the whole piece (notes, tempo, meter, key, meta): an ABC re-parse changes all of them."""

    def __init__(self, doc: "PieceDocument", text: str, after: Piece):
        super().__init__(text)
        self.doc = doc
        self.before = doc.piece.copy()
        self.after = after.copy()

    def redo(self) -> None:
        self.doc._assign(self.after)

    def undo(self) -> None:
        self.doc._assign(self.before)


class PieceDocument(QObject):
    """The editor's model of one piece. Views listen to `changed` and `selectionChanged`."""

    changed = Signal()  # the notes (or meta) changed: redraw, autosave
    selectionChanged = Signal()

    def __init__(self, piece: Piece, path: str = "", provenance: dict | None = None, parent=None):
        super().__init__(parent)
        self.piece = piece.sorted()
        self.path = path  # the file it was opened from or last exported to ("" for generated pieces)
        self.provenance = dict(provenance or {})  # how it was made: model, settings, seed, source file
        self.selected = np.zeros(len(self.piece.notes), dtype=bool)
        self._metered: tuple = (None, True)
        self.undo_stack = QUndoStack(self)

    # ----------------------------------------------------------------- facts
    @property
    def notes(self) -> np.ndarray:
        return self.piece.notes

    @property
    def title(self) -> str:
        return self.piece.title or (self.path.rsplit("/", 1)[-1] if self.path else "Untitled")

    @property
    def is_metered(self) -> bool:
        """Bars and beats in the ruler, or seconds? A piece is metered when it has a time signature and its
        onsets mostly sit on a 1/16 or triplet grid of its tempo map. A recorded performance (Maestro files
        carry a default 4/4 at 120 BPM) has onsets anywhere, so it gets seconds. A folk tune (ABC) is written
        in bars, even when a tuplet has pushed its onsets off the grid."""
        key = (id(self.piece.notes), id(self.piece.time_signatures), id(self.piece.tempos))
        if self._metered[0] != key:
            self._metered = (key, self._onsets_on_grid())
        return self._metered[1]

    def _onsets_on_grid(self) -> bool:
        if len(self.piece.time_signatures) == 0:
            return False
        if "abc" in self.piece.meta:
            return True
        starts = self.notes["start"]
        if len(starts) == 0:
            return True
        beats = np.asarray(self.piece.seconds_to_beats(starts[:2000]))
        qpm = float(self.piece.tempos["qpm"][0])
        tolerance = 0.015 * qpm / 60.0  # 15 ms in beats
        on_grid = np.zeros(len(beats), dtype=bool)
        for division in (4, 3):
            scaled = beats * division
            on_grid |= np.abs(scaled - np.round(scaled)) <= tolerance * division
        return bool(on_grid.mean() >= 0.6)

    # ----------------------------------------------------------------- selection (not undoable, like every editor)
    def set_selection(self, mask: np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.selected.shape or not np.array_equal(mask, self.selected):
            self.selected = mask.copy()
            self.selectionChanged.emit()

    def select_all(self) -> None:
        self.set_selection(np.ones(len(self.notes), dtype=bool))

    def clear_selection(self) -> None:
        self.set_selection(np.zeros(len(self.notes), dtype=bool))

    # ----------------------------------------------------------------- edits
    def _apply(self, notes: np.ndarray, selected: np.ndarray, meta: dict | None = None) -> None:
        self.piece.notes = notes.copy()
        self.selected = selected.copy()
        if meta is not None:
            self.piece.meta = dict(meta)
        self.changed.emit()
        self.selectionChanged.emit()

    def _assign(self, piece: Piece) -> None:
        """Copy another piece's content into ours (views keep their reference to `self.piece`)."""
        src = piece.sorted()
        for f in dataclasses.fields(Piece):
            setattr(self.piece, f.name, getattr(src, f.name))
        self.selected = np.zeros(len(self.piece.notes), dtype=bool)
        self.changed.emit()
        self.selectionChanged.emit()

    def replace_piece(self, text: str, piece: Piece) -> None:
        """Replace everything (notes, tempo, meter, key, meta) as one undoable step."""
        self.undo_stack.push(PieceEdit(self, text, piece))

    def state(self) -> tuple[np.ndarray, np.ndarray]:
        return self.notes.copy(), self.selected.copy()

    def edit(self, text: str, notes: np.ndarray, selected: np.ndarray | None = None,
             before: tuple | None = None, meta: dict | None = None) -> None:
        """Replace the notes as one undoable step. `before` is given when a drag already changed them live."""
        notes = np.asarray(notes, dtype=NOTE_DTYPE)
        if selected is None:
            selected = np.zeros(len(notes), dtype=bool)
        order = np.lexsort((notes["end"], notes["pitch"], notes["start"]))
        after = (notes[order].copy(), np.asarray(selected, dtype=bool)[order].copy())
        self.undo_stack.push(NotesEdit(self, text, before or self.state(), after, meta))

    def preview(self, notes: np.ndarray, selected: np.ndarray | None = None) -> None:
        """Show notes during a drag without recording a step; `edit(..., before=...)` records it at the end."""
        self.piece.notes = notes
        if selected is not None:
            self.selected = np.asarray(selected, dtype=bool)
        self.changed.emit()
