"""Piano-roll speed: time to open a 20,000-note piece in the roll, and per-frame redraw time while
scrolling and zooming (the whole editor repainted: roll, keyboard, ruler, velocity lane).

Goals (issue 7): open < 1 s; scroll/zoom frames < 16 ms. Uses the shared Maestro performances when present
(concatenated to 20,000 notes), else a synthetic piece of the same density.

    QT_QPA_PLATFORM=offscreen python bench/pianoroll.py [--notes 20000]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from studio.music.piece import Piece, make_notes  # noqa: E402

SHARED = Path(os.environ.get("STUDIO_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
MAESTRO = sorted((SHARED / "corpora" / "maestro-samples").glob("*.mid")) or \
    sorted(Path("/work/shared/corpora/maestro-samples").glob("*.mid"))


def big_piece(n: int) -> tuple[Piece, str]:
    if MAESTRO:
        parts, offset = [], 0.0
        while sum(len(p) for p in parts) < n:
            for path in MAESTRO:
                p = Piece.read(path)
                notes = p.notes.copy()
                notes["start"] += offset
                notes["end"] += offset
                parts.append(notes)
                offset += p.duration + 1.0
        notes = np.concatenate(parts)[:n]
        return Piece(notes=notes), f"Maestro performances concatenated ({len(MAESTRO)} files)"
    rng = np.random.default_rng(0)
    start = np.sort(rng.uniform(0, n / 12.0, n))  # ~12 notes/s, a dense piano performance
    return (Piece(notes=make_notes(rng.integers(21, 109, n), start, start + rng.uniform(0.05, 1.5, n),
                                   velocity=rng.integers(20, 120, n))), "synthetic, 12 notes/s")


def frame_stats(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return (f"median {statistics.median(ms):6.2f} ms  p95 {ms[int(len(ms) * 0.95) - 1]:6.2f} ms  "
            f"max {ms[-1]:6.2f} ms  ({len(ms)} frames)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--notes", type=int, default=20000)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    from studio.app.document import PieceDocument
    from studio.app.pianoroll import PianoRoll

    piece, what = big_piece(args.notes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.mid"
        piece.write_midi(path)
        t0 = time.perf_counter()
        piece = Piece.read(path)
        t_read = time.perf_counter() - t0
    print(f"piece: {len(piece.notes)} notes, {piece.duration:.0f} s ({what})")

    t0 = time.perf_counter()
    roll = PianoRoll(PieceDocument(piece))
    roll.resize(1600, 900)
    roll.show()
    app.processEvents()
    roll.repaint()
    t_open = time.perf_counter() - t0
    print(f"read MIDI file:                 {t_read * 1000:7.1f} ms")
    print(f"open in roll (build + 1st paint): {t_open * 1000:5.1f} ms   goal < 1000 ms")

    view = roll.view
    bar = view.horizontalScrollBar()

    def scroll_frames(step_px: int, frames: int = 120, full: bool = True) -> list[float]:
        """full: repaint the whole editor each frame (worst case); else let Qt scroll and paint the exposed strip."""
        out = []
        for _ in range(frames):
            t = time.perf_counter()
            bar.setValue(bar.value() + step_px if bar.value() + step_px < bar.maximum() else 0)
            roll.repaint() if full else app.processEvents()
            out.append(time.perf_counter() - t)
        return out

    for label, zoom in (("default zoom (100 px/s)", 1.0), ("zoomed in (400 px/s)", 4.0),
                        ("zoomed out (10 px/s, ~150 s visible)", 0.1)):
        view.sx = zoom
        view._apply_zoom()
        bar.setValue(int(bar.maximum() * 0.3))
        app.processEvents()
        print(f"scroll, {label:38s} full repaint {frame_stats(scroll_frames(40))}")
        print(f"{'':46s} as Qt paints  {frame_stats(scroll_frames(40, full=False))}")

    view.zoom_to_fit()
    app.processEvents()
    roll.repaint()
    zoom_times = []
    for k in range(60):  # Ctrl+wheel steps in and back out, anchored at the viewport centre
        t = time.perf_counter()
        view.zoom_time(1.25 if k < 30 else 0.8)
        roll.repaint()
        zoom_times.append(time.perf_counter() - t)
    print(f"zoom (whole piece -> 800x and back)             full repaint {frame_stats(zoom_times)}")
    t = time.perf_counter()
    view.zoom_to_fit()
    roll.repaint()
    print(f"whole piece in view (all {len(piece.notes)} notes drawn): {(time.perf_counter() - t) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
