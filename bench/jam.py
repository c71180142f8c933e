"""Jam figures: a headless jam from the shipped performance model into a real MIDI receiver (JACK's dummy
driver; the receiver is a separate process stamping each arrival, as in bench/playback_timing.py).

Reports the notes received, the longest silence (no note sounding at the receiver), notes left sounding
after the stop, onset timing (|arrival - schedule| of each note-on), and for a settings change made
mid-jam (temperature) how far into the music the first note sampled with it lies: the delay before a
change is heard.

    python bench/jam.py [--seconds 20] [--change-at 10] [--temperature 0.5] [--ahead 1.5] [--period 128]

Targets (issue 17): at least 60 notes in 20 s, no silence over 3 s, nothing sounding at the end;
onset timing median < 1 ms, p99 < 5 ms.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from jack_receiver import JackReceiver, StampedPort  # noqa: E402
from playback_timing import pair  # noqa: E402


def silences(messages) -> tuple[float, set]:
    """(longest stretch with no note sounding between the first note-on and the last note-off, notes still
    sounding at the end) from the receiver's stamped messages."""
    sounding: set[tuple[int, int]] = set()
    longest, quiet_since = 0.0, None
    for t, m in messages:
        kind, key = m[0] & 0xF0, (m[0] & 15, m[1] if len(m) > 1 else None)
        if kind == 0x90 and m[2] > 0:
            if not sounding and quiet_since is not None:
                longest = max(longest, t - quiet_since)
            sounding.add(key)
        elif kind in (0x80, 0x90):
            sounding.discard(key)
            if not sounding:
                quiet_since = t
    return longest, sounding


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--change-at", type=float, default=10.0, help="jam time of the temperature change")
    ap.add_argument("--temperature", type=float, default=0.5, help="temperature after the change (from 1.0)")
    ap.add_argument("--ahead", type=float, default=None, help="seconds sampled ahead (default: the jam's own)")
    ap.add_argument("--period", type=int, default=128, help="JACK period in frames (default 128)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--thread", action="store_true", help="sample in a thread of the playing process (as "
                    "before: the sampler then shares the interpreter lock with the MIDI scheduler)")
    ap.add_argument("--no-realtime", action="store_true", help="run jackd without realtime priority")
    args = ap.parse_args()

    from studio.generation import Settings
    from studio.generation.endless import EndlessGeneration
    from studio.generation.endless_process import EndlessProcess
    from studio.generation.jam import Jam
    from studio.nn import find_model, load_model
    from studio.playback import Player

    with JackReceiver("jambench", args.period, realtime=not args.no_realtime) as rx:
        model = load_model(find_model("performance"), "cpu")
        player = Player()
        player.use_port(rx.port)
        engine = player._engine
        engine._port = port = StampedPort(engine._port)
        settings = Settings(seed=args.seed)
        stream = EndlessGeneration(model, settings) if args.thread else \
            EndlessProcess(model, find_model("performance"), settings)
        jam = Jam(stream, player, ahead=args.ahead, model_name="performance")
        t_start = time.perf_counter()
        jam.start()
        started = time.perf_counter() - t_start
        t0 = player._engine._anchor_wall - jam.offset  # wall clock of piece time 0 (the scheduler's anchor)
        changed = False
        while jam.position < args.seconds:
            if not changed and jam.position >= args.change_at:
                jam.update_settings(temperature=args.temperature)
                changed = True
            time.sleep(0.01)
        jam.stop()
        time.sleep(0.3)
        got = rx.collect()
        player.close()
    sent = port.sent

    if jam.error is not None:
        print(f"the jam failed: {jam.error}")
    heard = jam.recording()
    ons = [(t, m[1]) for t, m in got if m[0] & 0xF0 == 0x90 and m[2] > 0]
    longest, stuck = silences(got)
    played = jam.piece()
    if jam.stalls:  # the clock restarts after a stall: time only what came before the first
        first = t0 + jam.offset + jam.stalls[0]["at"]
        ons_timed = [(t, p) for t, p in ons if t < first]
        sent = [(t, m) for t, m in sent if t < first]
    else:
        ons_timed = ons
    err = pair(np.array([t for t, _ in ons_timed]), np.array([p for _, p in ons_timed]), played, t0)
    handed = [(t, m[1]) for t, m in sent if m[0] & 0xF0 == 0x90 and m[2] > 0]
    err_sent = pair(np.array([t for t, _ in handed]), np.array([p for _, p in handed]), played, t0)
    if os.environ.get("JAM_BENCH_DEBUG"):  # the worst onsets, with their times
        hs = np.array([t for t, _ in handed]) - t0
        order = np.argsort(-err_sent)[:8]
        print("worst handed:", [(round(float(hs[i]), 2), round(float(err_sent[i]), 1)) for i in order])
    gap = float(np.diff([t for t, _ in ons]).max()) if len(ons) > 1 else float("nan")
    point = jam.change_points()[0] if changed else None
    print(f"jam: performance model sampled in a {'thread' if args.thread else 'child process'}, "
          f"{jam.position:.1f} s heard, sampling {jam.ahead_seconds:g} s ahead, JACK dummy "
          f"period {args.period} frames, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  first note after {started * 1000:.0f} ms (model loaded; sampling the first second)")
    print(f"  received {len(ons)} note-ons ({len(heard.notes)} in the recording), longest silence "
          f"{longest:.2f} s (longest gap between note-ons {gap:.2f} s), left sounding after stop: {len(stuck)}   "
          "targets: >= 60 notes, silence <= 3 s, 0")
    print(f"  stalls (sampler behind; playback waited): {len(jam.stalls)} "
          + ", ".join(f"at {x['at']:.1f} s for {x['waited'] * 1000:.0f} ms" for x in jam.stalls)
          + f"; lead in the end {jam.ahead_seconds:g} s")
    for label, e in (("handed to the port", err_sent), ("arrived at the receiver", err)):
        print(f"  onset error {label:24s} ms: median {np.median(e):.3f}  p99 {np.percentile(e, 99):.3f}  "
              f"max {e.max():.3f}   targets: median < 1, p99 < 5")
    if point and point["music_from"] is not None:
        print(f"  temperature 1.0 -> {args.temperature} at {point['made_at']:.2f} s: sampled from step {point['step']}, "
              f"music from {point['music_from']:.2f} s: heard {point['music_from'] - point['made_at']:.2f} s later")


if __name__ == "__main__":
    main()
