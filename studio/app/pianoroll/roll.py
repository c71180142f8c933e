"""The piano-roll editor widget: toolbar (tool, grid, follow), ruler, keyboard, roll and velocity lane,
plus the edit operations the Edit menu calls (each one undo step)."""
from __future__ import annotations

import atexit

import numpy as np
from PySide6.QtCore import QByteArray, QMimeData, Qt, Signal
from PySide6.QtGui import QActionGroup, QGuiApplication
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QToolBar, QVBoxLayout, QWidget

from ...errors import StudioError
from ...music.piece import NOTE_DTYPE
from ...music.scales import SCALES, TONICS, out_of_scale, piece_key, pitch_classes, tonic_class
from ..document import PieceDocument
from . import edits
from .geometry import x_of
from .grid import DEFAULT_DIVISION, DIVISIONS, bar_length_at
from .lanes import Keyboard, Ruler, VelocityLane
from .view import PianoRollView

CLIP_MIME = "application/x-studio-notes"


class PianoRoll(QWidget):
    """Everything about editing one document's notes. Playback connects to `noteAuditioned` (hear a key or
    a clicked note), `seekRequested` and `loopChanged`; it drives `set_playhead`."""

    noteAuditioned = Signal(int, int)  # pitch, velocity
    seekRequested = Signal(float)
    loopChanged = Signal(object)
    message = Signal(str)  # short status-bar text

    def __init__(self, doc: PieceDocument, parent=None):
        super().__init__(parent)
        self.document = doc
        self.view = PianoRollView(doc)
        self.keyboard = Keyboard(self.view)
        self.ruler = Ruler(self.view)
        self.velocity = VelocityLane(self.view)
        self.toolbar = self._make_toolbar()

        grid = QGridLayout()
        grid.setSpacing(0)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.ruler, 0, 1)
        grid.addWidget(self.keyboard, 1, 0)
        grid.addWidget(self.view, 1, 1)
        corner = QLabel("")
        corner.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        grid.addWidget(corner, 2, 0)
        grid.addWidget(self.velocity, 2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addLayout(grid)

        self.keyboard.keyPressed.connect(lambda p: self.noteAuditioned.emit(p, self.view.new_velocity))
        self.view.noteAuditioned.connect(self.noteAuditioned)
        self.ruler.seekRequested.connect(self._seek)
        self.ruler.loopChanged.connect(self.set_loop)
        self.view.center_on_notes()

    def _make_toolbar(self) -> QToolBar:
        bar = QToolBar("Piano roll")
        group = QActionGroup(self)
        self.tool_actions = {}
        for tool, key, tip in (("select", "Shift+S", "Select, move and resize notes; drag on empty space to select"),
                               ("draw", "Shift+D", "Click to add a note, drag right to set its length"),
                               ("erase", "Shift+E", "Click or drag over notes to delete them")):
            act = bar.addAction(tool.capitalize())
            act.setCheckable(True)
            act.setShortcut(key)
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.setToolTip(f"{tip} ({key})")
            act.triggered.connect(lambda _c=False, t=tool: self.view.set_tool(t))
            group.addAction(act)
            self.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions["select"].setChecked(True)
        self.view.toolChanged.connect(lambda t: self.tool_actions[t].setChecked(True))
        bar.addSeparator()
        bar.addWidget(QLabel(" Grid "))
        self.grid_box = QComboBox()
        self.grid_box.addItems(list(DIVISIONS))
        self.grid_box.setCurrentText(DEFAULT_DIVISION)
        self.grid_box.setToolTip("Snap for drawing, moving and quantize (Off = free)")
        self.grid_box.currentTextChanged.connect(self.set_division)
        bar.addWidget(self.grid_box)
        bar.addSeparator()
        bar.addWidget(QLabel(" Scale "))
        self.scale_box = QComboBox()
        self.scale_box.addItem("Off", "")
        self.scale_box.addItem("Piece's key", "piece")
        for tonic in TONICS:
            self.scale_box.addItem(tonic, tonic)
        self.scale_box.setToolTip("Shade the rows of a scale: the piece's key (written, else estimated from its "
                                  "notes) or a tonic of your choice with the mode beside it")
        self.mode_box = QComboBox()
        self.mode_box.addItems(list(SCALES))
        self.mode_box.setToolTip("The scale or mode on the chosen tonic (minor modes included)")
        self.scale_box.currentIndexChanged.connect(lambda _i: self._scale_changed())
        self.mode_box.currentIndexChanged.connect(lambda _i: self._scale_changed())
        bar.addWidget(self.scale_box)
        bar.addWidget(self.mode_box)
        act = bar.addAction("Select out of scale")
        act.setToolTip("Select the notes outside the shaded scale (then delete, transpose or inspect them)")
        act.triggered.connect(self.select_out_of_scale)
        self.out_of_scale_action = act
        self._scale_changed()
        self.document.changed.connect(lambda: self.scale_box.currentData() == "piece" and self._scale_changed())
        return bar

    # ----------------------------------------------------------------- scale highlight
    def scale(self) -> tuple[frozenset[int], int, str] | None:
        """(pitch classes, tonic class, label) of the scale shown, or None when off."""
        choice = self.scale_box.currentData()
        if not choice:
            return None
        if choice == "piece":
            key = piece_key(self.document.piece)
            if key is None:
                return None
            tonic, mode = key.tonic, key.mode
        else:
            tonic, mode = choice, self.mode_box.currentText()
        try:
            classes = pitch_classes(tonic, mode)
        except StudioError:  # a mode we have no scale for: its major/minor parent is the nearest
            mode = "minor" if "min" in mode.lower() else "major"
            classes = pitch_classes(tonic, mode)
        return classes, tonic_class(tonic), f"{tonic} {mode}"

    def _scale_changed(self) -> None:
        self.mode_box.setEnabled(self.scale_box.currentData() not in ("", "piece"))
        chosen = self.scale()
        self.view.set_scale(chosen[0] if chosen else None, chosen[1] if chosen else None)
        self.out_of_scale_action.setEnabled(chosen is not None)
        if chosen and self.scale_box.currentData() == "piece":
            self.scale_box.setToolTip(f"The piece's key: {chosen[2]}")

    def select_out_of_scale(self) -> int:
        """Select the notes outside the scale shown; returns how many."""
        chosen = self.scale()
        if chosen is None:
            return 0
        mask = out_of_scale(self.document.piece, chosen[0])
        self.document.set_selection(mask)
        self.message.emit(f"{int(mask.sum())} note(s) outside {chosen[2]}")
        return int(mask.sum())

    # ----------------------------------------------------------------- view state
    def set_division(self, name: str) -> None:
        self.view.grid.division = name
        self.grid_box.setCurrentText(name)
        self.view.resetCachedContent()
        self.view.viewport().update()

    def set_playhead(self, seconds: float) -> None:
        self.view.set_playhead(seconds)
        self.ruler.update()

    def _seek(self, seconds: float) -> None:
        self.set_playhead(seconds)
        self.seekRequested.emit(seconds)

    def set_loop(self, loop) -> None:
        self.view.set_loop(tuple(loop) if loop else None)
        self.ruler.update()
        self.loopChanged.emit(self.view.loop)

    def view_state(self) -> dict:
        """What a project remembers about this editor besides the notes."""
        v = self.view
        return {"zoom": [v.sx, v.sy], "scroll": [v.horizontalScrollBar().value(), v.verticalScrollBar().value()],
                "playhead": v.playhead, "loop": list(v.loop) if v.loop else None, "grid": v.grid.division,
                "tool": v.tool, "selected": np.flatnonzero(self.document.selected).tolist()}

    def restore_view_state(self, state: dict) -> None:
        v = self.view
        v.sx, v.sy = (float(z) for z in state.get("zoom", [1.0, 1.0]))
        v._apply_zoom()
        self.set_division(state.get("grid", DEFAULT_DIVISION))
        v.set_tool(state.get("tool", "select"))
        self.set_playhead(float(state.get("playhead", 0.0)))
        self.set_loop(state.get("loop"))
        sel = np.zeros(len(self.document.notes), dtype=bool)
        picked = [i for i in state.get("selected", []) if 0 <= i < len(sel)]
        sel[picked] = True
        self.document.set_selection(sel)
        h, vv = state.get("scroll", [0, 0])
        v.horizontalScrollBar().setValue(int(h))
        v.verticalScrollBar().setValue(int(vv))

    def note_rects(self):
        """Scene rectangles of every note, in the document's order (what the roll shows)."""
        return [self.view.layer.note_rect(i) for i in range(len(self.document.notes))]

    # ----------------------------------------------------------------- edits (each one undo step)
    def _selection_or_message(self) -> np.ndarray | None:
        mask = self.document.selected
        if not mask.any():
            self.message.emit("Select some notes first (drag a box, or Ctrl+A for all)")
            return None
        return mask

    def transpose_selection(self, semitones: int) -> None:
        mask = self._selection_or_message()
        if mask is None:
            return
        notes, sel = edits.transpose(self.document.notes, mask, semitones)
        if np.array_equal(notes, self.document.notes):
            self.message.emit("Cannot transpose: notes would leave the MIDI range 0–127")
            return
        self.document.edit(f"Transpose {semitones:+d}", notes, sel)
        top = int(notes["pitch"][sel].max())
        self.noteAuditioned.emit(top, 100)

    def quantize_selection(self) -> None:
        mask = self._selection_or_message()
        if mask is None:
            return
        if self.view.grid.step_beats is None:
            self.message.emit("Quantize needs a grid: choose one in the Grid menu")
            return
        self.document.edit(f"Quantize to {self.view.grid.division}",
                           edits.quantize(self.document.notes, mask, self.view.grid), mask)

    def nudge_selection(self, steps: int, whole_bars: bool = False) -> None:
        """Move the selection by grid steps (Shift+Left/Right) or bars (Ctrl+Left/Right)."""
        mask = self._selection_or_message()
        if mask is None:
            return
        piece = self.document.piece
        t = float(self.document.notes["start"][mask].min())
        beats = piece.seconds_to_beats(t)
        size = bar_length_at(piece, beats) if whole_bars else (self.view.grid.step_beats or 0.25)
        dt = float(piece.beats_to_seconds(max(0.0, beats + steps * size))) - t
        self.document.edit("Move notes", edits.move(self.document.notes, mask, dt, 0), mask)

    def delete_selection(self) -> None:
        mask = self._selection_or_message()
        if mask is None:
            return
        notes, sel = edits.delete(self.document.notes, mask)
        self.document.edit(f"Delete {int(mask.sum())} note(s)", notes, sel)

    def select_all(self) -> None:
        self.document.select_all()

    def copy_selection(self) -> bool:
        mask = self._selection_or_message()
        if mask is None:
            return False
        clip = edits.clip_of(self.document.notes, mask)
        data = QMimeData()
        data.setData(CLIP_MIME, QByteArray(clip.tobytes()))
        data.setText(f"{len(clip)} notes from Studio")
        QGuiApplication.clipboard().setMimeData(data)
        _release_clipboard_at_exit()
        self.message.emit(f"Copied {len(clip)} note(s)")
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            notes, sel = edits.delete(self.document.notes, self.document.selected)
            self.document.edit("Cut", notes, sel)

    def paste(self) -> None:
        """Paste the clipboard's notes at the playhead (snapped to the grid); they become the selection."""
        data = QGuiApplication.clipboard().mimeData()
        if data is None or not data.hasFormat(CLIP_MIME):
            self.message.emit("Nothing to paste: copy some notes first")
            return
        raw = bytes(data.data(CLIP_MIME).data())
        clip = np.frombuffer(raw, dtype=NOTE_DTYPE).copy()
        at = float(self.view.grid.snap(self.view.playhead))
        notes, sel = edits.paste(self.document.notes, clip, at)
        self.document.edit(f"Paste {len(clip)} note(s)", notes, sel)
        self.message.emit(f"Pasted {len(clip)} note(s) at {at:.2f} s")

    def zoom(self, factor: float) -> None:
        self.view.zoom_time(factor)

    def scroll_to(self, seconds: float) -> None:
        self.view._set_h(int(x_of(seconds) * self.view.sx))


_release_registered = False


def _release_clipboard_at_exit() -> None:
    """The clipboard owns the QMimeData we gave it, and Qt deletes it in an exit handler that runs after
    Python has shut down; its Python wrapper then crashes the process (a segfault on quit). Clearing our
    own clipboard data while Python is still alive avoids that."""
    global _release_registered
    if _release_registered:
        return
    _release_registered = True

    def release() -> None:
        app = QGuiApplication.instance()
        if app is None:
            return
        data = app.clipboard().mimeData()
        if data is not None and data.hasFormat(CLIP_MIME):  # only our notes, never another program's text
            app.clipboard().clear()

    atexit.register(release)
