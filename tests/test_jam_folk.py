"""A folk jam plays tune after tune, as a session does (each tune to its end with its repeats, a bar's rest,
the next), and starts from a primer tune's first bars in its key: in the core stream, and `studio jam
--primer` into the JACK receiver (the fixture of test_playback_live)."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import EXAMPLE_ABC, REPO
from test_playback_live import JACK_BACKEND, jack_server, receiver  # noqa: F401 (fixtures)

from conftest import REAL_DEVICE

pytestmark = REAL_DEVICE  # one JACK server / PulseAudio daemon: run in one process (scripts/test.sh)


@pytest.fixture(scope="module")
def folk():
    from studio.nn import find_model, load_model

    return load_model(find_model("folk"), "cpu")


def test_a_folk_jam_plays_tune_after_tune_each_to_its_end(folk):
    import music21

    from studio.generation import Settings
    from studio.generation.endless import EndlessGeneration

    stream = EndlessGeneration(folk, Settings(seed=2, meter="6/8", mode="maj"), ahead=1000.0).start()
    began = time.monotonic()
    while stream.tokens().tolist().count(stream.eos) < 2 and time.monotonic() - began < 120:
        time.sleep(0.2)
    stream.stop()
    ids = stream.tokens()
    ends = np.flatnonzero(ids == stream.eos)
    assert len(ends) >= 2, "two tunes finished"
    codec = stream.generation.codec
    first = np.concatenate([stream.header, ids[:ends[0]]])
    second = ids[ends[0] + 1:ends[1]]
    assert [codec.vocab[i] for i in second[:2]] == ["M:6/8", "K:Cmaj"]  # the meter and mode asked for, again
    assert not np.array_equal(first[2:20], second[2:20])  # a new tune, not the first again
    piece = stream.piece()
    tunes = len(ends) + 1  # the finished tunes and the one in progress (how many depends on the machine's speed)
    assert piece.meta["tunes"] == tunes and len(piece.time_signatures) == tunes
    # Where the second tune begins: after the whole first tune, repeats played (music21 expands them
    # independently of our decoder), and one bar of rest (6/8 at 120 quarter notes a minute: 1.5 s).
    score = music21.converter.parse(codec.decode_abc(first), format="abc").expandRepeats()
    first_tune = score.flatten().notesAndRests
    sounding = max(float(n.offset + n.quarterLength) for n in first_tune) * 0.5
    bar = 1.5
    second_begins = float(piece.time_signatures["time"][1])
    assert second_begins == pytest.approx(np.ceil(sounding / bar - 1e-6) * bar + bar, abs=0.01)
    later = piece.notes[piece.notes["start"] >= second_begins - 1e-6]
    earlier = piece.notes[piece.notes["start"] < second_begins - 1e-6]
    assert earlier["end"].max() <= second_begins - bar + 1e-6 and later["start"].min() >= second_begins - 1e-6


def test_cli_folk_jam_starts_from_the_primer_tune_in_its_key(receiver, tmp_path):
    import pretty_midi

    from studio.commands.files import read_one_piece

    primer = read_one_piece(str(EXAMPLE_ABC))
    out = tmp_path / "jam.mid"
    done = subprocess.run([sys.executable, "-m", "studio", "jam", "--model", "folk", "--port", receiver.client,
                           "--primer", str(EXAMPLE_ABC), "--seconds", "4", "--record", str(out)],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path,
                          env={**__import__("os").environ, "MIDO_BACKEND": JACK_BACKEND, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    heard = sorted(pretty_midi.PrettyMIDI(str(out)).instruments[0].notes, key=lambda n: (n.start, n.pitch))
    assert len(heard) >= 4
    want = np.sort(primer.notes, order=["start", "pitch"])
    n = len(heard)
    assert [x.pitch for x in heard] == want["pitch"][:n].tolist()  # its first bars, in its own key
    assert [round(x.start, 3) for x in heard] == pytest.approx(want["start"][:n] - want["start"][0], abs=0.01)


def test_the_jam_panel_starts_a_folk_jam_from_the_current_tune(qtbot, monkeypatch, receiver):
    from studio.app.mainwindow import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    monkeypatch.setattr(window, "show_error", lambda m, *a: pytest.fail(m))
    monkeypatch.setattr(window, "ask", lambda *a, **k: True)  # closing asks nothing modal in a test
    try:
        assert window.files.open_path(str(EXAMPLE_ABC)) >= 1
        tune = window.modeledit.primer("Current piece")
        panel = window.jam_panel
        panel.in_child_process = False  # a thread here: starts in a blink (the CLI test covers the child process)
        panel.model.setCurrentIndex(panel.model.findText("folk (shipped)"))
        panel.primer.setCurrentText("Current piece")
        window.playing.choose_output(f"port:{receiver.client}")
        panel.start()
        qtbot.waitUntil(lambda: panel.running, timeout=60000)
        qtbot.waitUntil(lambda: len(receiver.note_ons()) >= 6, timeout=60000)
        panel.stop()
        got = sorted(receiver.note_ons())
        want = np.sort(tune.notes, order=["start", "pitch"])
        assert [p for _, _, p in got[:6]] == want["pitch"][:6].tolist()  # the tune's first bars, in its key
    finally:
        window.jam_panel.shutdown()
        window.transport.close()
