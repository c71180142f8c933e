"""The main window on real widgets: menus and shortcuts, opening and dropping files, errors that never
crash, the ABC view, projects, autosave and recovery after a killed process."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from apphelpers import scale_piece
from conftest import BROKEN_MIDI, EXAMPLE_ABC, REPO, needs_broken
from studio.app import actions, project
from studio.app.main import install_excepthook
from studio.app.mainwindow import MainWindow
from studio.music.piece import Piece


@pytest.fixture
def window(qtbot, main_window):
    w = main_window
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def midi_file(tmp_path):
    path = tmp_path / "scale.mid"
    scale_piece().write_midi(path)
    return path


def drop(window, paths) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(200, 200)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos.toPointF(), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)


def test_every_action_has_a_menu_entry_and_the_conventional_keys(window):
    in_menus = {a for m in window.menus.values() for a in m.actions()}
    assert all(a in in_menus for a in window.actions_.values())
    keys = {name: [s.toString() for s in a.shortcuts()] for name, a in window.actions_.items()}
    assert keys["play_stop"] == ["Space"] and keys["pause"] == ["Shift+Space"]
    assert keys["transpose_up"] == ["Shift+Up"] and keys["octave_down"] == ["Ctrl+Down"]
    assert keys["export_midi"] == ["Ctrl+M"] and "Ctrl+Z" in keys["undo"] and "Del" in keys["delete"]
    every = [k for ks in keys.values() for k in ks]
    assert len(every) == len(set(every)), "two actions share a shortcut"
    rows = actions.shortcut_rows()
    assert ("Transport", "Play / Stop", "Space") in rows and any(r[2] == "Ctrl+Wheel" for r in rows)
    window.on_shortcuts()
    dialog = window.findChild(actions.ShortcutsDialog)
    assert dialog is not None and dialog.table.rowCount() == len(rows)


def test_engines_not_installed_leave_their_controls_disabled_with_a_reason(window, midi_file, monkeypatch):
    from studio.app import engines

    window.files.open_paths([midi_file])
    for name in ("export_wav", "export_abc", "continue_here", "regenerate_selection", "export_midi"):
        assert window.actions_[name].isEnabled()
    monkeypatch.setitem(engines.ENGINES, "generate", ("studio.no_such_engine", "Generation"))
    window.update_actions()
    for name in ("continue_here", "regenerate_selection"):
        act = window.actions_[name]
        assert not act.isEnabled() and "Needs the generation engine" in act.toolTip()
    assert window.actions_["export_wav"].isEnabled()


def test_open_drop_and_export_a_midi_file(window, midi_file, tmp_path):
    drop(window, [midi_file])
    assert window.tabs.count() == 1 and window.last_error == ""
    roll = window.current_roll()
    assert len(roll.note_rects()) == 11
    out_mid, out_xml = tmp_path / "out.mid", tmp_path / "out.musicxml"
    window.guarded(lambda p, path: p.write(path), roll.document.piece, str(out_mid))
    window.guarded(lambda p, path: p.write(path), roll.document.piece, str(out_xml))
    assert len(Piece.read(out_mid).notes) == 11 and len(Piece.read(out_xml).notes) == 11


def test_dropping_bad_files_shows_a_clear_error_and_nothing_crashes(window, tmp_path, midi_file):
    garbage = tmp_path / "garbage.mid"
    garbage.write_bytes(b"this is not a midi file at all" * 10)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    drop(window, [garbage, notes, midi_file])
    assert "garbage.mid" in window.last_error and "notes.txt" in window.last_error
    assert window.tabs.count() == 1  # the good file still opened
    window.editing.on_select_all()
    window.editing.on_transpose_up()  # the window still works
    assert window.current_roll().document.notes["pitch"].min() == 61


@needs_broken
def test_dropping_damaged_midi_never_crashes(window):
    drop(window, BROKEN_MIDI)
    assert window.isVisible()
    assert window.tabs.count() + window.last_error.count("\n") == len(BROKEN_MIDI)  # each opened or named


def test_an_unexpected_exception_becomes_a_message(window, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook(lambda: window)
    try:
        raise RuntimeError("something broke in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert "something broke in a slot" in window.last_error and window.isVisible()
    window.last_error = ""
    try:
        raise RuntimeError("something broke in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert window.last_error == ""  # the same error again: a status-bar line, not a second box
    assert "something broke" in window.statusBar().currentMessage()


def test_edit_menu_acts_on_the_current_roll_with_undo(window, midi_file):
    window.files.open_paths([midi_file])
    doc = window.current_tab().document
    window.editing.on_select_all()
    window.editing.on_octave_up()
    window.editing.on_nudge_right()
    assert doc.notes["pitch"].min() == 72 and doc.notes["start"].min() == pytest.approx(0.125)
    window.editing.on_undo()
    window.editing.on_undo()
    assert doc.notes["pitch"].min() == 60 and doc.notes["start"].min() == 0.0
    window.editing.on_redo()
    assert doc.notes["pitch"].min() == 72
    assert window.windowTitle().startswith("Untitled project *")


def test_abc_edit_reaches_the_roll_errors_stay_at_their_line_and_undo_restores(window, qtbot):
    window.files.open_paths([EXAMPLE_ABC])
    assert window.tabs.count() == 4
    window.tabs.setCurrentIndex(0)
    tab = window.current_tab()
    abc, doc = tab.abc, tab.document
    assert abc is not None and abc.text.startswith("X:1")
    assert int(doc.notes["pitch"][0]) == 67  # G4
    with qtbot.waitSignal(abc.parsed, timeout=60000):
        abc.editor.setPlainText(abc.text.replace("|:GAG GAB|", "|:AAG GAB|", 1))
    assert int(doc.notes["pitch"][0]) == 69  # now A4
    good = abc.text
    bad = good.rstrip("\n") + "\nabc a/0b|\n"
    bad_line = bad.count("\n")
    with qtbot.waitSignal(abc.parsed, timeout=60000):
        abc.editor.setPlainText(bad)
    assert abc.text == bad  # the text is kept
    assert abc.error_lines() == [bad_line]
    assert f"line {bad_line}" in abc.status.text()
    assert int(doc.notes["pitch"][0]) == 69  # the roll keeps the last good version
    doc.undo_stack.undo()  # undo the ABC edit: notes and text come back
    assert int(doc.notes["pitch"][0]) == 67 and "|:GAG GAB|" in abc.text


def test_a_project_reopens_with_pieces_provenance_and_editing_state(window, qtbot, midi_file, tmp_path):
    window.files.open_paths([midi_file])
    tab = window.current_tab()
    tab.document.provenance.update({"generated": {"model": "folk-small", "seed": 7, "temperature": 0.9}})
    tab.document.set_selection(tab.document.notes["pitch"] == 64)
    tab.roll.set_division("1/8 triplet")
    tab.roll.set_playhead(2.5)
    tab.roll.set_loop((1.0, 3.0))
    tab.document.set_selection(tab.document.notes["start"] < 1.0)
    window.editing.on_transpose_down()
    path = tmp_path / "session.studio"
    window.files.save_project(str(path))
    assert "*" not in window.windowTitle()

    other = MainWindow()
    qtbot.addWidget(other)
    assert other.files.open_project(str(path)) == 1
    t2 = other.current_tab()
    np.testing.assert_array_equal(t2.document.notes, tab.document.notes)
    assert t2.document.provenance["generated"]["seed"] == 7
    assert t2.roll.view.playhead == 2.5 and t2.roll.view.loop == (1.0, 3.0)
    assert t2.roll.view.grid.division == "1/8 triplet"
    np.testing.assert_array_equal(t2.document.selected, tab.document.selected)


def test_a_damaged_project_file_is_a_clear_error(window, tmp_path):
    path = tmp_path / "broken.studio"
    path.write_text('{"format": "studio-project", "pieces": [{"piece": {"notes": "AAAA"}}]}')
    window.files.open_paths([path])
    assert "broken.studio" in window.last_error and "piece 1" in window.last_error


APP_SCRIPT = textwrap.dedent("""
    import sys
    from studio.app.main import make_app
    from studio.app.mainwindow import MainWindow
    app = make_app([])
    w = MainWindow()
    w.show()
    w.files.open_paths([sys.argv[1]])
    roll = w.current_roll()
    roll.document.select_all()
    roll.transpose_selection(5)
    print("edited", flush=True)
    app.exec()
