"""MusicXML <-> Piece through music21 (scores in, notated scores out)."""
from __future__ import annotations

import tempfile
import warnings as pywarnings
from pathlib import Path

from ..errors import UnreadableFile, UnsupportedContent
from .piece import Piece


def read_musicxml(path: str | Path) -> Piece:
    import music21

    path = Path(path)
    if path.is_dir():
        raise UnreadableFile(path, None, "is a directory, not a file")
    if not path.exists():
        raise UnreadableFile(path, None, "no such file")
    if path.stat().st_size == 0:
        raise UnreadableFile(path, "byte 0", "empty file (0 bytes)")
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            score = music21.converter.parse(str(path), format="musicxml")
    except Exception as exc:
        raise UnreadableFile(path, None, f"not readable as MusicXML ({str(exc).strip()[:200] or type(exc).__name__})") from None
    from .abc_io import stream_to_piece

    try:
        piece = stream_to_piece(score, source=str(path))
    except Exception as exc:  # music21 objects we cannot turn into notes: say so, never a traceback
        raise UnsupportedContent(path, None, f"cannot turn the score into notes ({str(exc).strip()[:200] or type(exc).__name__})") from None
    piece.title = piece.title or path.stem
    return piece


def write_musicxml(piece: Piece, path: str | Path) -> None:
    """Notate the piece: music21 quantizes the MIDI rendering to beats and writes MusicXML (atomically)."""
    import music21

    from ..atomic import write_bytes

    if len(piece.notes) == 0:
        raise UnsupportedContent(None, None, "cannot write MusicXML for a piece with no notes")
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "piece.mid"
        piece.write_midi(mid)
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            score = music21.converter.parse(str(mid), format="midi", quantizePost=True)
            if piece.key is not None:
                _set_key(score, piece.key)
            if piece.title:
                score.insert(0, music21.metadata.Metadata())
                score.metadata.title = piece.title
            out = Path(tmp) / "piece.musicxml"
            score.write("musicxml", fp=str(out))
        write_bytes(path, out.read_bytes())


def _set_key(score, key) -> None:
    """Notate the piece's own key (a MIDI file can only say major/minor; the Piece may know the mode)."""
    import music21

    try:
        k = music21.key.Key(key.tonic.replace("b", "-") if len(key.tonic) > 1 else key.tonic, key.mode)
    except Exception:
        return
    for part in score.parts:
        for old in list(part.recurse().getElementsByClass(music21.key.KeySignature)):
            old.activeSite.remove(old)
        first = part.getElementsByClass(music21.stream.Measure).first()
        (first or part).insert(0, k if first is None else music21.key.Key(k.tonic, k.mode))
