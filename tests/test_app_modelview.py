"""View > Model in the desktop studio: surprise colouring of roll notes and ABC tokens, hover, the model's
predictions at the playhead (double-click inserts, undo restores), the cell lane with Find cells and PNG."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from apphelpers import scale_piece, vp
from conftest import EXAMPLE_ABC
from studio.app.modelview import surprise_levels, surprise_palette
from studio.codecs import get_codec
from studio.nn import ModelConfig, SequenceModel, save_model
from studio.paths import shipped_path

FOLK = str(shipped_path("models", "folk"))


@pytest.fixture
def window(qtbot, main_window, tmp_path):
    w = main_window
    w.tmp_path = tmp_path
    w.model_view._timer.setInterval(20)
    w.show()
    qtbot.waitExposed(w)
    return w


def turn_on(window, qtbot, model_dir: str) -> None:
    view = window.model_view
    view.set_model(model_dir)
    with qtbot.waitSignal(view.computed, timeout=60000):
        view.actions_["surprise"].trigger()


def open_kesh(window, qtbot):
    from studio.music.abc_io import read_abc_tunes

    path = window.tmp_path / "kesh.abc"
    path.write_text(read_abc_tunes(EXAMPLE_ABC)[0].text)
    window.files.open_paths([path])
    turn_on(window, qtbot, FOLK)
    return window.current_tab()


def test_surprise_colours_the_notes_and_abc_tokens_and_hover_tells_why(window, qtbot):
    tab = open_kesh(window, qtbot)
    view, roll, doc = window.model_view, tab.roll, tab.document
    ins = view.inspection
    assert ins.title == "The Kesh" and np.isfinite(view.note_surprise).all()  # every note of the roll matched
    levels = surprise_levels(view.note_surprise)
    layer = roll.view.layer
    np.testing.assert_array_equal(layer._levels, levels)
    # the pixel in the middle of the first note is the palette colour of its surprise
    roll.scroll_to(0.0)
    QApplication.processEvents()
    i = 0
    n = doc.notes[i]
    point = vp(roll.view, float(n["start"] + n["end"]) / 2, int(n["pitch"]))
    pixel = roll.view.viewport().grab().toImage().pixelColor(point)
    expected = surprise_palette()[levels[i]]
    assert abs(pixel.red() - expected.red()) <= 3 and abs(pixel.green() - expected.green()) <= 3
    # the ABC text: the first note's characters carry the same colour scale
    spans = view.token_spans()
    assert len(spans) >= len(doc.notes) // 2
    start, end, level = min(spans)
    block = tab.abc.editor.document().findBlock(start)
    ranges = [r for r in block.layout().formats() if r.start <= start - block.position() < r.start + r.length]
    assert ranges and ranges[0].format.background().color().rgb() == surprise_palette()[level].rgb()
    # hover a note: surprise and the model's top 5 there
    qtbot.mouseMove(roll.view.viewport(), point)
    qtbot.waitUntil(lambda: "surprise" in roll.view.toolTip(), timeout=60000)
    tip = roll.view.toolTip()
    assert f"{view.note_surprise[i]:.2f} nats" in tip and "the model expected" in tip
    assert tip.split("expected:")[1].count("%") == 5
    # hover a token of the ABC text
    editor = tab.abc.editor
    cursor = editor.textCursor()
    cursor.setPosition(start)
    pos = editor.cursorRect(cursor).center() + QPoint(2, 0)
    QApplication.sendEvent(editor.viewport(), QHelpEvent(QHelpEvent.Type.ToolTip, pos, editor.viewport().mapToGlobal(pos)))
    assert "surprise" in QToolTip.text() and "expected" in QToolTip.text()
    # off again: velocity colours come back
    view.actions_["surprise"].trigger()
    assert not view.surprise.isChecked() and layer._levels is None
    assert not view.highlighters[id(tab.abc)].spans and roll.view.note_tip_extra is None


def test_the_view_follows_edits(window, qtbot):
    tab = open_kesh(window, qtbot)
    view, doc = window.model_view, tab.document
    before = view.inspection.nll
    notes = doc.notes.copy()
    notes["pitch"][5] += 1  # a sharpened note: out of the key of G
    with qtbot.waitSignal(view.computed, timeout=60000):
        doc.edit("Transpose", notes)
    assert view.inspection.nll > before
    assert len(tab.roll.view.layer._levels) == len(doc.notes)


def planted_performance_model(tmp_path):
    """A random 1x16 performance model whose output bias makes NOTE_ON 72 by far the likeliest event."""
    codec = get_codec("performance")
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(codec.vocab_size, layers=1, units=16))
    with torch.no_grad():
        model.head.bias[codec.index["NOTE_ON_72"]] = 12.0
    return str(save_model(model, tmp_path / "planted", codec.config))


def test_double_click_a_prediction_inserts_it_and_undo_takes_it_out(window, qtbot, tmp_path):
    tab = window.add_piece(scale_piece())
    turn_on(window, qtbot, planted_performance_model(tmp_path))
    view, doc = window.model_view, tab.document
    tab.roll.set_playhead(1.0)
    view.update_predictions()
    assert view.predictions.count() == 5
    first = view.predictions.item(0)
    assert first.text().startswith("note C5 on") and "%" in first.text()
    before = doc.notes.copy()
    rect = view.predictions.visualItemRect(first)
    qtbot.mouseClick(view.predictions.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.predictions.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(doc.notes) == len(before) + 1
    added = doc.notes[(doc.notes["pitch"] == 72) & np.isclose(doc.notes["start"], 1.0)]
    assert len(added) == 1 and added["end"][0] > 1.0
    doc.undo_stack.undo()
    np.testing.assert_array_equal(doc.notes, before)


def test_a_folk_prediction_goes_into_the_tune_and_undo_restores_it(window, qtbot):
    tab = open_kesh(window, qtbot)
    view, doc = window.model_view, tab.document
    text, notes = doc.piece.meta["abc"], doc.notes.copy()
    tab.roll.set_playhead(float(doc.notes["start"][10]))
    view.update_predictions()
    assert view.predictions.count() == 5
    view.insert_item(view.predictions.item(0))
    assert doc.piece.meta["abc"] != text
    assert "K:G" in doc.piece.meta["abc"]  # still in the tune's key
    doc.undo_stack.undo()
    assert doc.piece.meta["abc"] == text
    np.testing.assert_array_equal(doc.notes, notes)


def test_cell_lane_find_cells_and_save_png(window, qtbot, tmp_path):
    tab = open_kesh(window, qtbot)
    view = window.model_view
    view.actions_["lane"].trigger()
    lane = view.lane(create=False)
    assert lane is not None and lane.holder.isVisible()
    times, index = view.inspection.played_tokens()
    assert times[-1] > 15.0  # the Kesh's repeats played out, as in the roll
    np.testing.assert_allclose(lane.values, view.inspection.run.activation(0, "c", 0)[index])
    view.find_cells()
    qtbot.waitUntil(lambda: view.cells.count() == 20, timeout=30000)
    best = view.found[0]
    item = view.cells.item(0)
    qtbot.mouseClick(view.cells.viewport(), Qt.MouseButton.LeftButton, pos=view.cells.visualItemRect(item).center())
    assert (view.layer.value(), view.kind.currentData(), view.unit.value()) == (best.layer, best.kind, best.unit)
    assert best.feature in lane.label
    np.testing.assert_allclose(lane.values, view.inspection.run.activation(best.layer, best.kind, best.unit)[index])
    path = tmp_path / "lane.png"
    view.save_lane_png(str(path))
    import matplotlib.image

    pixels = matplotlib.image.imread(str(path))
    assert pixels.shape[1] > 200 and float(pixels[..., :3].std()) > 0.02


def test_loss_chart_has_a_log_axis_and_smoothing(qtbot):
    from studio.app.charts import LossPlot, smoothed

    plot = LossPlot()
    qtbot.addWidget(plot)
    rng = np.random.default_rng(0)
    for step in range(1, 60):
        plot.add(step, 5.0 / step + rng.normal(0, 0.2), 5.0 / step if step % 10 == 0 else None)
    plot.redraw()
    assert plot.ax.get_yscale() == "linear" and len(plot.ax.lines) == 3  # raw, smoothed, validation
    plot.log_scale.setChecked(True)
    assert plot.ax.get_yscale() == "log"
    noisy = 1.0 + rng.normal(0, 0.2, 400)
    assert smoothed(noisy, 0.9)[50:].std() < noisy.std() / 3 and smoothed(noisy, 0.0) is noisy
    assert [t.get_text() for t in plot.ax.get_xticklabels()]  # real ticks
