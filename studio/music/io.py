"""Read and write by file extension: the one place that knows which formats exist."""
from __future__ import annotations

from pathlib import Path

from ..errors import UnreadableFile, UnsupportedContent
from .piece import Piece

MIDI_EXTENSIONS = (".mid", ".midi", ".smf", ".kar")
ABC_EXTENSIONS = (".abc",)
MUSICXML_EXTENSIONS = (".musicxml", ".xml", ".mxl")
READABLE = MIDI_EXTENSIONS + ABC_EXTENSIONS + MUSICXML_EXTENSIONS
WRITABLE = (".mid", ".midi", ".musicxml", ".xml")


def kind_of(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    if ext in MIDI_EXTENSIONS:
        return "midi"
    if ext in ABC_EXTENSIONS:
        return "abc"
    if ext in MUSICXML_EXTENSIONS:
        return "musicxml"
    return ""


def read_pieces(path: str | Path) -> list[Piece]:
    """Every piece in a file (one per tune for an ABC book)."""
    path = Path(path)
    kind = kind_of(path)
    if kind == "midi":
        from .midi_io import read_midi

        return [read_midi(path)]
    if kind == "abc":
        from .abc_io import read_abc

        return read_abc(path)
    if kind == "musicxml":
        from .musicxml_io import read_musicxml

        return [read_musicxml(path)]
    if path.is_dir():
        raise UnreadableFile(path, None, "is a directory, not a file")
    raise UnsupportedContent(path, None, f"unknown file type {path.suffix or '(no extension)'}; "
                                         f"readable: {', '.join(READABLE)}")


def write_piece(piece: Piece, path: str | Path) -> None:
    path = Path(path)
    ext = path.suffix.lower()
    if ext in (".mid", ".midi"):
        piece.write_midi(path)
    elif ext in (".musicxml", ".xml"):
        from .musicxml_io import write_musicxml

        write_musicxml(piece, path)
    else:
        raise UnsupportedContent(path, None, f"cannot write {ext or '(no extension)'} files; "
                                             f"writable: {', '.join(WRITABLE)}")
