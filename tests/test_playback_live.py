"""Live MIDI playback against a real MIDI receiver: JACK's dummy driver (no sound card needed) with a
python-rtmidi JACK input port that records every message with its arrival time."""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest

from studio.music import Piece, make_notes
from studio.playback import PLAYING, STOPPED, Player
from studio.playback.ports import resolve_port_name
from conftest import EXAMPLE_ABC, run_studio

from conftest import REAL_DEVICE

pytestmark = REAL_DEVICE  # one JACK server / PulseAudio daemon: run in one process (scripts/test.sh)

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"
NOTE_ON, NOTE_OFF, CONTROL = 0x90, 0x80, 0xB0


@pytest.fixture(scope="session")
def jack_server():
    """A JACK server on the dummy driver for the whole session (or the one already running)."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd not installed (Debian: apt-get install jackd2)")
    import rtmidi

    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        pytest.skip("python-rtmidi was built without JACK support")
    os.environ["JACK_NO_START_SERVER"] = "1"
    # A 1024-frame period (21 ms): on a loaded machine a non-realtime client can miss a 2.7 ms cycle, and
    # JACK drops that cycle's MIDI at the receiver. Timing at -p 128 is bench/playback_timing.py's job.
    proc = subprocess.Popen(["jackd", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "1024"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="probe").delete()
            break
        except rtmidi.SystemError:  # not up yet
            if time.monotonic() > deadline:
                proc.kill()
                pytest.skip("the JACK dummy server did not start")
            time.sleep(0.2)
    yield
    if proc.poll() is None:  # ours (not a server that was already running)
        proc.terminate()
        proc.wait(timeout=10)


class Receiver:
    """A JACK MIDI input port standing in for a synth: keeps (arrival time, message bytes).

    It polls rtmidi's queue from a thread: python-rtmidi's callback path garbles messages that arrive in
    the same JACK cycle (jack_midi_dump sees them intact), the queue does not."""

    _names = itertools.count()

    def __init__(self):
        import rtmidi

        self.client = f"synth{next(self._names)}"
        self.port_name = f"{self.client}:in"
        self.messages: list[tuple[float, list[int]]] = []
        self._rt = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=self.client)
        self._rt.open_virtual_port("in")
        self._open = True
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        time.sleep(0.1)  # JACK registers a new port asynchronously; a connection made at once can miss it

    def _poll(self) -> None:
        while self._open:
            got = self._rt.get_message()
            if got:
                self.messages.append((time.perf_counter(), got[0]))
            else:
                time.sleep(0.0002)

    def settle(self, quiet: float = 0.15, limit: float = 3.0) -> None:
        """JACK delivers MIDI at its next process cycle (21 ms here), later on a loaded machine: wait until
        nothing new has arrived for `quiet` seconds (at most `limit`)."""
        end, seen = time.monotonic() + limit, -1
        while time.monotonic() < end and len(self.messages) != seen:
            seen = len(self.messages)
            time.sleep(quiet)

    def vanish(self) -> None:
        self._open = False
        self._thread.join()
        self._rt.close_port()
        self._rt.delete()

    def note_ons(self) -> list[tuple[float, int, int]]:
        return [(t, m[0] & 15, m[1]) for t, m in self.messages if m[0] & 0xF0 == NOTE_ON and m[2] > 0]

    def check_no_stuck_notes(self) -> set:
        """Replay the stream like a synth would. Every all-notes-off must come after note-offs for
        everything on (the player ends its notes itself); returns what is still sounding at the end."""
        sounding: set[tuple[int, int]] = set()
        for _, m in self.messages:
            kind, ch = m[0] & 0xF0, m[0] & 15
            if kind == NOTE_ON and m[2] > 0:
                assert (ch, m[1]) not in sounding, f"note {m[1]} on channel {ch + 1} started twice without a note-off"
                sounding.add((ch, m[1]))
            elif kind == NOTE_OFF or kind == NOTE_ON:
                sounding.discard((ch, m[1]))
            elif kind == CONTROL and m[1] == 123:
                assert not {s for s in sounding if s[0] == ch}, "all-notes-off sent while notes were still on"
        return sounding

    def controls(self, number: int) -> list[tuple[int, int]]:
        return [(m[0] & 15, m[2]) for _, m in self.messages if m[0] & 0xF0 == CONTROL and m[1] == number]


@pytest.fixture
def receiver(jack_server):
    import mido

    previous = mido.backend
    mido.set_backend(JACK_BACKEND)
    rx = Receiver()
    yield rx
    if rx._open:
        rx.vanish()
    mido.set_backend(previous)


@pytest.fixture
def player(receiver):
    states: list[str] = []
    messages: list[str] = []
    ended = threading.Event()

    def on_state(state):
        states.append(state)
        if state in ("ended", STOPPED):
            ended.set()

    p = Player(on_state=on_state, on_message=messages.append, watch_interval=0.2)
    p.states, p.messages, p.ended = states, messages, ended
    p.use_port(receiver.client)
    yield p
    p.close()


def chords_and_runs() -> Piece:
    """Block chords, then a fast run, then overlapping repeated notes (the same key struck again)."""
    pitch, start, end = [], [], []
    for i, root in enumerate([60, 65, 67, 60]):
        for p in (root, root + 4, root + 7):
            pitch.append(p), start.append(i * 0.2), end.append(i * 0.2 + 0.18)
    for i in range(24):
        pitch.append(72 + i % 12), start.append(0.8 + i * 0.02), end.append(0.8 + i * 0.02 + 0.03)
    for i in range(4):
        pitch.append(48), start.append(1.3 + i * 0.05), end.append(1.3 + i * 0.05 + 0.12)
    return Piece(notes=make_notes(pitch, start, end, velocity=90))


def test_every_note_arrives_with_its_note_off_in_order(receiver, player):
    piece = chords_and_runs()
    player.set_piece(piece)
    t0 = time.perf_counter()
    player.play()
    assert player.ended.wait(5), f"playback did not end; states {player.states}"
    receiver.settle()
    assert player.state == STOPPED and player.position == 0.0
    ons = receiver.note_ons()
    assert len(ons) == len(piece.notes)
    # In the scheduled order (notes struck together in any order among themselves), and on time: a loose
    # bound, one JACK cycle; the timing figures come from bench/playback_timing.py.
    arrived = iter(p for _, _, p in ons)
    for start in np.unique(piece.notes["start"]):
        chord = piece.notes["pitch"][piece.notes["start"] == start]
        assert sorted(next(arrived) for _ in chord) == sorted(chord.tolist())
    errors = np.array([t - t0 for t, _, _ in ons]) - np.sort(piece.notes["start"])
    assert np.abs(errors - np.median(errors)).max() < 0.05
    assert receiver.check_no_stuck_notes() == set()
    offs = [m for _, m in receiver.messages if m[0] & 0xF0 == NOTE_OFF]
    assert len(offs) == len(piece.notes)


def test_stop_in_the_middle_of_a_chord_leaves_nothing_sounding(receiver, player):
    chord = Piece(notes=make_notes([48, 55, 60, 64, 67], [0.0] * 5, [3.0] * 5), pedals=np.array(
        [(0.0, 3.0, 0)], dtype=[("start", "f8"), ("end", "f8"), ("track", "i2")]))
    player.set_piece(chord)
    player.play()
    time.sleep(0.3)
    assert len(receiver.note_ons()) == 5
    player.stop()
    receiver.settle()
    assert receiver.check_no_stuck_notes() == set()
    assert (0, 0) in receiver.controls(123) and (0, 0) in receiver.controls(64)  # all-notes-off, sustain off
    assert player.state == STOPPED and player.position == 0.0


def test_pause_keeps_the_place_and_ends_the_notes(receiver, player):
    player.set_piece(Piece(notes=make_notes([60, 62], [0.0, 0.1], [2.0, 2.0])))
    player.play()
    time.sleep(0.3)
    player.pause()
    where = player.position
    receiver.settle()
    assert 0.25 < where < 0.45 and player.position == where
    assert receiver.check_no_stuck_notes() == set()


def test_loop_wrap_and_seek_leave_nothing_sounding(receiver, player):
    # Notes that last past the loop's end: each wrap has to end them.
    piece = Piece(notes=make_notes([60, 64, 67], [0.0, 0.1, 0.2], [1.0, 1.0, 1.0]))
    player.set_piece(piece)
    player.set_loop(0.0, 0.4)
    player.play()
    time.sleep(1.0)  # two wraps and a half
    assert player.state == PLAYING and player.position < 0.4
    player.seek(0.15)
    time.sleep(0.1)
    player.stop()
    receiver.settle()
    assert receiver.check_no_stuck_notes() == set()
    starts = [p for _, _, p in receiver.note_ons()]
    assert starts.count(60) >= 3  # it really wrapped
    assert len(receiver.controls(123)) >= 3


def test_edits_are_heard_on_the_next_pass(receiver, player):
    player.set_piece(Piece(notes=make_notes([60], [0.0], [0.2])))
    player.set_loop(0.0, 0.3)
    player.play()
    time.sleep(0.45)
    player.set_piece(Piece(notes=make_notes([62], [0.0], [0.2])))  # an edit mid-playback
    time.sleep(0.5)
    player.stop()
    receiver.settle()
    pitches = [p for _, _, p in receiver.note_ons()]
    assert pitches[:2] == [60, 60] and pitches[-1] == 62 and 60 not in pitches[pitches.index(62):]
    assert receiver.check_no_stuck_notes() == set()


def test_removing_a_sounding_note_still_ends_it(receiver, player):
    player.set_piece(Piece(notes=make_notes([60, 72], [0.0, 0.5], [0.4, 0.6])))
    player.play()
    time.sleep(0.15)
    player.set_piece(Piece(notes=make_notes([72], [0.5], [0.6])))  # 60 is sounding and now gone
    assert player.ended.wait(3)
    receiver.settle()
    assert receiver.check_no_stuck_notes() == set()
    assert [p for _, _, p in receiver.note_ons()] == [60, 72]


def test_tempo_scale_plays_faster_and_ends_sounding_notes(receiver, player):
    piece = Piece(notes=make_notes([60, 62, 64, 65], [0.0, 0.4, 0.8, 1.2], [0.35, 0.75, 1.15, 1.6]))
    player.set_piece(piece)
    player.set_tempo_scale(2.0)
    t0 = time.perf_counter()
    player.play()
    time.sleep(0.25)
    player.set_tempo_scale(4.0)  # live change while notes sound
    assert player.ended.wait(3)
    assert time.perf_counter() - t0 < 1.0  # 1.6 s of music at 2x, then 4x
    receiver.settle()
    assert receiver.check_no_stuck_notes() == set()
    assert [p for _, _, p in receiver.note_ons()] == [60, 62, 64, 65]


def test_panic_silences_all_sixteen_channels(receiver, player):
    player.set_piece(Piece(notes=make_notes([60], [0.0], [2.0])))
    player.play()
    time.sleep(0.1)
    player.panic()
    receiver.settle()
    assert {ch for ch, _ in receiver.controls(120)} == set(range(16))  # all-sound-off
    assert {ch for ch, _ in receiver.controls(123)} == set(range(16))  # all-notes-off
    assert receiver.check_no_stuck_notes() == set()
    assert player.state != PLAYING


def test_channel_and_program_choice(receiver, player):
    player.use_port(receiver.client, channel=3, program=40)
    player.set_piece(Piece(notes=make_notes([60, 64], [0.0, 0.05], [0.1, 0.15])))
    player.play()
    assert player.ended.wait(3)
    receiver.settle()
    assert [m for _, m in receiver.messages if m[0] & 0xF0 == 0xC0] == [[0xC3, 40]]
    assert {ch for _, ch, _ in receiver.note_ons()} == {3}
    player.ended.clear()
    player.set_channel_program(5, 10)
    player.play()
    assert player.ended.wait(3)
    receiver.settle()
    assert [m for _, m in receiver.messages if m[0] & 0xF0 == 0xC0][-1] == [0xC5, 10]
    assert {ch for _, ch, _ in receiver.note_ons()[2:]} == {5}
    assert receiver.check_no_stuck_notes() == set()


def test_ports_are_listed_by_name_and_refreshed(receiver, jack_server):
    assert receiver.port_name in Player.list_ports()
    late = Receiver()  # appears after the first listing
    assert late.port_name in Player.list_ports()
    assert resolve_port_name(late.client) == late.port_name
    late.vanish()
    assert late.port_name not in Player.list_ports()


def test_a_port_that_disappears_falls_back_without_hanging(receiver, player):
    player.set_piece(Piece(notes=make_notes([60 + i % 12 for i in range(40)], [i * 0.1 for i in range(40)],
                                            [i * 0.1 + 0.3 for i in range(40)])))
    player.play()
    time.sleep(0.3)
    receiver.vanish()
    deadline = time.monotonic() + 5
    while not player.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert player.messages, "no message about the lost port"
    assert receiver.port_name in player.messages[0] and "disappeared" in player.messages[0]
    if "built-in synth" in player.messages[0]:
        assert player.output.startswith("built-in synth") and player.state == PLAYING
    else:  # no audio device here either: stopped, and said so
        assert "playback stopped" in player.messages[0] and player.state == STOPPED
    started = time.monotonic()
    player.close()
    assert time.monotonic() - started < 3


def test_cli_ports_and_play(receiver, tmp_path):
    env = {"MIDO_BACKEND": JACK_BACKEND}
    listing = run_studio("ports", env=env)
    assert listing.returncode == 0 and receiver.port_name in listing.stdout.splitlines()
    played = run_studio("play", EXAMPLE_ABC, "--port", receiver.client, "--tempo", "8", "--start", "5", env=env, timeout=60)
    assert played.returncode == 0, played.stderr
    assert f"on MIDI port {receiver.port_name}" in played.stdout
    assert len(receiver.note_ons()) > 20
    assert receiver.check_no_stuck_notes() == set()
    missing = run_studio("play", EXAMPLE_ABC, "--port", "no-such-synth", env=env)
    assert missing.returncode == 2 and "no MIDI output port named 'no-such-synth'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_virtual_port_studio_can_be_connected_to(jack_server):
    import mido
    import rtmidi

    previous = mido.backend
    mido.set_backend(JACK_BACKEND)
    listener = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="daw")
    try:
        with Player(Piece(notes=make_notes([60, 67], [0.2, 0.3], [0.4, 0.5]))) as player:
            player.use_virtual_port()
            assert player.output == "virtual MIDI port Studio"
            studio = [i for i, name in enumerate(listener.get_ports()) if name.endswith(":Studio")]
            assert studio, listener.get_ports()
            listener.open_port(studio[0])
            time.sleep(0.1)
            player.play()
            time.sleep(0.8)
        got = []
        while (msg := listener.get_message()) is not None:
            got.append(msg[0])
        assert [m[1] for m in got if m[0] & 0xF0 == NOTE_ON and m[2] > 0] == [60, 67]
        assert [m[1] for m in got if m[0] & 0xF0 == NOTE_OFF] == [60, 67]
    finally:
        listener.delete()
        mido.set_backend(previous)
