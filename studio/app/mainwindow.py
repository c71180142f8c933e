"""The main window, a frame: pieces in tabs (piano roll, plus the ABC view for folk tunes), docks, the menus
built from the action table (`actions`), the status bar and messages, the list of background jobs, drag and
drop, and closing. Everything else is a feature module installed into it, each owning its actions and
wiring (Frescobaldi's way):

- `panels`: the Library, Train, Generate and Jam docks and how they talk to each other;
- `files`: File menu, opening and dropping files, projects, autosave and recovery, imports, exports;
- `editing`: Edit and View menus on the current roll;
- `playing`: Transport menu and bar, the output, the jam toggle;
- `modeledit`: Continue from Here / Regenerate Selection and the primer from the open piece;
- `welcome`, `modelview`: the empty window's welcome, View > Model.

The frame tells features about pieces through its signals (`tabAdded`, `documentsChanged`).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QSplitter, QTabWidget

from ..errors import StudioError
from ..music.piece import Piece
from ..paths import shipped_path
from . import actions, editing, engines, files, modeledit, panels, playing, welcome
from .abcview import AbcView
from .document import PieceDocument
from .modelview import install_model_view
from .pianoroll import PianoRoll
from .preferences import Preferences
from .workers import Job


class EditorTab(QSplitter):
    """One open piece: the roll, and beside it the ABC text when the piece is a folk tune."""

    def __init__(self, doc: PieceDocument, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.document = doc
        self.roll = PianoRoll(doc)
        self.addWidget(self.roll)
        self.abc: AbcView | None = None
        if "abc" in doc.piece.meta:
            self.abc = AbcView(doc)
            self.addWidget(self.abc)
            self.setStretchFactor(0, 3)
            self.setStretchFactor(1, 1)
            self.setSizes([700, 300])


class MainWindow(QMainWindow):
    tabAdded = Signal(object)  # EditorTab, once it is in the tabs
    documentsChanged = Signal()  # a piece was edited or closed (autosave listens)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Studio")
        self.setWindowIcon(QIcon(str(shipped_path("resources", "icons", "studio.svg"))))
        self.setAcceptDrops(True)
        self.project_path = ""  # the project file the open pieces belong to (set by `files`)
        self.last_error = ""
        self.jobs: list[Job] = []
        self.docks: dict[str, QDockWidget] = {}
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(lambda _i: self.update_actions())
        self.setCentralWidget(self.tabs)
        self.preferences = Preferences()  # choices kept between sessions (features read and set theirs)

        panels.install(self)  # the docks first: the View menu lists them
        self.actions_ = actions.build_actions(self)
        actions.connect(self.actions_, "window", self)
        for dock in self.docks.values():
            self.menus["View"].addAction(dock.toggleViewAction())
        files.install(self)
        editing.install(self)
        playing.install(self)
        modeledit.install(self)
        self.panels.wire()
        welcome.install(self)
        self.statusBar().showMessage(self.preferences.problem or "Ready")
        self.resize(1400, 860)
        self.update_actions()
        self.model_view = install_model_view(self)  # View > Model: surprise, predictions, cells (modelview.py)

    # ----------------------------------------------------------------- messages
    def show_error(self, message: str, title: str = "Studio") -> None:
        """A clear message in the window; never modal-blocking, never fatal."""
        self.last_error = message
        self.statusBar().showMessage(message.splitlines()[0], 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def ask(self, question: str, title: str = "Studio") -> bool:
        answer = QMessageBox.question(self, title, question)
        return answer == QMessageBox.StandardButton.Yes

    def message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def guarded(self, fn, *args) -> None:
        """Run `fn(*args)`; a StudioError or OSError becomes a message, never a traceback."""
        try:
            fn(*args)
        except StudioError as exc:
            self.show_error(exc.message())
        except OSError as exc:
            self.show_error(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")

    # ----------------------------------------------------------------- docks and jobs
    def add_dock(self, name: str, widget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(name, self)
        dock.setObjectName(f"dock-{name.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        return dock

    def run_job(self, job) -> None:
        """Start a background job the window waits for when it closes."""
        self.jobs.append(job)
        job.done.connect(lambda j=job: self.jobs.remove(j) if j in self.jobs else None)
        job.start()

    # ----------------------------------------------------------------- pieces in tabs
    def current_tab(self) -> EditorTab | None:
        w = self.tabs.currentWidget()
        return w if isinstance(w, EditorTab) else None

    def current_roll(self) -> PianoRoll | None:
        tab = self.current_tab()
        return tab.roll if tab else None

    def editor_tabs(self) -> list[EditorTab]:
        return [self.tabs.widget(i) for i in range(self.tabs.count())]

    def add_piece(self, piece: Piece, path: str = "", provenance: dict | None = None) -> EditorTab:
        doc = PieceDocument(piece, path, provenance)
        tab = EditorTab(doc)
        doc.setParent(tab)  # the document lives and dies with its tab
        doc.changed.connect(self.documentsChanged)
        doc.undo_stack.cleanChanged.connect(self.update_title)
        tab.roll.message.connect(self.message)
        index = self.tabs.addTab(tab, doc.title)
        self.tabs.setTabToolTip(index, path or doc.provenance.get("source", "") or doc.title)
        self.tabAdded.emit(tab)
        self.tabs.setCurrentIndex(index)
        if piece.warnings:
            self.message(f"{doc.title}: " + "; ".join(piece.warnings[:3]))
        self.update_actions()
        return tab

    def close_tab(self, index: int) -> None:
        tab = self.tabs.widget(index)
        if tab is None:
            return
        if not tab.document.undo_stack.isClean() and not self.project_path and \
                not self.ask(f"Close {tab.document.title}? Its edits are not saved in a project."):
            return
        self.tabs.removeTab(index)
        tab.deleteLater()
        self.documentsChanged.emit()
        self.update_actions()

    # ----------------------------------------------------------------- window state
    def update_title(self, *_clean) -> None:
        dirty = any(not t.document.undo_stack.isClean() for t in self.editor_tabs())
        name = Path(self.project_path).name if self.project_path else "Untitled project"
        self.setWindowTitle(f"{name}{' *' if dirty else ''} — Studio")
        for i, t in enumerate(self.editor_tabs()):
            self.tabs.setTabText(i, t.document.title + ("" if t.document.undo_stack.isClean() else " *"))

    def update_actions(self) -> None:
        """Each action enabled when what it needs is there (`actions.Spec`: an open piece, an engine)."""
        actions.update_enabled(self.actions_, self.current_tab() is not None, engines.engine)
        self.update_title()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.files.open_paths(paths)

    def closeEvent(self, event) -> None:
        if not self.panels.can_close():
            event.ignore()
            return
        dirty = any(not t.document.undo_stack.isClean() for t in self.editor_tabs())
        if dirty and not self.ask("Some pieces have edits not saved in a project. Quit anyway?"):
            event.ignore()
            return
        self.panels.shutdown()
        for job in list(self.jobs):
            job.stop()
            job.wait(10000)  # a finished child process may still be exiting
        self.playing.shutdown()
        self.files.shutdown()
        event.accept()

    # ----------------------------------------------------------------- the frame's own actions
    def on_close_tab(self) -> None:
        self.close_tab(self.tabs.currentIndex())

    def on_quit(self) -> None:
        self.close()

    def on_shortcuts(self) -> None:
        dialog = actions.ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def on_about(self) -> None:
        from .. import __version__

        QMessageBox.about(self, "About Studio", f"<b>Studio {__version__}</b><p>Train models on your own folk "
                          "tunes and piano performances, generate, edit and play.</p>")
