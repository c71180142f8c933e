"""Sound from the built-in SoundFont synth: offline WAV render, and real playback into PulseAudio's null
sink, recorded back from its monitor."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time
import wave

import numpy as np
import pytest

from conftest import EXAMPLE_ABC, run_studio
from studio.errors import UnreadableFile
from studio.music import Piece, make_notes
from studio.playback import PLAYING, STOPPED, Player, render_wav
from studio.playback.render import RELEASE_SECONDS, SAMPLE_RATE

from conftest import REAL_DEVICE

pytestmark = REAL_DEVICE  # one JACK server / PulseAudio daemon: run in one process (scripts/test.sh)

RATE = SAMPLE_RATE


def melody() -> Piece:
    """Two seconds of a C major arpeggio starting half a second in, with a final chord."""
    pitch = [60, 64, 67, 72, 60, 64, 67]
    start = [0.5, 0.75, 1.0, 1.25, 1.5, 1.5, 1.5]
    end = [0.75, 1.0, 1.25, 1.5, 2.5, 2.5, 2.5]
    return Piece(notes=make_notes(pitch, start, end, velocity=100))


def read_wav(path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2).astype(np.float32) / 32768


def test_wav_render_has_the_right_length_and_is_audible_and_unclipped(tmp_path):
    out = tmp_path / "melody.wav"
    assert render_wav(melody(), out)
    frames = read_wav(out)
    assert abs(len(frames) - (2.5 + RELEASE_SECONDS) * RATE) < 0.01 * RATE
    lead_in, notes = frames[: int(0.45 * RATE)], frames[int(0.5 * RATE): int(2.5 * RATE)]
    assert np.abs(lead_in).max() < 1e-3  # silence before the first note is kept
    assert np.sqrt(np.mean(notes ** 2)) > 0.01  # audible
    assert np.abs(frames).max() < 0.99  # not clipped


def test_render_can_be_stopped_and_reports_progress(tmp_path):
    out = tmp_path / "never.wav"
    stop = threading.Event()
    stop.set()
    assert render_wav(melody(), out, stop=stop) is False and not out.exists()
    seen = []
    long = melody().with_notes(np.concatenate([melody().shift(t).notes for t in (0, 20, 40)]))
    assert render_wav(long, out, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_convert_renders_midi_and_abc_to_wav(tmp_path):
    mid = tmp_path / "melody.mid"
    melody().write_midi(mid)
    done = run_studio("convert", mid, tmp_path / "melody.wav")
    assert done.returncode == 0, done.stderr
    assert abs(len(read_wav(tmp_path / "melody.wav")) - 4.0 * RATE) < 0.02 * RATE
    done = run_studio("convert", EXAMPLE_ABC, tmp_path / "tune.wav", "--tune", "1")
    assert done.returncode == 0, done.stderr
    tune = read_wav(tmp_path / "tune.wav")
    assert len(tune) > 10 * RATE and np.sqrt(np.mean(tune ** 2)) > 0.01


def test_a_file_that_is_not_a_soundfont_is_refused_clearly(tmp_path):
    fake = tmp_path / "piano.sf2"
    fake.write_bytes(b"not a soundfont at all")
    with pytest.raises(UnreadableFile, match="not a SoundFont 2 file"):
        render_wav(melody(), tmp_path / "x.wav", soundfont=fake)
    mid = tmp_path / "melody.mid"
    melody().write_midi(mid)
    done = run_studio("convert", mid, tmp_path / "x.wav", "--soundfont", fake)
    assert done.returncode == 2 and "piano.sf2: header: not a SoundFont 2 file" in done.stderr
    assert "Traceback" not in done.stderr


def test_play_without_an_audio_device_says_so(tmp_path):
    # No sound server reachable and no sound card here: a clear message, not a crash.
    env = {"PULSE_SERVER": f"unix:{tmp_path}/no-such-server"}
    done = run_studio("play", EXAMPLE_ABC, "--tune", "1", env=env, timeout=60)
    assert "Traceback" not in done.stderr
    if done.returncode != 0:  # a machine with a real sound card plays instead
        assert done.returncode == 2
        assert "no audio output device" in done.stderr or "PulseAudio client library" in done.stderr


@pytest.fixture(scope="module")
def null_sink():
    """A PulseAudio server whose only output is a null sink; what is played there is recorded from its
    monitor with parec."""
    if not (shutil.which("pulseaudio") and shutil.which("parec")):
        pytest.skip("PulseAudio not installed (Debian: apt-get install pulseaudio pulseaudio-utils)")
    started = subprocess.run(["pulseaudio", "-D", "--exit-idle-time=-1", "-n",
                              "--load=module-null-sink sink_name=test_null",
                              "--load=module-native-protocol-unix"], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.skip(f"PulseAudio did not start: {started.stderr.strip()[-200:]}")
    yield "test_null"
    subprocess.run(["pulseaudio", "-k"], capture_output=True)


def test_builtin_synth_plays_into_the_system_audio_output(null_sink, tmp_path):
    raw = tmp_path / "played.raw"
    with open(raw, "wb") as f:
        rec = subprocess.Popen(["parec", "-d", f"{null_sink}.monitor", "--format=s16le", f"--rate={RATE}",
                                "--channels=2", "--raw"], stdout=f)
        time.sleep(0.3)
        states = []
        with Player(melody(), on_state=states.append) as player:
            player.use_builtin(device=null_sink)
            assert player.output == f"built-in synth ({null_sink})"
            player.play()
            time.sleep(1.2)
            assert player.state == PLAYING and 0.7 < player.position < 1.6
            player.set_loop(0.5, 1.0)  # behind the playhead: no wrap until it is reached again
            time.sleep(0.3)
            assert player.position > 1.0
            player.seek(0.6)
            time.sleep(0.8)
            assert 0.5 <= player.position < 1.0  # looping
            player.set_piece(melody().transpose(5))  # an edit while looping
            time.sleep(0.6)
            assert 0.5 <= player.position < 1.0 and player.state == PLAYING
            player.stop()
            assert player.state == STOPPED and player.position == 0.0
        time.sleep(0.3)
        rec.terminate()
        rec.wait(timeout=5)
    heard = np.frombuffer(raw.read_bytes(), dtype="<i2").astype(np.float32) / 32768
    assert len(heard) > RATE  # over a second recorded
    assert np.sqrt(np.mean(heard ** 2)) > 0.005  # and it was not silence


def test_wav_exports_are_peak_normalised_unless_asked_not_to(tmp_path, capsys):
    """A piece rendered as `studio convert` does: the loudest sample at -1 dBFS by default (the synth alone
    leaves it far quieter), the synth's own level with --no-normalize."""
    from studio.cli import main

    source = tmp_path / "melody.mid"
    soft = melody()
    soft.notes["velocity"] = 40  # a quiet piece, as generated folk tunes come out of the synth
    soft.write_midi(source)
    loud, quiet = tmp_path / "tune.wav", tmp_path / "quiet.wav"
    assert main(["convert", str(source), str(loud)]) == 0
    assert main(["convert", str(source), str(quiet), "--no-normalize"]) == 0
    peak = lambda path: 20 * np.log10(np.abs(read_wav(path)).max())  # noqa: E731
    assert peak(loud) == pytest.approx(-1.0, abs=0.05)
    assert peak(quiet) < -6.0
    assert len(read_wav(loud)) == len(read_wav(quiet))
    capsys.readouterr()
    assert main(["convert", str(source), str(tmp_path / "x.wav"), "--normalize", "3"]) == 2
    assert "--normalize is a peak level at or below 0 dBFS" in capsys.readouterr().err
