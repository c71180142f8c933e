"""Every window action in one table: menu, text, shortcuts, tooltip, the feature that owns it and what it
needs to be enabled. The menus, the shortcuts and the Help > Keyboard Shortcuts list are all built from it,
so they cannot disagree.

Each action belongs to one feature (`owner`: files, editing, playing, modeledit, or the window frame itself);
the feature's `install(window)` calls `connect(window, owner, handler)`, which connects every action it owns
to the handler's `on_<name>`, so a feature handles exactly its rows of this table.

Shortcuts follow the anchors doc (LMMS / MuseScore conventions): Space play/stop, Shift+Space pause,
Home to start, Shift+Up/Down transpose a semitone, Ctrl+Up/Down an octave, Shift+Left/Right move one grid
step, Ctrl+Left/Right one bar, Ctrl+M export MIDI, platform-standard keys for undo/redo/cut/copy/paste.
Text fields keep their own keys (Qt gives them first refusal), so typing ABC never triggers these.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

SK = QKeySequence.StandardKey


@dataclass(frozen=True)
class Spec:
    menu: str
    name: str  # the owner's slot is on_<name>
    text: str
    keys: tuple = ()
    tip: str = ""
    checkable: bool = False
    owner: str = "window"  # the feature that handles it: window (the frame), files, editing, playing, modeledit
    piece: bool = False  # enabled only while a piece is open
    engine: str = ""  # enabled only while this engine (studio.app.engines) can be imported; else says why


SPECS: tuple[Spec, ...] = (
    Spec("File", "new", "&New Piece", (SK.New,), "An empty piece in 4/4 at 120 BPM", owner="files"),
    Spec("File", "open", "&Open…", (SK.Open,), "Open MIDI, ABC, MusicXML files or a Studio project", owner="files"),
    Spec("File", "save_project", "&Save Project", (SK.Save,), "Save every open piece and its editing state",
         owner="files", piece=True),
    Spec("File", "save_project_as", "Save Project &As…", ("Ctrl+Shift+S",), owner="files", piece=True),
    Spec("File", "import_library", "&Import into Library…", ("Ctrl+I",), "Add files or folders to a corpus",
         owner="files", engine="import_corpus"),
    Spec("File", "export_midi", "Export &MIDI…", ("Ctrl+M",), "Write the current piece as a MIDI file",
         owner="files", piece=True),
    Spec("File", "export_musicxml", "Export Music&XML…", (), "Write the current piece as MusicXML",
         owner="files", piece=True),
    Spec("File", "export_abc", "Export &ABC…", (), "Write the current folk tune as ABC",
         owner="files", piece=True, engine="piece_to_abc"),
    Spec("File", "export_wav", "Export &WAV…", (), "Render the current piece to audio",
         owner="files", piece=True, engine="render_wav"),
    Spec("File", "normalize_wav", "Normalise WAV Exports", (), "Scale each WAV export so its loudest moment peaks "
                                                                "at -1 dBFS (off: the synth's own, often quiet, level)",
         True, owner="files"),
    Spec("File", "close_tab", "&Close Piece", (SK.Close,), piece=True),
    Spec("File", "quit", "&Quit", (SK.Quit,)),
    Spec("Edit", "undo", "&Undo", (SK.Undo,), owner="editing", piece=True),
    Spec("Edit", "redo", "&Redo", (SK.Redo,), owner="editing", piece=True),
    Spec("Edit", "cut", "Cu&t", (SK.Cut,), owner="editing", piece=True),
    Spec("Edit", "copy", "&Copy", (SK.Copy,), owner="editing", piece=True),
    Spec("Edit", "paste", "&Paste", (SK.Paste,), "Paste notes at the playhead", owner="editing", piece=True),
    Spec("Edit", "delete", "&Delete", (SK.Delete, "Backspace"), owner="editing", piece=True),
    Spec("Edit", "select_all", "Select &All", (SK.SelectAll,), owner="editing", piece=True),
    Spec("Edit", "select_none", "Select &None", ("Ctrl+Shift+A",), owner="editing", piece=True),
    Spec("Edit", "quantize", "&Quantize", ("Q",), "Snap the selected notes' starts and ends to the grid",
         owner="editing", piece=True),
    Spec("Edit", "transpose_up", "Transpose Up a Semitone", ("Shift+Up",), owner="editing", piece=True),
    Spec("Edit", "transpose_down", "Transpose Down a Semitone", ("Shift+Down",), owner="editing", piece=True),
    Spec("Edit", "octave_up", "Transpose Up an Octave", ("Ctrl+Up",), owner="editing", piece=True),
    Spec("Edit", "octave_down", "Transpose Down an Octave", ("Ctrl+Down",), owner="editing", piece=True),
    Spec("Edit", "nudge_left", "Move Left One Grid Step", ("Shift+Left",), owner="editing", piece=True),
    Spec("Edit", "nudge_right", "Move Right One Grid Step", ("Shift+Right",), owner="editing", piece=True),
    Spec("Edit", "bar_left", "Move Left One Bar", ("Ctrl+Left",), owner="editing", piece=True),
    Spec("Edit", "bar_right", "Move Right One Bar", ("Ctrl+Right",), owner="editing", piece=True),
    Spec("Edit", "continue_here", "Continue from &Here", (), "Generate what comes after the playhead",
         owner="modeledit", piece=True, engine="generate"),
    Spec("Edit", "regenerate_selection", "&Regenerate Selection", (), "Generate new notes for the selected span",
         owner="modeledit", piece=True, engine="generate"),
    Spec("View", "zoom_in", "Zoom &In", (SK.ZoomIn,), "Ctrl+wheel zooms at the mouse", owner="editing", piece=True),
    Spec("View", "zoom_out", "Zoom &Out", (SK.ZoomOut,), owner="editing", piece=True),
    Spec("View", "zoom_fit", "Zoom to &Fit", ("Ctrl+0",), owner="editing", piece=True),
    Spec("View", "follow", "&Follow Playhead", (), "Scroll with the playhead; scrolling by hand pauses it until "
                                                   "the next Play", True, owner="editing"),
    Spec("Transport", "play_stop", "&Play / Stop", ("Space",), owner="playing", engine="player"),
    Spec("Transport", "pause", "P&ause", ("Shift+Space",), owner="playing", engine="player"),
    Spec("Transport", "stop", "&Stop", (), "Stop and go back to the start", owner="playing"),
    Spec("Transport", "loop", "&Loop", ("L",), "Loop the span marked on the ruler (else the whole piece)", True,
         owner="playing"),
    Spec("Transport", "jam", "&Jam", ("J",), "A model plays new music without end; steer it while it plays",
         owner="playing"),
    Spec("Transport", "to_start", "Go to &Start", ("Home",), owner="playing", engine="player"),
    Spec("Transport", "panic", "Pa&nic (All Notes Off)", ("Ctrl+.",), "Silence every channel on the output",
         owner="playing", engine="player"),
    Spec("Help", "shortcuts", "&Keyboard Shortcuts", (SK.HelpContents, "Ctrl+/")),
    Spec("Help", "about", "&About Studio"),
)

# Keys handled inside the piano roll and its toolbar (not window actions), listed in the Help table too.
ROLL_KEYS = (
    ("Piano roll", "Select tool", "Shift+S"), ("Piano roll", "Draw tool", "Shift+D"),
    ("Piano roll", "Erase tool", "Shift+E"), ("Piano roll", "Cancel drag / clear selection", "Esc"),
    ("Piano roll", "Scroll up/down", "Wheel"), ("Piano roll", "Scroll left/right", "Shift+Wheel"),
    ("Piano roll", "Zoom time at the mouse", "Ctrl+Wheel"), ("Piano roll", "Zoom pitch", "Ctrl+Shift+Wheel"),
    ("Piano roll", "Pan", "Middle-drag"), ("Piano roll", "Add to selection", "Ctrl+Click"),
    ("Piano roll", "Toggle in selection", "Shift+Click"), ("Piano roll", "Remove from selection", "Ctrl+Shift+Click"),
    ("Ruler", "Move playhead", "Click"), ("Ruler", "Set loop", "Shift+Drag or Right-drag"),
    ("Ruler", "Clear loop", "Double-click"),
)
MENUS = ("File", "Edit", "View", "Transport", "Help")


def _sequences(spec: Spec) -> list[QKeySequence]:
    out = []
    for k in spec.keys:
        if isinstance(k, str):
            out.append(QKeySequence(k))
        else:
            out.extend(QKeySequence.keyBindings(k))
    return out


def build_actions(window) -> dict[str, QAction]:
    """Create every action and fill the window's menu bar; the features connect them (`connect`)."""
    menus = {name: window.menuBar().addMenu(f"&{name}") for name in MENUS}
    actions = {}
    for spec in SPECS:
        act = QAction(spec.text, window)
        act.setShortcuts(_sequences(spec))
        if spec.tip:
            act.setStatusTip(spec.tip)
            act.setToolTip(spec.tip)
        act.setCheckable(spec.checkable)
        menus[spec.menu].addAction(act)
        window.addAction(act)  # shortcuts work even when the menu bar is hidden
        actions[spec.name] = act
        if spec.name in ("save_project_as", "import_library", "normalize_wav", "close_tab", "redo", "paste",
                         "select_none", "octave_down", "bar_right", "zoom_fit", "to_start"):
            menus[spec.menu].addSeparator()
    for menu in menus.values():
        menu.setToolTipsVisible(True)
    window.menus = menus
    return actions


