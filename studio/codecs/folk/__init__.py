"""The folk codec: ABC tunes <-> folk-rnn v2 tokens (lexer, melody operations, decoder, renderer)."""
from .codec import FolkCodec, piece_to_abc
from .lexer import TuneSkip

__all__ = ["FolkCodec", "piece_to_abc", "TuneSkip"]
