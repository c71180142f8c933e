"""The built-in synth's player, checked frame by frame on an output that keeps every frame it is handed:
PulseAudio's monitor (tests/test_playback_audio.py, test_jam_synth.py) misses a new stream's first moments,
so what reaches the device at the start of playback is checked here."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.music import Piece
from studio.music.piece import make_notes
from studio.playback import synth_player
from studio.playback.render import SAMPLE_RATE, render_piece

SECONDS = 1.5


class KeepingOutput:
    """Takes blocks at once (as a device with a long buffer does at the start) and keeps them in order."""

    def __init__(self):
        self.blocks: list[np.ndarray] = []
        self.enough = threading.Event()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def write(self, data: bytes) -> None:
        self.blocks.append(np.frombuffer(data, dtype=np.float32).reshape(-1, 2).copy())
        if sum(len(b) for b in self.blocks) >= SECONDS * SAMPLE_RATE:
            self.enough.set()

    def get_latency(self) -> int:
        return 0

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def output(monkeypatch):
    outputs: list[KeepingOutput] = []

    def open_output(device=None):
        outputs.append(KeepingOutput())
        return outputs[-1]

    monkeypatch.setattr(synth_player, "open_output", open_output)
    return outputs


def opening_chord() -> Piece:
    """A chord on the very first frame, then a run: nothing to hide a late start behind."""
    pitch = [48, 60, 64, 67, 69, 71, 72]
    start = [0.0, 0.0, 0.0, 0.3, 0.6, 0.9, 1.2]
    return Piece(notes=make_notes(pitch, start, [1.4] * 7, velocity=90))


@pytest.mark.parametrize("open_ended", [False, True], ids=["a piece", "a live stream"])
def test_a_piece_handed_over_just_before_play_is_heard_from_its_first_frame(output, open_ended):
    """Before: the renderer had drawn the first segment from the empty piece the player was made with, and
    that stale silence went to the device, which takes seconds at once: a jam lost its first second."""
    piece = opening_chord()
    player = synth_player.SynthPlayer(device="keeping")
    try:
        player.open_ended = open_ended
        player.set_piece(piece)
        player.play()
        assert output[-1].enough.wait(30)
    finally:
        player.close()
    handed = np.concatenate(output[-1].blocks)[: int(SECONDS * SAMPLE_RATE)]
    want = render_piece(piece)[: len(handed)]
    first = slice(0, SAMPLE_RATE // 20)  # the first 50 ms: the opening chord
    assert np.abs(handed[first]).max() > 0.5 * np.abs(want[first]).max() > 0
    assert np.abs(handed - want).max() < 1e-3  # the same music, frame for frame
