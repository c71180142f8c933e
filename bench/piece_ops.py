"""How cheap the array-backed Piece is: copy, slice, transpose and stretch a 20,000-note piece.

    python bench/piece_ops.py
"""
import time

import numpy as np

from studio.music import Piece, make_notes


def main() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    start = np.sort(rng.uniform(0, 1200, n))
    piece = Piece(notes=make_notes(rng.integers(21, 108, n), start, start + rng.uniform(0.05, 2, n), rng.integers(1, 127, n)))
    for name, op in [
        ("copy", lambda: piece.copy()),
        ("slice 60 s", lambda: piece.slice(300, 360)),
        ("transpose +3", lambda: piece.transpose(3)),
        ("stretch 1.05", lambda: piece.stretch(1.05)),
        ("seconds_to_beats (all onsets)", lambda: piece.seconds_to_beats(piece.notes["start"])),
    ]:
        reps = 200
        t = time.perf_counter()
        for _ in range(reps):
            op()
        print(f"{name:32s} {1e3 * (time.perf_counter() - t) / reps:8.3f} ms  ({n} notes)")


if __name__ == "__main__":
    main()
