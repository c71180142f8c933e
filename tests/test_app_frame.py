"""The main window stays a frame: each action in the table is handled by the feature that owns it, the
menus reach those features, and what an action needs (an open piece, an engine) decides whether it is on."""
from __future__ import annotations

from pathlib import Path

import pytest

from apphelpers import scale_piece
from conftest import EXAMPLE_ABC
from studio.app import actions, engines, mainwindow

FRAME_LINES = 260  # mainwindow.py was 725 lines with every feature inside; features live in their own modules


@pytest.fixture
def window(main_window):
    return main_window


def test_the_window_keeps_only_the_frames_actions_and_each_feature_handles_its_own(window):
    frame_slots = {n for n in dir(window) if n.startswith("on_")}
    assert frame_slots == {f"on_{s.name}" for s in actions.SPECS if s.owner == "window"}
    for spec in actions.SPECS:
        if spec.owner != "window":
            assert callable(getattr(getattr(window, spec.owner), f"on_{spec.name}")), spec.name
    lines = len(Path(mainwindow.__file__).read_text(encoding="utf-8").splitlines())
    assert lines <= FRAME_LINES, f"mainwindow.py has {lines} lines: move feature code into a feature module"


def test_menu_actions_reach_their_features_and_follow_what_they_need(window, tmp_path, monkeypatch):
    acts = window.actions_
    assert not acts["undo"].isEnabled() and not acts["export_midi"].isEnabled()  # no piece open yet
    path = tmp_path / "scale.mid"
    scale_piece().write_midi(path)
    assert window.files.open_paths([path]) == 1
    assert acts["undo"].isEnabled() and acts["export_midi"].isEnabled()
    acts["select_all"].trigger()
    acts["transpose_up"].trigger()  # Edit menu -> editing -> the current roll
    notes = window.current_roll().document.notes
    assert notes["pitch"].min() == 61
    acts["undo"].trigger()
    assert window.current_roll().document.notes["pitch"].min() == 60
    acts["new"].trigger()  # File menu -> files
    assert window.tabs.count() == 2
    acts["close_tab"].trigger()  # the frame's own
    assert window.tabs.count() == 1
    monkeypatch.setitem(engines.ENGINES, "player", ("studio.no_such_engine", "Player"))
    window.update_actions()
    for name in ("play_stop", "pause", "to_start", "panic"):
        assert not acts[name].isEnabled() and "Needs the playback engine" in acts[name].toolTip()
    assert acts["stop"].isEnabled() and acts["undo"].isEnabled()


def test_a_missing_abc_reader_is_a_clear_message_not_a_traceback(window, monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "read_abc_tunes", ("studio.no_such_engine", "read_abc_tunes"))
    with pytest.raises(engines.EngineMissing, match="Needs the ABC reader"):
        engines.require("read_abc_tunes")
    assert window.files.open_paths([EXAMPLE_ABC]) == 0
    assert "Needs the ABC reader" in window.last_error and window.tabs.count() == 0
