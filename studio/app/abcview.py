"""The ABC view beside the roll for folk tunes: the tune's text, editable.

Typing re-parses the tune in the background a moment after the last key (music21 through
`studio.music.abc_io`); a good parse replaces the piece as one undo step, a bad one marks its line and
keeps the text. Roll edits come back as text through the folk codec's ABC writer (`engines.piece_to_abc`);
without it, a note under the editor says the text no longer matches the roll.
"""
from __future__ import annotations

import contextlib
import io
import re

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QTextCursor, QTextFormat, QTextOption
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from ..errors import StudioError, UnsupportedContent
from ..music.abc_io import AbcTune
from ..music.piece import Piece
from . import engines
from .document import PieceDocument
from .workers import Job

REPARSE_AFTER_MS = 600
_BAD_NOTE = re.compile(r"Could not get pitch information from note:\s*(\S+)")


def _place_line(place: str | None) -> int:
    m = re.search(r"line (\d+)", place or "")
    return int(m.group(1)) if m else 1


def _parses(tune: AbcTune, lines: list[str], k: int) -> bool:
    """Does the tune cut after line k parse? The K: line is kept in every cut (no tune reads without it)."""
    key = next((i for i, line in enumerate(lines) if line.strip().startswith("K:")), None)
    cut = lines[:k] + ([lines[key]] if key is not None and k <= key else [])
    try:
        engines.require("tune_to_piece")(AbcTune(tune.path, tune.number, tune.line, "\n".join(cut) + "\n"))
    except StudioError as exc:
        return "does not parse" not in exc.reason
    return True


def bad_line(tune: AbcTune) -> int:
    """The line (in the tune's file) where it stops parsing: the first cut that fails ends on it."""
    lines = tune.text.splitlines()
    lo, hi = 1, len(lines)
    while lo < hi:
        mid = (lo + hi) // 2
        if _parses(tune, lines, mid):
            lo = mid + 1
        else:
            hi = mid
    return tune.line + lo - 1


def parse_abc_text(text: str, progress=None, stop=None) -> tuple[Piece, list[tuple[int, str]]]:
    """Parse the first tune in `text`. Returns the piece and (line, warning) pairs; raises a StudioError
    whose place is the line (1-based, in `text`) where the tune stops parsing."""
    tunes = engines.require("split_tunes")(text)
    if not tunes:
        raise UnsupportedContent(None, "line 1", "no ABC tune here (a tune needs at least a K: line and notes)")
    tune = tunes[0]
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            piece = engines.require("tune_to_piece")(tune)
    except StudioError as exc:
        line = bad_line(tune) if "does not parse" in exc.reason else tune.line
        raise UnsupportedContent(None, f"line {line}", exc.reason) from None
    warnings = []
    for token in _BAD_NOTE.findall(captured.getvalue()):
        line = next((tune.line + i for i, s in enumerate(tune.text.splitlines()) if token in s), tune.line)
        warnings.append((line, f"cannot read the note {token!r} (played as C)"))
    return piece, warnings


class AbcView(QWidget):
    """Editable ABC text bound to a document."""

    parsed = Signal()  # a re-parse reached the roll (tests and status bar listen)

    def __init__(self, doc: PieceDocument, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFont("monospace"))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)  # long lines wrap, no sideways scroll
        self.editor.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.editor.setToolTip("The tune as ABC. Edit it: the roll follows a moment after you stop typing.")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>ABC</b>"))
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.status)
        self._shown_abc = doc.piece.meta.get("abc", "")
        self._job: Job | None = None
        self._pending = False
        self._applying = False
        self._writer = engines.engine("piece_to_abc")
        self.editor.setPlainText(self._shown_abc)
        self._timer = QTimer(self, singleShot=True, interval=REPARSE_AFTER_MS)
        self._timer.timeout.connect(self.reparse)
        self.editor.textChanged.connect(self._typed)
        doc.changed.connect(self._doc_changed)

    @property
    def text(self) -> str:
        return self.editor.toPlainText()

    def _typed(self) -> None:
        if not self._applying:
            self._timer.start()

    # ----------------------------------------------------------------- text -> roll
    def reparse(self) -> None:
        """Parse the text now (in the background); a parse asked for while one runs follows it."""
        self._timer.stop()
        if self._job is not None and self._job.is_running():
            self._pending = True
            return
        self.status.setText("Reading the tune…")
        text = self.text
        self._job = Job(parse_abc_text, text, parent=self)
        self._job.finished.connect(lambda result, t=text: self._parsed(t, *result))
        self._job.failed.connect(self._failed)
        self._job.done.connect(self._job_done)
        self._job.start()

    def _job_done(self) -> None:
        if self._pending:
            self._pending = False
            self.reparse()

    def _parsed(self, text: str, piece: Piece, warnings: list) -> None:
        if text != self.text:  # typed on since: the follow-up parse will apply
            self._pending = True
            return
        piece.meta["abc"] = text
        keep = self.doc.piece
        piece.source = keep.source
        piece.meta.setdefault("tune_number", keep.meta.get("tune_number", ""))
        self._shown_abc = text
        self._applying = True
        try:
            self.doc.replace_piece("Edit ABC", piece)
        finally:
            self._applying = False
        self._mark([(line, msg, QColor("#fff3c4")) for line, msg in warnings])
        self.status.setText("; ".join(f"line {line}: {msg}" for line, msg in warnings)
                            or f"{len(piece.notes)} notes, in the roll.")
        self.parsed.emit()

    def _failed(self, message: str) -> None:
        line = _place_line(message.split(":", 1)[0]) if message.startswith("line ") else 1
        self._mark([(line, message, QColor("#ffcdd2"))])
        self.status.setText(f"<span style='color:#b71c1c'>{message}</span> — the roll keeps the last good version.")
        self.parsed.emit()

    def _mark(self, marks: list[tuple[int, str, QColor]]) -> None:
        selections = []
        for line, _msg, colour in marks:
            block = self.editor.document().findBlockByNumber(max(0, line - 1))  # text lines, not wrapped rows
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(colour)
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.cursor = QTextCursor(block)
            selections.append(sel)
        self.editor.setExtraSelections(selections)

    def error_lines(self) -> list[int]:
        return [s.cursor.blockNumber() + 1 for s in self.editor.extraSelections()]

    # ----------------------------------------------------------------- roll -> text
    def _doc_changed(self) -> None:
        if self._applying:
            return
        abc = self.doc.piece.meta.get("abc", "")
        if abc != self._shown_abc:  # undo/redo of an ABC edit brought other text back
            self._set_text(abc)
            return
        if self._writer:
            text = self._writer(self.doc.piece)
            self.doc.piece.meta["abc"] = text
            self._set_text(text)
        else:
            self.status.setText("The roll was edited; this text shows the tune as last typed "
                                f"({self._writer.tooltip})")

    def _set_text(self, text: str) -> None:
        """Show new text, keeping the cursor (line and column) and the scroll where they were."""
        self._shown_abc = text
        cursor = self.editor.textCursor()
        line, column = cursor.blockNumber(), cursor.positionInBlock()
        scroll = self.editor.verticalScrollBar().value()
        self._applying = True
        try:
            self.editor.setPlainText(text)
            doc = self.editor.document()
            block = doc.findBlockByNumber(min(line, doc.blockCount() - 1))
            cursor = QTextCursor(block)
            cursor.setPosition(block.position() + min(column, max(block.length() - 1, 0)))
            self.editor.setTextCursor(cursor)
            self.editor.verticalScrollBar().setValue(scroll)
        finally:
            self._applying = False
        self.editor.setExtraSelections([])
