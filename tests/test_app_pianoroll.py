"""The piano roll on real widgets: notes where they belong, every edit and its undo/redo, the mouse and
wheel conventions from the anchors doc."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from apphelpers import drag, scale_piece, vp, wheel
from conftest import EXAMPLE_ABC, MAESTRO, needs_maestro
from studio.app.document import PieceDocument
from studio.app.pianoroll import PianoRoll
from studio.app.pianoroll import edits
from studio.app.pianoroll.geometry import ROW_HEIGHT, note_name, x_of, y_of
from studio.app.pianoroll.grid import Grid
from studio.music.piece import Piece, make_notes


@pytest.fixture
def roll(qtbot):
    doc = PieceDocument(scale_piece())
    widget = PianoRoll(doc)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    qtbot.waitExposed(widget)
    widget.view.horizontalScrollBar().setValue(0)
    widget.view.verticalScrollBar().setValue(int(y_of(76)))
    return widget


def assert_rects_match(roll: PianoRoll, piece: Piece) -> None:
    rects = roll.note_rects()
    assert len(rects) == len(piece.notes)
    notes = piece.sorted().notes
    xs = np.array([r.x() for r in rects])
    ys = np.array([r.y() for r in rects])
    ws = np.array([r.width() for r in rects])
    np.testing.assert_allclose(xs, x_of(notes["start"]), atol=1e-6)
    np.testing.assert_allclose(ws, x_of(notes["end"] - notes["start"]), atol=1e-6)
    np.testing.assert_allclose(ys, y_of(notes["pitch"].astype(float)) + 1, atol=1e-6)


def test_a_real_midi_file_opens_with_every_note_in_place(qtbot, tmp_path):
    path = tmp_path / "scale.mid"
    scale_piece().write_midi(path)
    piece = Piece.read(path)
    roll = PianoRoll(PieceDocument(piece))
    qtbot.addWidget(roll)
    assert_rects_match(roll, piece)


@needs_maestro
def test_a_maestro_performance_opens_with_every_note_in_place(qtbot):
    piece = Piece.read(MAESTRO[0])
    roll = PianoRoll(PieceDocument(piece))
    qtbot.addWidget(roll)
    assert len(roll.note_rects()) == len(piece.notes) > 1000
    assert_rects_match(roll, piece)


def test_an_abc_tune_opens_with_its_notes_in_place(qtbot):
    piece = Piece.read(EXAMPLE_ABC)  # The Kesh: |:GAG GAB|...
    roll = PianoRoll(PieceDocument(piece))
    qtbot.addWidget(roll)
    assert_rects_match(roll, piece)
    first = roll.document.notes[0]
    assert note_name(int(first["pitch"])) == "G4" and first["start"] == 0.0


def test_keyboard_names_and_a_clicked_key_is_heard(roll, qtbot):
    assert note_name(60) == "C4" and note_name(0) == "C-1" and note_name(61) == "C#4"
    kb = roll.keyboard
    y = roll.view.mapFromScene(0, y_of(64) + ROW_HEIGHT / 2).y()
    with qtbot.waitSignal(roll.noteAuditioned) as heard:
        qtbot.mouseClick(kb, Qt.MouseButton.LeftButton, pos=QPoint(10, y))
    assert heard.args[0] == 64


def test_draw_a_note_drag_sets_its_length_and_undo_redo(roll, qtbot):
    doc, view = roll.document, roll.view
    view.set_tool("draw")
    n = len(doc.notes)
    drag(qtbot, view.viewport(), vp(view, 6.02, 74), vp(view, 6.98, 74))
    assert len(doc.notes) == n + 1
    new = doc.notes[doc.notes["pitch"] == 74][0]
    assert new["start"] == pytest.approx(6.0)  # snapped down to the 1/16 grid
    assert new["end"] == pytest.approx(7.0)
    doc.undo_stack.undo()
    assert len(doc.notes) == n
    doc.undo_stack.redo()
    assert len(doc.notes) == n + 1


def test_rubber_band_and_modifier_selection(roll, qtbot):
    doc, view = roll.document, roll.view
    vpw = view.viewport()
    # Band around the first two scale notes (C4 at 0 s, D4 at 0.5 s).
    drag(qtbot, vpw, vp(view, 0.1, 63, 0.0), vp(view, 0.9, 59, 0.9))
    assert doc.notes["pitch"][doc.selected].tolist() == [60, 62]
    # Ctrl+click adds E4; Shift+click toggles D4 off; a plain click replaces with G4.
    qtbot.mouseClick(vpw, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, vp(view, 1.2, 64))
    assert sorted(doc.notes["pitch"][doc.selected].tolist()) == [60, 62, 64]
    qtbot.mouseClick(vpw, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, vp(view, 0.7, 62))
    assert sorted(doc.notes["pitch"][doc.selected].tolist()) == [60, 64]
    qtbot.mouseClick(vpw, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 2.2, 67))
    assert doc.notes["pitch"][doc.selected].tolist() == [67]
    # Ctrl+Shift band subtracts.
    doc.select_all()
    drag(qtbot, vpw, vp(view, 3.6, 75, 0.0), vp(view, 5.5, 59, 0.9), Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.selected.sum() == 7 and not doc.selected[doc.notes["start"] >= 4.0].any()


def test_drag_moves_in_time_and_pitch_snapped_and_undoes(roll, qtbot):
    doc, view = roll.document, roll.view
    before = doc.notes.copy()
    # Grab E4 (1.0–1.5 s) in its middle; drop 1.03 s later and 3 rows up -> 2.0 s, G4 (snapped to 1/16 = 0.125 s).
    drag(qtbot, view.viewport(), vp(view, 1.25, 64), vp(view, 2.28, 67))
    moved = doc.notes[doc.selected]
    assert len(moved) == 1 and int(moved["pitch"][0]) == 67
    assert moved["start"][0] == pytest.approx(2.0) and moved["end"][0] == pytest.approx(2.5)
    doc.undo_stack.undo()
    np.testing.assert_array_equal(doc.notes, before)
    doc.undo_stack.redo()
    assert (doc.notes["pitch"] == 64).sum() == 1  # only the chord's E4 is left at 64


def test_drag_right_edge_resizes(roll, qtbot):
    doc, view = roll.document, roll.view
    view.zoom_time(2.0, 0)
    view.horizontalScrollBar().setValue(0)
    edge = vp(view, 1.5, 64) - QPoint(2, 0)  # just inside E4's right edge
    drag(qtbot, view.viewport(), edge, vp(view, 2.0, 64) - QPoint(2, 0))
    e4 = doc.notes[(doc.notes["pitch"] == 64) & (doc.notes["start"] == 1.0)][0]
    assert e4["end"] == pytest.approx(2.0)
    doc.undo_stack.undo()
    e4 = doc.notes[(doc.notes["pitch"] == 64) & (doc.notes["start"] == 1.0)][0]
    assert e4["end"] == pytest.approx(1.5)


def test_erase_tool_deletes_what_it_sweeps_as_one_step(roll, qtbot):
    doc, view = roll.document, roll.view
    view.set_tool("erase")
    drag(qtbot, view.viewport(), vp(view, 4.5, 60), vp(view, 4.5, 67), steps=10)
    assert len(doc.notes) == 8  # the C-E-G chord is gone
    doc.undo_stack.undo()
    assert len(doc.notes) == 11
    assert doc.undo_stack.count() == 1


def test_transpose_and_quantize_a_selection(roll):
    doc = roll.document
    sel = doc.notes["start"] < 1.0  # C4 and D4
    doc.set_selection(sel)
    roll.transpose_selection(1)
    roll.transpose_selection(12)
    assert sorted(doc.notes["pitch"][doc.selected].tolist()) == [73, 75]
    notes = doc.notes.copy()
    notes["start"][doc.selected] += 0.07
    notes["end"][doc.selected] += 0.02
    doc.edit("humanise", notes, doc.selected)
    roll.set_division("1/8")  # 0.25 s at 120 BPM
    roll.quantize_selection()
    sel_notes = doc.notes[doc.selected]
    assert sel_notes["start"].tolist() == [0.0, 0.5] and sel_notes["end"].tolist() == [0.5, 1.0]
    for _ in range(4):
        doc.undo_stack.undo()
    np.testing.assert_array_equal(doc.notes, PieceDocument(scale_piece()).notes)
    for _ in range(4):
        doc.undo_stack.redo()
    assert sorted(doc.notes["pitch"][doc.selected].tolist()) == [73, 75]


def test_transpose_never_leaves_the_midi_range(roll):
    doc = roll.document
    doc.select_all()
    for _ in range(6):
        roll.transpose_selection(12)
    assert doc.notes["pitch"].max() <= 127
    assert doc.undo_stack.count() == 4  # +48 reaches 120; the fifth octave would pass 127 and is refused


def test_copy_paste_cut_delete(roll):
    doc = roll.document
    doc.set_selection(doc.notes["start"] >= 4.0)  # the chord
    assert roll.copy_selection()
    roll.set_playhead(8.0)
    roll.paste()
    assert len(doc.notes) == 14
    pasted = doc.notes[doc.selected]
    assert pasted["start"].tolist() == [8.0, 8.0, 8.0] and sorted(pasted["pitch"].tolist()) == [60, 64, 67]
    roll.cut_selection()
    assert len(doc.notes) == 11
    doc.set_selection(doc.notes["pitch"] == 72)
    roll.delete_selection()
    assert len(doc.notes) == 10 and 72 not in doc.notes["pitch"]
    for _ in range(3):
        doc.undo_stack.undo()
    assert len(doc.notes) == 11 and doc.undo_stack.index() == 0


def test_velocity_lane_drag_sets_velocity_and_undoes(roll, qtbot):
    doc, lane = roll.document, roll.velocity
    doc.set_selection(doc.notes["start"] < 1.0)  # only the selected notes change
    x0 = int(lane.x_at(0.0))
    x1 = int(lane.x_at(2.0))
    y = int(lane.height() * 0.1)
    drag(qtbot, lane, QPoint(x0, y), QPoint(x1, y))
    v = doc.notes["velocity"]
    assert (v[doc.selected] > 110).all()
    assert v[doc.notes["pitch"] == 64].tolist() == [60, 64]  # E4 (not selected) untouched; chord E4 too
    doc.undo_stack.undo()
    assert doc.notes["velocity"][doc.notes["start"] < 1.0].tolist() == [40, 50]


def test_wheel_scrolls_and_ctrl_wheel_zooms_time_at_the_cursor(roll):
    view = roll.view
    vpw = view.viewport()
    view.zoom_time(4.0, 0)
    hbar, vbar = view.horizontalScrollBar(), view.verticalScrollBar()
    hbar.setValue(200)
    v0 = vbar.value()
    wheel(vpw, QPoint(300, 100), -120)
    assert vbar.value() > v0 and hbar.value() == 200
    wheel(vpw, QPoint(300, 100), -120, Qt.KeyboardModifier.ShiftModifier)
    assert hbar.value() > 200
    anchor = view.mapToScene(QPoint(300, 100)).x()
    sx = view.sx
    wheel(vpw, QPoint(300, 100), 120, Qt.KeyboardModifier.ControlModifier)
    assert view.sx > sx and view.sy == 1.0
    assert view.mapToScene(QPoint(300, 100)).x() == pytest.approx(anchor, abs=2 / view.sx)


def test_ruler_playhead_loop_and_follow_yields_to_manual_scroll(roll, qtbot):
    view, ruler = roll.view, roll.ruler
    with qtbot.waitSignal(roll.seekRequested) as seek:
        qtbot.mouseClick(ruler, Qt.MouseButton.LeftButton, pos=QPoint(int(ruler.x_at(2.0)), 10))
    assert seek.args[0] == pytest.approx(2.0, abs=0.02)
    drag(qtbot, ruler, QPoint(int(ruler.x_at(1.0)), 10), QPoint(int(ruler.x_at(3.0)), 10), Qt.KeyboardModifier.ShiftModifier)
    assert view.loop == pytest.approx((1.0, 3.0))
    t0, t1 = view.visible_seconds()
    roll.set_playhead(t1 + 5)  # follow: the view turns the page
    assert view.visible_seconds()[0] <= view.playhead <= view.visible_seconds()[1]
    wheel(view.viewport(), QPoint(100, 100), 240, Qt.KeyboardModifier.ShiftModifier)  # the user scrolls away
    where = view.horizontalScrollBar().value()
    roll.set_playhead(view.playhead + 30)
    assert view.horizontalScrollBar().value() == where  # follow yielded
    view.resume_follow()
    roll.set_playhead(view.playhead + 1)
    assert view.horizontalScrollBar().value() != where


def test_grid_divisions_and_triplets():
    piece = scale_piece()
    assert Grid(piece, "1/16").snap(0.13) == pytest.approx(0.125)
    assert Grid(piece, "1/8 triplet").snap(0.18) == pytest.approx(1 / 6)
    assert Grid(piece, "Off").snap(0.1234) == 0.1234
    notes = piece.notes.copy()
    notes["start"] += 0.04
    q = edits.quantize(notes, np.ones(len(notes), bool), Grid(piece, "1/4"))
    assert np.allclose(q["start"] % 0.5, 0.0)


def test_ruler_counts_bars_for_metered_music_and_seconds_for_performances(qtbot):
    assert PieceDocument(scale_piece()).is_metered
    assert PieceDocument(Piece.read(EXAMPLE_ABC)).is_metered
    rng = np.random.default_rng(1)
    start = np.sort(rng.uniform(0, 30, 300))
    played = scale_piece().with_notes(make_notes(rng.integers(40, 80, 300), start, start + 0.3))
    assert not PieceDocument(played).is_metered  # a 4/4 mark but onsets off any grid: a recorded performance
    played.meta["abc"] = "X:1\nM:4/4\nK:C\n(3CDE F2 G2 A2|\n"
    assert PieceDocument(played).is_metered  # a folk tune is written in bars, whatever a tuplet did to its onsets
