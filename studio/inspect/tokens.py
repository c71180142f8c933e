"""Where each token of a piece sits in the music: its time, the note(s) it helps make, the text it came
from, and the musical facts around it (bar position, pitch, notes sounding ...) that "find cells"
correlates units with. Each codec builds its own map (`Codec.token_map`, in the codec's folder).
"""
from __future__ import annotations

from ..codecs.tokenmap import FEATURES, TokenMap


def token_map(codec, ids, piece=None, abc: str | None = None) -> TokenMap:
    """The map for any codec that has one; `abc` is the piece's text form (default: what the piece carries)."""
    return codec.token_map(ids, piece, abc)


__all__ = ["FEATURES", "TokenMap", "token_map"]