""")


def test_autosave_survives_a_killed_process_and_the_next_start_restores_it(window, qtbot, midi_file, studio_home):
    env = dict(os.environ, STUDIO_HOME=str(studio_home), STUDIO_AUTOSAVE_SECONDS="0.3", QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", APP_SCRIPT, str(midi_file)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        recovery = project.recovery_path(proc.pid)
        while not recovery.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert recovery.exists(), proc.stderr.read() if proc.poll() is not None else "no autosave within 60 s"
    finally:
        proc.kill()  # a crash: no clean shutdown, the recovery file stays
        proc.wait()
    assert project.orphaned_recoveries() == [recovery]
    assert window.files.offer_recovery() == 1
    doc = window.current_tab().document
    np.testing.assert_array_equal(np.sort(doc.notes["pitch"]), np.sort(scale_piece().notes["pitch"] + 5))
    assert not recovery.exists() and project.orphaned_recoveries() == []


def test_a_clean_quit_leaves_nothing_to_recover(window, qtbot, midi_file):
    window.files.open_paths([midi_file])
    window.editing.on_select_all()
    window.editing.on_transpose_up()
    window.files.autosave()
    assert project.recovery_path().exists()
    window.close()
    assert not project.recovery_path().exists()


def test_roll_edits_come_back_as_abc_text(window, qtbot):
    from studio.codecs.folk import piece_to_abc as writer

    window.files.open_paths([EXAMPLE_ABC])
    window.tabs.setCurrentIndex(0)
    tab = window.current_tab()
    before = tab.abc.text
    window.editing.on_select_all()
    window.editing.on_transpose_up()
    assert tab.abc.text != before and tab.abc.text == writer(tab.document.piece)
    assert tab.document.piece.meta["abc"] == tab.abc.text


def test_abc_view_wraps_long_lines_and_keeps_the_cursor_where_you_type(window, qtbot):
    from PySide6.QtWidgets import QPlainTextEdit

    window.show()
    window.files.open_paths([EXAMPLE_ABC])
    window.tabs.setCurrentIndex(0)
    tab = window.current_tab()
    abc, editor = tab.abc, tab.abc.editor
    assert editor.lineWrapMode() == QPlainTextEdit.LineWrapMode.WidgetWidth
    line = next(i for i, s in enumerate(abc.text.splitlines()) if s.startswith("|:GAG GAB|"))
    long_text = abc.text.replace("|:GAG GAB|", "|:GAG GAB|" + " GAG GAB|" * 40, 1)
    with qtbot.waitSignal(abc.parsed, timeout=60000):
        editor.setPlainText(long_text)
    assert editor.horizontalScrollBar().maximum() == 0  # wrapped: nothing to scroll sideways to
    block = editor.document().findBlockByNumber(line)
    assert block.layout().lineCount() > 1
    cursor = editor.textCursor()
    cursor.setPosition(block.position() + 5)
    editor.setTextCursor(cursor)
    editor.setFocus()
    with qtbot.waitSignal(abc.parsed, timeout=60000):
        qtbot.keyClicks(editor, "A")  # typing: the tune re-parses into the roll
    assert editor.textCursor().blockNumber() == line and editor.textCursor().positionInBlock() == 6
    window.editing.on_select_all()
    window.editing.on_transpose_up()  # the roll rewrites the text: the cursor stays on its line
    assert editor.textCursor().blockNumber() == line and editor.textCursor().positionInBlock() == 6


def test_the_wav_normalise_choice_survives_a_restart_of_the_window(qtbot, studio_home):
    first = MainWindow()
    qtbot.addWidget(first)
    action = first.actions_["normalize_wav"]
    assert action.isChecked()  # peak-normalised by default
    action.trigger()  # as a user clicks File > Normalise WAV Exports
    assert not action.isChecked()
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert not second.actions_["normalize_wav"].isChecked()
    second.actions_["normalize_wav"].trigger()
    second.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.actions_["normalize_wav"].isChecked()
    (studio_home / "settings" / "app.json").write_text("{not json")
    third = MainWindow()
    qtbot.addWidget(third)
    assert third.actions_["normalize_wav"].isChecked() and "app.json" in third.statusBar().currentMessage()