def connect(actions: dict[str, QAction], owner: str, handler) -> None:
    """Connect every action `owner` owns to `handler.on_<name>` (a missing slot fails at start-up)."""
    for spec in SPECS:
        if spec.owner == owner:
            actions[spec.name].triggered.connect(getattr(handler, f"on_{spec.name}"))


def update_enabled(actions: dict[str, QAction], has_piece: bool, engine) -> None:
    """Enable each action whose needs are met (an open piece, its engine); an action whose engine is missing
    says why in its tooltip. `engine` is `engines.engine`."""
    for spec in SPECS:
        act = actions[spec.name]
        found = engine(spec.engine) if spec.engine else True
        act.setEnabled(bool(found) and (has_piece or not spec.piece))
        if spec.engine:
            act.setToolTip(act.statusTip() if found else found.tooltip)


def _typeable(text: str) -> bool:
    """Keys a user can press on an ordinary keyboard (not the "Copy"/"Open" keys of some multimedia boards)."""
    last = text.split("+")[-1]
    return len(last) <= 1 or last in TYPEABLE_NAMES or (last[0] == "F" and last[1:].isdigit())


TYPEABLE_NAMES = {"Space", "Home", "End", "Del", "Delete", "Backspace", "Ins", "Esc", "Up", "Down", "Left", "Right",
                  "PgUp", "PgDown", "Tab", "Return", "Enter"}


def shortcut_rows() -> list[tuple[str, str, str]]:
    rows = []
    for spec in SPECS:
        texts = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in _sequences(spec)]
        keys = ", ".join(t for t in texts if _typeable(t))
        if keys:
            rows.append((spec.menu, spec.text.replace("&", "").replace("…", ""), keys))
    return rows + list(ROLL_KEYS)


class ShortcutsDialog(QDialog):
    """Help > Keyboard Shortcuts: every shortcut in one table (beginners asked for it, LMMS#6589)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows()
        table = QTableWidget(len(rows), 3)
        table.setHorizontalHeaderLabels(["Where", "Action", "Keys"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                table.setItem(r, c, QTableWidgetItem(text))
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(560, 640)
