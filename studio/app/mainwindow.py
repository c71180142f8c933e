"""The main window: pieces in tabs (piano roll, plus the ABC view for folk tunes), the Library, Train and
Generate panels in docks, the menus from `actions`, drag and drop, projects and autosave."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QInputDialog, QMainWindow,
                               QMessageBox, QSplitter, QTabWidget)

from ..errors import StudioError, UnsupportedContent
from ..music.abc_io import read_abc_tunes, tune_to_piece
from ..music.io import READABLE, kind_of
from ..music.piece import Piece
from ..paths import shipped_path
from . import engines, project
from .abcview import AbcView
from .actions import ShortcutsDialog, build_actions
from .document import PieceDocument
from .generate import GeneratePanel
from .jam import JamPanel
from .genjob import bar_at, tune_bars
from .library import LibraryPanel, run_import
from .modelview import install_model_view
from .pianoroll import PianoRoll
from .preferences import Preferences
from .train import TrainPanel
from .transport import Transport, render_midi_to_wav
from . import transportbar, welcome
from .workers import Job, make_job

AUTOSAVE_IDLE_MS = int(float(os.environ.get("STUDIO_AUTOSAVE_SECONDS", "3")) * 1000)
OPEN_ALL_TUNES_UP_TO = 8  # an ABC book with more tunes asks which one to open
FILE_FILTER = ("Music and projects (*.mid *.midi *.abc *.musicxml *.xml *.mxl *.studio);;"
               "MIDI (*.mid *.midi);;ABC (*.abc);;MusicXML (*.musicxml *.xml *.mxl);;Studio project (*.studio)")


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
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Studio")
        self.setWindowIcon(QIcon(str(shipped_path("resources", "icons", "studio.svg"))))
        self.setAcceptDrops(True)
        self.project_path = ""
        self.last_error = ""
        self.jobs: list[Job] = []
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(lambda _i: self._update_actions())
        self.setCentralWidget(self.tabs)

        self.library = LibraryPanel()
        self.train_panel = TrainPanel()
        self.generate_panel = GeneratePanel()
        self.generate_panel.primer_provider = self._primer
        self.jam_panel = JamPanel()
        self.jam_panel.primer_provider = self._primer
        self.docks = {}
        for name, widget, area in (("Library", self.library, Qt.DockWidgetArea.LeftDockWidgetArea),
                                   ("Train", self.train_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                   ("Generate", self.generate_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                   ("Jam", self.jam_panel, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(name, self)
            dock.setObjectName(f"dock-{name.lower()}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.tabifyDockWidget(self.docks["Train"], self.docks["Generate"])
        self.tabifyDockWidget(self.docks["Generate"], self.docks["Jam"])
        self.docks["Generate"].raise_()

        self.transport = Transport(self)
        self._playing: PieceDocument | None = None  # the document the transport plays
        self.transport.positionChanged.connect(self._playhead_moved)
        self.transport.message.connect(self.message)
        self.actions_ = build_actions(self)
        for dock in self.docks.values():
            self.menus["View"].addAction(dock.toggleViewAction())
        self.output_menu = self.menus["Transport"].addMenu("&Output")
        self.output_menu.setToolTipsVisible(True)
        self.output_menu.aboutToShow.connect(self._fill_output_menu)
        self.actions_["follow"].setChecked(True)
        self.preferences = Preferences()  # choices kept between sessions
        self.actions_["normalize_wav"].setChecked(self.preferences.get("normalize_wav", True))
        self._wire_panels()
        self.jam_panel.transport = self.transport
        self.transport_bar = transportbar.install(self)
        welcome.install(self)
        self._autosave_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_IDLE_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self.statusBar().showMessage(self.preferences.problem or "Ready")
        self.resize(1400, 860)
        self._update_actions()
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

    # ----------------------------------------------------------------- panels
    def _wire_panels(self) -> None:
        self.library.corpusChosen.connect(self._use_corpus)
        self.library.modelChosen.connect(self._use_model)
        self.library.importRequested.connect(self.import_into_library)
        self.train_panel.modelTrained.connect(lambda _d: self.refresh_library())
        self.train_panel.error.connect(self.show_error)
        self.generate_panel.error.connect(self.show_error)
        self.generate_panel.candidateOpened.connect(lambda piece, prov: self.add_piece(piece, "", prov))
        self.generate_panel.candidateApplied.connect(self._apply_candidate)
        self.jam_panel.error.connect(self.show_error)
        self.jam_panel.keep.connect(lambda piece, prov: self.add_piece(piece, "", prov))
        self.refresh_library()

    def refresh_library(self) -> None:
        self.library.refresh()
        self.train_panel.set_corpora([(e.name, e.path) for e in self.library.corpus_entries()])
        self.generate_panel.set_models([(e.name, e.path) for e in self.library.model_entries()])
        self.jam_panel.set_models([(e.name, e.path) for e in self.library.model_entries()])

    def _use_corpus(self, path: str) -> None:
        self.train_panel.choose_corpus(path)
        self.docks["Train"].raise_()

    def _use_model(self, path: str) -> None:
        self.generate_panel.choose_model(path)
        self.docks["Generate"].raise_()

    def _primer(self, kind: str) -> Piece | None:
        tab = self.current_tab()
        if tab is None:
            return None
        doc = tab.document
        if kind == "Current selection":  # the selected notes alone, from the first one's onset
            if not doc.selected.any():
                return None
            chosen = doc.piece.with_notes(doc.notes[doc.selected])
            chosen.meta.pop("abc", None)  # the whole tune's text: a folk model reads the selected notes instead
            return chosen.shift(-float(chosen.notes["start"].min()))
        return doc.piece.copy()

    def import_into_library(self, name: str, sources: list) -> None:
        """Import files or `builtin:` collections into a corpus, in a child process; the report lands in
        the library panel."""
        fn = engines.engine("import_corpus")
        if not fn:
            self.show_error(fn.tooltip)
            return
        from ..codecs import guess_codec

        codec = guess_codec([str(s) for s in sources])  # the first codec that reads every source
        job = make_job(run_import, name, [str(s) for s in sources], codec, parent=self, in_process=True)
        job.progress.connect(lambda e: self.library.status.setText(
            f"Importing {name}: {e['done']}/{e['total']} files ({Path(e['file']).name})"))
        job.finished.connect(lambda report: (self.refresh_library(), self.library.status.setText(str(report))))
        job.failed.connect(lambda m: (self.library.status.setText(f"Import of {name} failed."),
                                      self.show_error(f"Import of {name} failed: {m}")))
        self.library.status.setText(f"Importing {name}…")
        self._run(job)

    def _run(self, job) -> None:
        self.jobs.append(job)
        job.done.connect(lambda j=job: self.jobs.remove(j) if j in self.jobs else None)
        job.start()

    # ----------------------------------------------------------------- documents
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
        doc.changed.connect(self._changed)
        doc.undo_stack.cleanChanged.connect(self._update_title)
        tab.roll.message.connect(self.message)
        tab.roll.noteAuditioned.connect(self.transport.audition)
        tab.roll.seekRequested.connect(lambda t, d=doc: self._if_playing(d, self.transport.seek, t))
        tab.roll.loopChanged.connect(lambda loop, d=doc: self._if_playing(d, self.transport.set_loop, loop))
        doc.changed.connect(lambda d=doc: self._if_playing(d, self.transport.update_piece, d.piece.copy()))
        tab.roll.view.follow = self.actions_["follow"].isChecked()
        index = self.tabs.addTab(tab, doc.title)
        self.tabs.setTabToolTip(index, path or doc.provenance.get("source", "") or doc.title)
        self.tabs.setCurrentIndex(index)
        if piece.warnings:
            self.message(f"{doc.title}: " + "; ".join(piece.warnings[:3]))
        self._update_actions()
        return tab

    def open_paths(self, paths) -> int:
        """Open files (music or projects); each bad file gets a message, the rest still open."""
        opened = 0
        errors = []
        for path in paths:
            try:
                opened += self.open_path(str(path))
            except StudioError as exc:
                errors.append(exc.message())
            except (OSError, ValueError) as exc:
                errors.append(f"{path}: cannot open ({exc})")
        if errors:
            self.show_error("Could not open:\n" + "\n".join(errors))
        return opened

    def open_path(self, path: str) -> int:
        if path.endswith(project.EXTENSION):
            return self.open_project(path)
        kind = kind_of(path)
        if not kind:
            raise UnsupportedContent(path, None, f"not a music file Studio reads ({', '.join(READABLE)}, "
                                                 f"{project.EXTENSION})")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            pieces = self._read(path, kind)
        finally:
            QApplication.restoreOverrideCursor()
        for piece in pieces:
            self.add_piece(piece, path, {"source": piece.source or path})
        return len(pieces)

    def _read(self, path: str, kind: str) -> list[Piece]:
        if kind != "abc":
            return [Piece.read(path)]
        tunes = read_abc_tunes(path)
        if len(tunes) > OPEN_ALL_TUNES_UP_TO:
            names = [f"X:{t.number} {t.field('T') or ''}".strip() for t in tunes]
            name, ok = QInputDialog.getItem(self, "Open tune", f"{Path(path).name} holds {len(tunes)} tunes:", names, 0, False)
            if not ok:
                return []
            tunes = [tunes[names.index(name)]]
        return [tune_to_piece(t) for t in tunes]

    def close_tab(self, index: int) -> None:
        tab = self.tabs.widget(index)
        if tab is None:
            return
        if not tab.document.undo_stack.isClean() and not self.project_path and \
                not self.ask(f"Close {tab.document.title}? Its edits are not saved in a project."):
            return
        self.tabs.removeTab(index)
        tab.deleteLater()
        self._changed()
        self._update_actions()

    # ----------------------------------------------------------------- projects and autosave
    def project_entries(self) -> list[project.ProjectEntry]:
        return [project.ProjectEntry(t.document.piece, t.document.path, t.document.provenance, t.roll.view_state())
                for t in self.editor_tabs()]

    def save_project(self, path: str) -> None:
        project.save_project(path, self.project_entries(), max(0, self.tabs.currentIndex()))
        self.project_path = path
        for t in self.editor_tabs():
            t.document.undo_stack.setClean()
        self._update_title()
        self.message(f"Saved {path}")

    def open_project(self, path: str, recovered: bool = False) -> int:
        entries, current, problems = project.read_project(path)
        if problems:  # a damaged project: offer what could be read, and say what could not
            if not entries:
                raise problems[0]
            listed = "\n".join(p.message() for p in problems[:5]) + ("\n..." if len(problems) > 5 else "")
            if not self.ask(f"{path} is damaged:\n{listed}\n\nOpen the {len(entries)} piece(s) that could be read?",
                            "Damaged project"):
                return 0
            recovered = True  # not adopted as the project file: saving asks for a new name, the damaged one stays
        for e in entries:
            tab = self.add_piece(e.piece, e.path, e.provenance)
            if e.view:
                tab.roll.restore_view_state(e.view)
        if entries:
            self.tabs.setCurrentIndex(min(current + self.tabs.count() - len(entries), self.tabs.count() - 1))
        if not recovered:
            self.project_path = path
        self._update_title()
        return len(entries)

    def _changed(self) -> None:
        self._autosave_timer.start()  # restarts: saves once the user has paused for a few seconds

    def autosave(self) -> None:
        target = project.recovery_path()
        try:
            if self.tabs.count():
                project.save_project(target, self.project_entries(), max(0, self.tabs.currentIndex()))
            elif target.exists():
                target.unlink()
        except OSError as exc:
            self.message(f"Autosave failed: {exc}")

    def offer_recovery(self) -> int:
        """After a crash: offer to restore what the last session autosaved. Returns pieces restored."""
        found = project.orphaned_recoveries()
        if not found:
            return 0
        restored = 0
        if self.ask("Studio did not close properly last time. Restore the pieces it autosaved?", "Recover work"):
            for path in found:
                try:
                    restored += self.restore_recovery(path)
                except StudioError as exc:
                    self.show_error(f"Could not restore {path}: {exc.message()}")
        else:
            for path in found:  # kept, renamed, so it is never offered again but never lost
                path.rename(path.with_suffix(".declined"))
        return restored

    def restore_recovery(self, path) -> int:
        n = self.open_project(str(path), recovered=True)
        Path(path).unlink(missing_ok=True)
        self.autosave()
        self.message(f"Restored {n} piece(s) from the autosave")
        return n

    # ----------------------------------------------------------------- window state
    def _update_title(self, *_clean) -> None:
        dirty = any(not t.document.undo_stack.isClean() for t in self.editor_tabs())
        name = Path(self.project_path).name if self.project_path else "Untitled project"
        self.setWindowTitle(f"{name}{' *' if dirty else ''} — Studio")
        for i, t in enumerate(self.editor_tabs()):
            self.tabs.setTabText(i, t.document.title + ("" if t.document.undo_stack.isClean() else " *"))

    def _update_actions(self) -> None:
        a = self.actions_
        has = self.current_tab() is not None
        for name in ("save_project", "save_project_as", "export_midi", "export_musicxml", "close_tab", "undo",
                     "redo", "cut", "copy", "paste", "delete", "select_all", "select_none", "quantize",
                     "transpose_up", "transpose_down", "octave_up", "octave_down", "nudge_left", "nudge_right",
                     "bar_left", "bar_right", "zoom_in", "zoom_out", "zoom_fit"):
            a[name].setEnabled(has)
        for name, needs in (("export_abc", "piece_to_abc"), ("export_wav", "render_wav"),
                            ("continue_here", "generate"), ("regenerate_selection", "generate"),
                            ("import_library", "import_corpus")):
            found = engines.engine(needs)
            a[name].setEnabled(bool(found) and (has or name == "import_library"))
            a[name].setToolTip(a[name].statusTip() if found else found.tooltip)
        for name in ("play_stop", "pause", "to_start", "panic"):
            a[name].setEnabled(self.transport.available)
            if not self.transport.available:
                a[name].setToolTip(self.transport.why_unavailable)
        self._update_title()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.open_paths(paths)

    def closeEvent(self, event) -> None:
        if self.train_panel.is_running():
            if not self.ask("Training is running. Stop it and quit? The last checkpoint is kept, so you can "
                            "Resume later."):
                event.ignore()
                return
            self.train_panel.stop()
            self.train_panel.job.wait()
        dirty = any(not t.document.undo_stack.isClean() for t in self.editor_tabs())
        if dirty and not self.ask("Some pieces have edits not saved in a project. Quit anyway?"):
            event.ignore()
            return
        self.jam_panel.shutdown()
        for job in list(self.jobs) + [p.job for p in (self.train_panel, self.generate_panel) if p.job]:
            job.stop()
            job.wait(10000)  # a finished child process may still be exiting
        self.transport.close()
        project.recovery_path().unlink(missing_ok=True)  # a clean quit leaves nothing to recover
        event.accept()

    # ----------------------------------------------------------------- File menu
    def on_new(self) -> None:
        piece = Piece(time_signatures=np.array([(0.0, 4, 4)], dtype=Piece().time_signatures.dtype), title="Untitled")
        self.add_piece(piece)

    def on_open(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open", "", FILE_FILTER)
        self.open_paths(paths)

    def on_save_project(self) -> None:
        if not self.project_path:
            return self.on_save_project_as()
        self._guarded(self.save_project, self.project_path)

    def on_save_project_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save project", "", f"Studio project (*{project.EXTENSION})")
        if path:
            if not path.endswith(project.EXTENSION):
                path += project.EXTENSION
            self._guarded(self.save_project, path)

    def on_import_library(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import into library", "", FILE_FILTER)
        if not paths:
            return
        name, ok = QInputDialog.getText(self, "Import into library", "Corpus name:", text=Path(paths[0]).stem)
        if ok and name:
            self.import_into_library(name, paths)

    def _export(self, caption: str, suffix: str, write) -> None:
        tab = self.current_tab()
        if tab is None:
            return
        start = str(Path(tab.document.path).with_suffix(suffix)) if tab.document.path else tab.document.title + suffix
        path, _ = QFileDialog.getSaveFileName(self, caption, start, f"*{suffix}")
        if path:
            if not Path(path).suffix:
                path += suffix
            self._guarded(write, tab.document.piece, path)
            self.message(f"Exported {path}")

    def on_export_midi(self) -> None:
        self._export("Export MIDI", ".mid", lambda piece, path: piece.write(path))

    def on_export_musicxml(self) -> None:
        self._export("Export MusicXML", ".musicxml", lambda piece, path: piece.write(path))

    def on_export_abc(self) -> None:
        writer = engines.engine("piece_to_abc")
        if writer:
            from .. import atomic

            self._export("Export ABC", ".abc", lambda piece, path: atomic.write_text(path, writer(piece)))

    def on_export_wav(self) -> None:
        """Render to WAV in a child process (the piece goes over as a temporary MIDI file)."""
        tab = self.current_tab()
        if not engines.available("render_wav") or tab is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export WAV", tab.document.title + ".wav", "*.wav")
        if not path:
            return
        midi = project.recovery_path().with_name(f"render-{os.getpid()}-{self.tabs.currentIndex()}.mid")
        self._guarded(tab.document.piece.write_midi, midi)
        level = -1.0 if self.actions_["normalize_wav"].isChecked() else None
        job = make_job(render_midi_to_wav, str(midi), path, parent=self, in_process=True, normalize_dbfs=level)
        job.progress.connect(lambda e: self.message(f"Rendering WAV: {e['done']}/{e['total']}"))
        job.finished.connect(lambda out: self.message(f"Exported {out}" if out else "WAV export stopped"))
        job.failed.connect(lambda m: self.show_error(f"WAV export failed: {m}"))
        job.done.connect(lambda: midi.unlink(missing_ok=True))
        self._run(job)

    def on_normalize_wav(self, checked: bool = True) -> None:
        self._guarded(self.preferences.set, "normalize_wav", bool(checked))
        self.message("WAV exports " + ("peak at -1 dBFS" if checked else "keep the synth's own level"))

    def on_close_tab(self) -> None:
        self.close_tab(self.tabs.currentIndex())

    def on_quit(self) -> None:
        self.close()

    def _guarded(self, fn, *args) -> None:
        try:
            fn(*args)
        except StudioError as exc:
            self.show_error(exc.message())
        except OSError as exc:
            self.show_error(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")

    # ----------------------------------------------------------------- Edit menu
    def _roll_call(self, method: str, *args) -> None:
        roll = self.current_roll()
        if roll is not None:
            getattr(roll, method)(*args)

    def on_undo(self) -> None:
        tab = self.current_tab()
        if tab:
            tab.document.undo_stack.undo()

    def on_redo(self) -> None:
        tab = self.current_tab()
        if tab:
            tab.document.undo_stack.redo()

    def on_cut(self) -> None:
        self._roll_call("cut_selection")

    def on_copy(self) -> None:
        self._roll_call("copy_selection")

    def on_paste(self) -> None:
        self._roll_call("paste")

    def on_delete(self) -> None:
        self._roll_call("delete_selection")

    def on_select_all(self) -> None:
        self._roll_call("select_all")

    def on_select_none(self) -> None:
        tab = self.current_tab()
        if tab:
            tab.document.clear_selection()

    def on_quantize(self) -> None:
        self._roll_call("quantize_selection")

    def on_transpose_up(self) -> None:
        self._roll_call("transpose_selection", 1)

    def on_transpose_down(self) -> None:
        self._roll_call("transpose_selection", -1)

    def on_octave_up(self) -> None:
        self._roll_call("transpose_selection", 12)

    def on_octave_down(self) -> None:
        self._roll_call("transpose_selection", -12)

    def on_nudge_left(self) -> None:
        self._roll_call("nudge_selection", -1)

    def on_nudge_right(self) -> None:
        self._roll_call("nudge_selection", 1)

    def on_bar_left(self) -> None:
        self._roll_call("nudge_selection", -1, True)

    def on_bar_right(self) -> None:
        self._roll_call("nudge_selection", 1, True)

    def on_continue_here(self) -> None:
        """Continue the current piece from the playhead (from its end when the playhead is at the start);
        the music before the point is what the model continues."""
        tab = self.current_tab()
        if tab is None:
            return
        piece, at = tab.document.piece, tab.roll.view.playhead
        if not 0 < at < piece.duration:
            at = piece.duration
        self._edit_with_model(tab, "continue", at, None)

    def on_regenerate_selection(self) -> None:
        """Replace the time span of the selection with new material that joins the music around it."""
        tab = self.current_tab()
        if tab is None or not tab.document.selected.any():
            self.message("Select the notes to regenerate first")
            return
        sel = tab.document.notes[tab.document.selected]
        self._edit_with_model(tab, "regenerate", float(sel["start"].min()), float(sel["end"].max()))

    def _edit_with_model(self, tab: EditorTab, op: str, start: float, end: float | None) -> None:
        """Hand the edit to the Generate panel's model: seconds for performance models, the tune's written
        bars for folk models (the span's first and last bar, inclusive)."""
        panel = self.generate_panel
        if not panel.model.currentData():
            self.show_error("Pick a model in the Generate panel first (train one, or use one from the Library).")
            return
        piece = tab.document.piece.copy()
        if panel.is_folk:
            if "abc" not in piece.meta:
                self.show_error("This piece is not a folk tune; pick a performance model to continue or "
                                "regenerate it.")
                return
            bars = tune_bars(piece)
            first = bar_at(piece, start, bars)
            start, end = first, None if end is None else max(first, bar_at(piece, end - 1e-6, bars))
        if panel.start_edit(op, piece, start, end, target=tab.document):
            self.docks["Generate"].raise_()

    def _apply_candidate(self, doc: PieceDocument, piece: Piece, info: dict) -> None:
        """A continuation/regeneration replaces the piece it came from (one undo step)."""
        tab = next((t for t in self.editor_tabs() if t.document is doc), None)
        if tab is None:  # the piece was closed meanwhile: open the result instead
            self.add_piece(piece, "", {"generated": info})
            return
        if "abc" not in doc.piece.meta:
            piece.meta.pop("abc", None)
        piece.title = doc.piece.title
        doc.replace_piece("Continue from here" if info.get("op") == "continue" else "Regenerate selection", piece)
        doc.provenance.setdefault("edits", []).append(info)
        self.tabs.setCurrentWidget(tab)
        self.message(f"{doc.title}: candidate {info.get('candidate')} (seed {info.get('seed')}) put in; "
                     "Undo takes it back")

    # ----------------------------------------------------------------- View and Transport
    def on_zoom_in(self) -> None:
        self._roll_call("zoom", 1.25)

    def on_zoom_out(self) -> None:
        self._roll_call("zoom", 0.8)

    def on_zoom_fit(self) -> None:
        roll = self.current_roll()
        if roll:
            roll.view.zoom_to_fit()

    def on_follow(self, checked: bool = True) -> None:
        for t in self.editor_tabs():
            t.roll.view.follow = checked
            t.roll.view.resume_follow()

    def _if_playing(self, doc: PieceDocument, action, *args) -> None:
        """Pass a seek, loop or edit of the piece being played on to the player."""
        if self.transport.state != "stopped" and self._playing is doc:
            action(*args)

    def _playhead_moved(self, seconds: float) -> None:
        roll = self.current_roll()
        if roll:
            roll.set_playhead(seconds)

    def on_play_stop(self) -> None:
        if self.jam_panel.running or self.jam_panel.starting:  # Space ends a jam as it ends playback
            self.jam_panel.stop()
            return
        roll = self.current_roll()
        if roll is None:
            return
        if self.transport.state == "playing":
            self.transport.stop()
            return
        roll.view.resume_follow()
        try:
            self.transport.play(roll.document.piece.copy(), roll.view.playhead, roll.view.loop)
        except Exception as exc:  # no audio output, a MIDI port gone: say so, keep editing
            self.show_error(f"Cannot play: {exc.message() if isinstance(exc, StudioError) else exc}")
            return
        self._playing = roll.document

    def _fill_output_menu(self) -> None:
        """Outputs listed by name, re-scanned each time the menu opens (anchors: pick ports explicitly)."""
        menu = self.output_menu
        menu.clear()
        if not self.transport.available:
            menu.addAction(self.transport.why_unavailable).setEnabled(False)
            return
        try:
            outputs = self.transport.outputs()
        except Exception as exc:  # the MIDI system cannot be asked: say so in the menu
            menu.addAction(f"Cannot list MIDI ports: {exc}").setEnabled(False)
            outputs = [("Built-in synth", "builtin:")]
        current = self.transport.output
        for label, key in outputs:
            act = menu.addAction(label)
            act.setCheckable(True)
            act.setChecked(bool(current) and (key.partition(":")[2] or label) in current)
            act.triggered.connect(lambda _c=False, k=key: self.choose_output(k))

    def choose_output(self, key: str) -> None:
        try:
            self.transport.use_output(key)
        except Exception as exc:
            self.show_error(f"Cannot use that output: {exc.message() if isinstance(exc, StudioError) else exc}")
            return
        self.message(f"Playing on {self.transport.output}")

    def on_pause(self) -> None:
        self.transport.pause()

    def on_to_start(self) -> None:
        roll = self.current_roll()
        if roll:
            roll.set_playhead(0.0)
            roll.scroll_to(0.0)

    def on_panic(self) -> None:
        self.jam_panel.shutdown()
        self.transport.panic()

    def on_stop(self) -> None:
        if self.jam_panel.running or self.jam_panel.starting:
            self.jam_panel.stop()
        self.transport.stop()
        self.on_to_start()

    def on_loop(self, checked: bool = False) -> None:
        self.transport_bar.toggle_loop(checked)

    def on_jam(self) -> None:
        self.docks["Jam"].show()
        self.docks["Jam"].raise_()
        self.jam_panel.toggle()

    # ----------------------------------------------------------------- Help
    def on_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def on_about(self) -> None:
        from .. import __version__

        QMessageBox.about(self, "About Studio", f"<b>Studio {__version__}</b><p>Train models on your own folk "
                          "tunes and piano performances, generate, edit and play.</p>")
