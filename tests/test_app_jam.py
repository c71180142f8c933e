"""The window's Jam panel, transport bar and welcome page: a jam from the shipped performance model into the
JACK receiver (start, steer, stop, keep the last seconds in a new tab), the bar's position, tempo, loop and
output, and what an empty window tells a newcomer."""
from __future__ import annotations

import pytest

from apphelpers import scale_piece
from studio.app.actions import shortcut_rows
from test_playback_live import jack_server, receiver  # noqa: F401  (fixtures: JACK dummy server, MIDI receiver)

from conftest import REAL_DEVICE

pytestmark = REAL_DEVICE  # one JACK server / PulseAudio daemon: run in one process (scripts/test.sh)


@pytest.fixture
def window(main_window, monkeypatch):
    w = main_window
    errors = []
    monkeypatch.setattr(w, "show_error", lambda m, *a: errors.append(m))
    w.errors = errors
    return w


def test_jam_starts_plays_steers_stops_and_keeps_the_last_seconds(window, qtbot, receiver):
    window.show()
    panel = window.jam_panel
    panel.in_child_process = False  # a thread here: starts in a blink (the CLI tests cover the child process)
    shipped = panel.model.findText("performance (shipped)")
    assert shipped >= 0, "the shipped performance model is listed"
    panel.model.setCurrentIndex(shipped)
    assert panel.use_density.isEnabled() and panel.pitch_boxes[0].isEnabled()  # the shipped model has controls
    window.playing.choose_output(f"port:{receiver.client}")
    window.actions_["jam"].trigger()  # Transport ▸ Jam (J)
    assert window.docks["Jam"].isVisible()
    qtbot.waitUntil(lambda: panel.running, timeout=30000)
    assert panel.start_button.text() == "Stop jam" and not panel.model.isEnabled()
    qtbot.waitUntil(lambda: len(receiver.note_ons()) >= 3 and panel.jam.position > 1.5, timeout=60000)
    panel.temperature.setValue(0.7)  # live: reaches the sampler
    qtbot.waitUntil(lambda: panel.jam.position > 2.5, timeout=60000)
    assert window.transport_bar.position.text().startswith("0:0")  # the bar shows the jam's m:ss
    window.playing.on_play_stop()  # Space ends a jam
    assert not panel.running and panel.start_button.text() == "Jam"
    receiver.settle()
    assert receiver.check_no_stuck_notes() == set()
    assert panel.jam.changes[0]["changes"] == {"temperature": 0.7}
    assert panel.jam.stream.applied and panel.jam.stream.applied[0][0] == 1  # the sampler took the change
    tabs = window.tabs.count()
    panel.keep_seconds.setValue(2)
    panel.keep_last_button.click()
    assert window.tabs.count() == tabs + 1
    doc = window.current_tab().document
    assert doc.piece.notes["end"].max() <= 2.0 + 1e-6 and len(doc.piece.notes) > 0
    prov = doc.provenance
    assert prov["model"] == "performance" and prov["settings"]["temperature"] == 1.0 and "seed" in prov
    assert prov["changes"][0]["changes"] == {"temperature": 0.7}
    panel.keep_all_button.click()
    whole = window.current_tab().document.piece
    assert len(whole.notes) >= len(doc.piece.notes) and whole.duration > 2.0  # the whole jam, not its last 2 s
    assert not window.errors


def test_transport_bar_follows_the_piece_and_the_shortcuts(window, qtbot):
    bar = window.transport_bar
    assert bar.position.text() == "0:00.0" and bar.tempo.text() == ""
    window.add_piece(scale_piece())  # 4/4 at 120 BPM
    roll = window.current_roll()
    roll.set_playhead(2.25)  # bar 2, beat 1 (2 s) plus half a beat
    bar.refresh()
    assert bar.position.text() == "2:1" and "120" in bar.tempo.text()
    roll.set_playhead(2.6)
    bar.refresh()
    assert bar.position.text() == "2:2"
    bar.position.click()  # switch to minutes:seconds
    assert bar.position.text() == "0:02.6"
    bar.position.click()
    window.actions_["loop"].trigger()  # L: loop the whole piece
    assert roll.view.loop == (0.0, pytest.approx(scale_piece().duration))
    roll.set_loop((1.0, 2.0))
    window.actions_["loop"].trigger()  # off
    assert roll.view.loop is None and not window.actions_["loop"].isChecked()
    window.actions_["loop"].trigger()  # on again: the span marked last
    assert roll.view.loop == (1.0, 2.0)
    window.actions_["stop"].trigger()
    assert roll.view.playhead == 0.0
    assert bar.output.count() >= 1 and bar.output.itemData(0) == "builtin:"
    for name in ("play_stop", "pause", "stop", "loop", "jam", "panic"):
        assert window.actions_[name] in bar.actions()
    rows = {(menu, action): keys for menu, action, keys in shortcut_rows()}
    assert rows[("Transport", "Jam")] == "J" and rows[("Transport", "Loop")] == "L"


def test_empty_window_welcomes_and_steps_aside(window, qtbot):
    window.show()
    welcome = window.welcome
    assert welcome.isVisible()
    text = " ".join(w.text() for w in welcome.findChildren(type(welcome.buttons["open"]).__mro__[0]))
    assert "Open a file" in text and "Generate from a shipped model" in text and "built-in collection" in text
    welcome.buttons["jam"].click()
    assert window.docks["Jam"].isVisible()
    welcome.buttons["import"].click()
    assert window.docks["Library"].isVisible()
    window.add_piece(scale_piece())
    assert not welcome.isVisible() and window.tabs.isVisible()
    window.close_tab(0)
    assert welcome.isVisible()
