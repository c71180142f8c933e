"""The File menu: new pieces, opening music and projects (also by drag and drop), saving projects, autosave
and crash recovery, importing into the library, and exports (MIDI, MusicXML, ABC, WAV and its normalise
option). `install(window)` creates the handler as `window.files` and connects the actions it owns."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog

from .. import atomic
from ..errors import StudioError, UnsupportedContent
from ..music.io import READABLE, kind_of
from ..music.piece import Piece
from . import actions, engines, project
from .library import run_import
from .transport import render_midi_to_wav
from .workers import make_job

AUTOSAVE_IDLE_MS = int(float(os.environ.get("STUDIO_AUTOSAVE_SECONDS", "3")) * 1000)
OPEN_ALL_TUNES_UP_TO = 8  # an ABC book with more tunes asks which one to open
FILE_FILTER = ("Music and projects (*.mid *.midi *.abc *.musicxml *.xml *.mxl *.studio);;"
               "MIDI (*.mid *.midi);;ABC (*.abc);;MusicXML (*.musicxml *.xml *.mxl);;Studio project (*.studio)")


class Files:
    def __init__(self, window):
        self.window = window
        self._autosave_timer = QTimer(window, singleShot=True, interval=AUTOSAVE_IDLE_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        # restarts on every edit and close: saves once the user has paused for a few seconds
        window.documentsChanged.connect(self._autosave_timer.start)

    # ----------------------------------------------------------------- opening
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
            self.window.show_error("Could not open:\n" + "\n".join(errors))
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
            self.window.add_piece(piece, path, {"source": piece.source or path})
        return len(pieces)

    def _read(self, path: str, kind: str) -> list[Piece]:
        if kind != "abc":
            return [Piece.read(path)]
        read_tunes, to_piece = engines.engine("read_abc_tunes"), engines.engine("tune_to_piece")
        missing = next((e for e in (read_tunes, to_piece) if not e), None)
        if missing is not None:
            raise UnsupportedContent(path, None, missing.tooltip)
        tunes = read_tunes(path)
        if len(tunes) > OPEN_ALL_TUNES_UP_TO:
            names = [f"X:{t.number} {t.field('T') or ''}".strip() for t in tunes]
            name, ok = QInputDialog.getItem(self.window, "Open tune", f"{Path(path).name} holds {len(tunes)} tunes:",
                                            names, 0, False)
            if not ok:
                return []
            tunes = [tunes[names.index(name)]]
        return [to_piece(t) for t in tunes]

    # ----------------------------------------------------------------- projects, autosave, recovery
    def project_entries(self) -> list[project.ProjectEntry]:
        return [project.ProjectEntry(t.document.piece, t.document.path, t.document.provenance, t.roll.view_state())
                for t in self.window.editor_tabs()]

    def save_project(self, path: str) -> None:
        w = self.window
        project.save_project(path, self.project_entries(), max(0, w.tabs.currentIndex()))
        w.project_path = path
        for t in w.editor_tabs():
            t.document.undo_stack.setClean()
        w.update_title()
        w.message(f"Saved {path}")

    def open_project(self, path: str, recovered: bool = False) -> int:
        w = self.window
        entries, current, problems = project.read_project(path)
        if problems:  # a damaged project: offer what could be read, and say what could not
            if not entries:
                raise problems[0]
            listed = "\n".join(p.message() for p in problems[:5]) + ("\n..." if len(problems) > 5 else "")
            if not w.ask(f"{path} is damaged:\n{listed}\n\nOpen the {len(entries)} piece(s) that could be read?",
                         "Damaged project"):
                return 0
            recovered = True  # not adopted as the project file: saving asks for a new name, the damaged one stays
        for e in entries:
            tab = w.add_piece(e.piece, e.path, e.provenance)
            if e.view:
                tab.roll.restore_view_state(e.view)
        if entries:
            w.tabs.setCurrentIndex(min(current + w.tabs.count() - len(entries), w.tabs.count() - 1))
        if not recovered:
            w.project_path = path
        w.update_title()
        return len(entries)

    def autosave(self) -> None:
        target = project.recovery_path()
        try:
            if self.window.tabs.count():
                project.save_project(target, self.project_entries(), max(0, self.window.tabs.currentIndex()))
            elif target.exists():
                target.unlink()
        except OSError as exc:
            self.window.message(f"Autosave failed: {exc}")

    def offer_recovery(self) -> int:
        """After a crash: offer to restore what the last session autosaved. Returns pieces restored."""
        found = project.orphaned_recoveries()
        if not found:
            return 0
        restored = 0
        if self.window.ask("Studio did not close properly last time. Restore the pieces it autosaved?",
                           "Recover work"):
            for path in found:
                try:
                    restored += self.restore_recovery(path)
                except StudioError as exc:
                    self.window.show_error(f"Could not restore {path}: {exc.message()}")
        else:
            for path in found:  # kept, renamed, so it is never offered again but never lost
                path.rename(path.with_suffix(".declined"))
        return restored

    def restore_recovery(self, path) -> int:
        n = self.open_project(str(path), recovered=True)
        Path(path).unlink(missing_ok=True)
        self.autosave()
        self.window.message(f"Restored {n} piece(s) from the autosave")
        return n

    def shutdown(self) -> None:
        """A clean quit leaves nothing to recover."""
        self._autosave_timer.stop()
        project.recovery_path().unlink(missing_ok=True)

    # ----------------------------------------------------------------- library import
    def import_into_library(self, name: str, sources: list) -> None:
        """Import files or `builtin:` collections into a corpus, in a child process; the report lands in
        the library panel."""
        w = self.window
        missing = next((e for e in map(engines.engine, ("import_corpus", "guess_codec")) if not e), None)
        if missing is not None:
            w.show_error(missing.tooltip)
            return
        codec = engines.engine("guess_codec")([str(s) for s in sources])  # the first codec that reads every source
        status = w.library.status
        job = make_job(run_import, name, [str(s) for s in sources], codec, parent=w, in_process=True)
        job.progress.connect(lambda e: status.setText(
            f"Importing {name}: {e['done']}/{e['total']} files ({Path(e['file']).name})"))
        job.finished.connect(lambda report: (w.panels.refresh_library(), status.setText(str(report))))
        job.failed.connect(lambda m: (status.setText(f"Import of {name} failed."),
                                      w.show_error(f"Import of {name} failed: {m}")))
        status.setText(f"Importing {name}…")
        w.run_job(job)

    # ----------------------------------------------------------------- File menu
    def on_new(self) -> None:
        piece = Piece(time_signatures=np.array([(0.0, 4, 4)], dtype=Piece().time_signatures.dtype), title="Untitled")
        self.window.add_piece(piece)

    def on_open(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open", "", FILE_FILTER)
        self.open_paths(paths)

    def on_save_project(self) -> None:
        if not self.window.project_path:
            return self.on_save_project_as()
        self.window.guarded(self.save_project, self.window.project_path)

    def on_save_project_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", "", f"Studio project (*{project.EXTENSION})")
        if path:
            if not path.endswith(project.EXTENSION):
                path += project.EXTENSION
            self.window.guarded(self.save_project, path)

    def on_import_library(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Import into library", "", FILE_FILTER)
        if not paths:
            return
        name, ok = QInputDialog.getText(self.window, "Import into library", "Corpus name:", text=Path(paths[0]).stem)
        if ok and name:
            self.import_into_library(name, paths)

    def _export(self, caption: str, suffix: str, write) -> None:
        w = self.window
        tab = w.current_tab()
        if tab is None:
            return
        start = str(Path(tab.document.path).with_suffix(suffix)) if tab.document.path else tab.document.title + suffix
        path, _ = QFileDialog.getSaveFileName(w, caption, start, f"*{suffix}")
        if path:
            if not Path(path).suffix:
                path += suffix
            w.guarded(write, tab.document.piece, path)
            w.message(f"Exported {path}")

    def on_export_midi(self) -> None:
        self._export("Export MIDI", ".mid", lambda piece, path: piece.write(path))

    def on_export_musicxml(self) -> None:
        self._export("Export MusicXML", ".musicxml", lambda piece, path: piece.write(path))

    def on_export_abc(self) -> None:
        writer = engines.engine("piece_to_abc")
        if writer:
            self._export("Export ABC", ".abc", lambda piece, path: atomic.write_text(path, writer(piece)))

    def on_export_wav(self) -> None:
        """Render to WAV in a child process (the piece goes over as a temporary MIDI file)."""
        w = self.window
        tab = w.current_tab()
        if not engines.available("render_wav") or tab is None:
            return
        path, _ = QFileDialog.getSaveFileName(w, "Export WAV", tab.document.title + ".wav", "*.wav")
        if not path:
            return
        midi = project.recovery_path().with_name(f"render-{os.getpid()}-{w.tabs.currentIndex()}.mid")
        w.guarded(tab.document.piece.write_midi, midi)
        level = -1.0 if w.actions_["normalize_wav"].isChecked() else None
        job = make_job(render_midi_to_wav, str(midi), path, parent=w, in_process=True, normalize_dbfs=level)
        job.progress.connect(lambda e: w.message(f"Rendering WAV: {e['done']}/{e['total']}"))
        job.finished.connect(lambda out: w.message(f"Exported {out}" if out else "WAV export stopped"))
        job.failed.connect(lambda m: w.show_error(f"WAV export failed: {m}"))
        job.done.connect(lambda: midi.unlink(missing_ok=True))
        w.run_job(job)

    def on_normalize_wav(self, checked: bool = True) -> None:
        self.window.guarded(self.window.preferences.set, "normalize_wav", bool(checked))
        self.window.message("WAV exports " + ("peak at -1 dBFS" if checked else "keep the synth's own level"))


def install(window) -> Files:
    files = Files(window)
    window.actions_["normalize_wav"].setChecked(window.preferences.get("normalize_wav", True))
    actions.connect(window.actions_, "files", files)
    window.files = files
    return files
