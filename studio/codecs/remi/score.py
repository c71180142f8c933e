"""MusicXML for decoded REMI pieces, built from their bars and grid positions with music21.

The generic export (studio/music/musicxml_io.py) lets music21 re-quantize a MIDI rendering, which can leave
overfull measures where notes of different lengths overlap. A REMI piece already sits on a known grid, so
here every note goes in at its exact grid offset, each instrument is made one voice of chords (music21's
`chordify`, tying what sounds across a change), and `makeNotation` cuts measures at the piece's own time
signatures: every measure holds exactly its meter.
"""
from __future__ import annotations

import tempfile
import warnings as pywarnings
from fractions import Fraction
from pathlib import Path

import numpy as np

from ...errors import UnsupportedContent
from ...music import Piece


def write_score(piece: Piece, path: str | Path, positions_per_beat: int) -> None:
    """Write `piece` (times on a grid of `positions_per_beat` steps a quarter note) as MusicXML, atomically."""
    from ...atomic import write_bytes

    if not len(piece.notes):
        raise UnsupportedContent(None, None, "cannot write MusicXML for a piece with no notes")
    score = build_score(piece, positions_per_beat)
    with tempfile.TemporaryDirectory() as tmp, pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        out = Path(tmp) / "piece.musicxml"
        score.write("musicxml", fp=str(out))
        write_bytes(path, out.read_bytes())


def build_score(piece: Piece, positions_per_beat: int):
    """A music21 Score: one part per track, measures cut at the piece's time signatures, tempo marks."""
    import music21

    def grid(beats) -> list[Fraction]:
        steps = np.floor(np.atleast_1d(np.asarray(beats, dtype=float)) * positions_per_beat + 0.5).astype(np.int64)
        return [Fraction(int(s), positions_per_beat) for s in steps]

    sigs = list(zip(grid(piece.seconds_to_beats(piece.time_signatures["time"])),
                    piece.time_signatures["numerator"].tolist(), piece.time_signatures["denominator"].tolist()))
    if not sigs or sigs[0][0] > 0:
        sigs.insert(0, (Fraction(0), 4, 4))
    end = max(grid(piece.seconds_to_beats(piece.notes["end"])))
    bar, meter, i = Fraction(0), (sigs[0][1], sigs[0][2]), 0
    while bar < end:  # the score ends at the bar line after the last note
        while i < len(sigs) and sigs[i][0] <= bar:
            meter, i = (sigs[i][1], sigs[i][2]), i + 1
        bar += Fraction(4 * meter[0], meter[1])

    score = music21.stream.Score()
    if piece.title:
        score.insert(0, music21.metadata.Metadata(title=piece.title))
    notes = piece.notes
    for n_part, track in enumerate(sorted(set(notes["track"].tolist()))):
        mine = notes[notes["track"] == track]
        flat = music21.stream.Part()
        chords: dict[tuple[Fraction, Fraction], list[int]] = {}
        for on, off, pitch in zip(grid(piece.seconds_to_beats(mine["start"])), grid(piece.seconds_to_beats(mine["end"])),
                                  mine["pitch"].tolist()):
            chords.setdefault((on, max(off, on + Fraction(1, positions_per_beat))), []).append(int(pitch))
        for (on, off), pitches in chords.items():
            element = music21.chord.Chord(sorted(set(pitches))) if len(set(pitches)) > 1 else music21.note.Note(pitches[0])
            element.quarterLength = off - on
            flat.insert(on, element)
        part = flat.chordify()
        for old in list(part.getElementsByClass(music21.meter.TimeSignature)):
            part.remove(old)
        for at, num, den in sigs:
            part.insert(at, music21.meter.TimeSignature(f"{num}/{den}"))
        last = part.highestTime
        if last < bar:
            part.insert(last, music21.note.Rest(quarterLength=bar - last))
        if n_part == 0:
            tempo_at = grid(piece.seconds_to_beats(piece.tempos["time"]))
            for at, qpm in zip(tempo_at, piece.tempos["qpm"].tolist()):
                part.insert(at, music21.tempo.MetronomeMark(number=round(qpm)))
        part = part.makeNotation()
        drum = bool(mine["is_drum"][0])
        instrument = None if drum else _instrument(int(mine["program"][0]))
        if instrument is not None:
            part.insert(0, instrument)
        name = piece.track_names[track] if 0 <= track < len(piece.track_names) else ""
        part.partName = name or ("Drums" if drum else getattr(instrument, "instrumentName", None)
                                 or f"Program {int(mine['program'][0])}")
        score.insert(0, part)
    return score


def _instrument(program: int):
    import music21

    try:
        return music21.instrument.instrumentFromMidiProgram(program)
    except Exception:  # a program music21 has no instrument class for
        return None
