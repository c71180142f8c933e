"""Playback figures: live MIDI timing against a real receiver, and offline render speed.

1. Timing: a 1,000-note piece (block chords and fast runs) goes from the MidiPlayer's scheduler thread to
   a JACK MIDI input port (JACK's dummy driver: no sound card needed) in a separate process that stamps
   each arrival with the monotonic clock. A busy thread in the playing process stands in for a loaded GUI
   thread. Reports median / p99 / max of |arrival - schedule| for the note-ons, and the same for the
   moment the scheduler handed each message to the port (what our code controls; the rest is JACK's
   period, 128 frames at 48 kHz = 2.7 ms by default).
2. Render: a 5-minute piano piece (Maestro_1 from the shared samples, else a generated one) to PCM,
   in times faster than real time.

    python bench/playback_timing.py [--period 128] [--no-busy] [--no-realtime] [--skip-render] [--skip-timing]

The scheduler thread asks for real-time round-robin priority (as audio software does); the bench's JACK
server and receiver do too, so a busy machine measures our scheduling rather than its own starvation.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from jack_receiver import JackReceiver, StampedPort  # noqa: E402

from studio.music import Piece, make_notes  # noqa: E402
from studio.playback.midi_player import MidiPlayer  # noqa: E402
from studio.playback.render import SAMPLE_RATE, render_piece  # noqa: E402

SHARED = Path(os.environ.get("STUDIO_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))


def pair(arrived: np.ndarray, arrived_pitch: np.ndarray, piece: Piece, t0: float) -> np.ndarray:
    """|arrival - schedule| in ms for each note-on that arrived, paired with the nearest scheduled
    note-on of the same pitch (a message lost on the way does not shift the others)."""
    notes = piece.notes
    errors = []
    for p in np.unique(arrived_pitch):
        sched = np.sort(notes["start"][notes["pitch"] == p]) + t0
        got = arrived[arrived_pitch == p]
        idx = np.clip(np.searchsorted(sched, got), 1, len(sched) - 1) if len(sched) > 1 else np.zeros(len(got), int)
        nearest = np.where(np.abs(got - sched[idx - 1]) < np.abs(got - sched[idx]), sched[idx - 1], sched[idx]) \
            if len(sched) > 1 else sched[idx]
        errors.append(np.abs(got - nearest))
    return np.concatenate(errors) * 1000


def test_piece(n_notes: int = 1000) -> Piece:
    """Block chords every 250 ms alternating with fast runs (25 ms apart), 1,000 notes in all."""
    pitch, start, end = [], [], []
    t = 0.5
    while len(pitch) < n_notes:
        for root in (48, 53, 55, 50, 52):  # a bar of 4-note chords
            for p in (root, root + 7, root + 12, root + 16):
                pitch.append(p), start.append(t), end.append(t + 0.22)
            t += 0.25
        for i in range(32):  # a fast run up and down
            pitch.append(60 + (i if i < 16 else 32 - i)), start.append(t), end.append(t + 0.03)
            t += 0.025
    return Piece(notes=make_notes(pitch[:n_notes], start[:n_notes], end[:n_notes], velocity=80))


def busy(stop: threading.Event) -> None:
    """A GUI thread under load: pure Python work that holds the GIL whenever it can."""
    while not stop.is_set():
        sum(i * i for i in range(2000))


def timing(period: int, with_busy: bool, realtime: bool) -> None:
    import mido

    with JackReceiver("timing", period, realtime) as rx:
        port = StampedPort(mido.open_output(rx.port))
        time.sleep(0.2)
        piece = test_piece()
        ended = threading.Event()
        player = MidiPlayer(port, piece, on_state=lambda s: s == "ended" and ended.set())
        busy_stop = threading.Event()
        worker = threading.Thread(target=busy, args=(busy_stop,), daemon=True)
        if with_busy:
            worker.start()
            time.sleep(0.2)
        player.play()
        t0 = player._anchor_wall  # the scheduler's time zero (wall clock of piece time 0)
        ended.wait(piece.duration + 10)
        busy_stop.set()
        time.sleep(0.2)
        got = rx.collect()
        player.close()
    sent = port.sent

    def note_ons(messages):
        ons = [(t, m[1]) for t, m in messages if m[0] & 0xF0 == 0x90 and m[2] > 0]
        return np.array([t for t, _ in ons]), np.array([p for _, p in ons])

    offs_got = sum(1 for _, m in got if m[0] & 0xF0 == 0x80)
    print(f"live MIDI timing: {len(piece.notes)} notes over {piece.duration:.1f} s, JACK dummy period "
          f"{period} frames ({period / 48:.2f} ms), {'realtime' if realtime else 'no-realtime'}, "
          f"busy GUI-like thread: {'yes' if with_busy else 'no'}, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"  received {len(note_ons(got)[0])} note-ons and {offs_got} note-offs of {len(piece.notes)} "
          "(a shortfall is JACK dropping a cycle on an overloaded machine: xruns)")
    for label, messages in (("handed to the port", sent), ("arrived at the receiver", got)):
        err = pair(*note_ons(messages), piece, t0)
        print(f"  {label:24s} error ms: median {np.median(err):.3f}  p99 {np.percentile(err, 99):.3f}  "
              f"max {err.max():.3f}")


def render_speed() -> None:
    maestro = SHARED / "corpora" / "maestro-samples" / "Maestro_1.mid"
    if maestro.exists():
        piece, name = Piece.read(maestro), maestro.name
    else:  # a generated 5-minute piano piece: arpeggiated chords, 8 notes a second
        rng = np.random.default_rng(0)
        n = 2400
        start = np.arange(n) * 0.125
        pitch = 48 + rng.integers(0, 36, n)
        piece, name = Piece(notes=make_notes(pitch, start, start + 0.4, velocity=rng.integers(40, 110, n))), "generated"
    t = time.perf_counter()
    frames = render_piece(piece)
    dt = time.perf_counter() - t
    seconds = len(frames) / SAMPLE_RATE
    print(f"offline render: {name}, {len(piece.notes)} notes, {seconds:.1f} s of audio in {dt:.2f} s = "
          f"{seconds / dt:.0f}x real time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--period", type=int, default=128, help="JACK period in frames (default 128)")
    ap.add_argument("--no-busy", action="store_true", help="no busy thread")
    ap.add_argument("--no-realtime", action="store_true",
                    help="run jackd without realtime priority (as the tests do); the receiver then starves too")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--skip-render", action="store_true")
    args = ap.parse_args()
    if not args.skip_timing:
        timing(args.period, not args.no_busy, not args.no_realtime)
    if not args.skip_render:
        render_speed()


if __name__ == "__main__":
    main()
