"""The music data model (Piece) and file I/O: MIDI through symusic/mido, ABC and MusicXML through music21."""
from .piece import NOTE_DTYPE, PEDAL_DTYPE, KeySignature, Piece, make_notes

__all__ = ["Piece", "KeySignature", "NOTE_DTYPE", "PEDAL_DTYPE", "make_notes"]
