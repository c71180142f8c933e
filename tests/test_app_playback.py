"""The window's transport against the real playback engine: play, follow, seek, stop and panic through a
JACK MIDI port chosen in Transport ▸ Output (the playback tests' JACK dummy server and receiver)."""
from __future__ import annotations

import time

import pytest

from apphelpers import scale_piece
from test_playback_live import jack_server, receiver  # noqa: F401  (fixtures: JACK dummy server, MIDI receiver)

from conftest import REAL_DEVICE

pytestmark = REAL_DEVICE  # one JACK server / PulseAudio daemon: run in one process (scripts/test.sh)


@pytest.fixture
def window(main_window):
    return main_window


def test_play_through_a_chosen_midi_port_moves_the_playhead_and_stop_ends_every_note(window, qtbot, receiver):
    piece = scale_piece()
    window.add_piece(piece)
    labels = [label for label, _key in window.transport.outputs()]
    assert f"MIDI port: {receiver.port_name}" in labels
    window.playing.choose_output(f"port:{receiver.client}")
    assert receiver.client in window.transport.output
    roll = window.current_roll()
    window.playing.on_play_stop()
    assert window.transport.state == "playing"
    qtbot.waitUntil(lambda: roll.view.playhead > 1.2, timeout=60000)  # the playhead follows the engine
    window.playing.on_play_stop()
    assert window.transport.state == "stopped"
    receiver.settle()
    played = [pitch for _t, _ch, pitch in receiver.note_ons()]
    assert played[:3] == [60, 62, 64]
    assert receiver.check_no_stuck_notes() == set()


def test_clicking_a_key_sounds_it_and_panic_silences(window, qtbot, receiver):
    window.add_piece(scale_piece())
    window.playing.choose_output(f"port:{receiver.client}")
    window.current_roll().noteAuditioned.emit(69, 90)
    deadline = time.monotonic() + 5
    while not receiver.note_ons() and time.monotonic() < deadline:
        qtbot.wait(20)
    assert [p for _t, _c, p in receiver.note_ons()] == [69]
    window.playing.on_panic()
    receiver.settle()
    assert receiver.controls(123)  # all-notes-off went out
