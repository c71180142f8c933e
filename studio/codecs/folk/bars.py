"""Where a folk tune's written bars fall in the music as it plays: folk models count bars as written in the
tune (a pickup is bar 1; a repeated part is not counted twice), so played times are mapped through
music21's reading of the tune's ABC, whose measures keep their written numbers when repeats are expanded."""
from __future__ import annotations

import numpy as np

from ...music import Piece


def written_bars(piece: Piece) -> tuple[np.ndarray, np.ndarray] | None:
    """(start in beats, written bar number from 1) of every bar as the piece plays, repeats expanded; None
    when the piece has no ABC text music21 can read."""
    from ...music.abc_io import _has_repeats, _no_beaming

    abc = piece.meta.get("abc", "")
    try:
        import music21

        with _no_beaming():
            score = music21.converter.parseData(abc if abc.lstrip().startswith("X:") else "X:1\n" + abc, format="abc")
        if _has_repeats(score):
            score = score.expandRepeats()
        part = score.parts[0] if hasattr(score, "parts") and len(score.parts) else score
        measures = [(float(m.offset), int(m.number)) for m in part.getElementsByClass(music21.stream.Measure)]
    except Exception:  # no ABC, or ABC music21 cannot read
        measures = []
    if not measures:
        return None
    first = measures[0][1]
    return np.array([m[0] for m in measures]), np.array([m[1] - first + 1 for m in measures])
