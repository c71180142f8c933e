"""Reading MIDI into a Piece (symusic's C++ parser in ticks, our float64 tempo map) against pretty_midi.

    python bench/read_midi.py [FILES...]     # default: the shared Maestro samples
"""
import sys
from pathlib import Path

import pretty_midi

from encode_performance import best_time  # bench/ is on sys.path when a bench script runs
from studio.music import Piece

DEFAULT = sorted((Path(__file__).resolve().parents[2] / "shared" / "corpora" / "maestro-samples").glob("*.mid"))


def main() -> None:
    files = [Path(f) for f in sys.argv[1:]] or DEFAULT
    if not files:
        sys.exit("no MIDI files given and no shared Maestro samples found")
    notes = sum(len(Piece.read(f).notes) for f in files)
    ours = best_time(lambda: [Piece.read(f) for f in files], 5)
    pm = best_time(lambda: [pretty_midi.PrettyMIDI(str(f)) for f in files], 2)
    print(f"{len(files)} files, {notes} notes")
    print(f"Piece.read   {ours * 1e3:8.1f} ms  {notes / ours:12,.0f} notes/s")
    print(f"pretty_midi  {pm * 1e3:8.1f} ms  {notes / pm:12,.0f} notes/s   (Piece.read is {pm / ours:.1f}x faster)")


if __name__ == "__main__":
    main()
