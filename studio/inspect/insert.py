"""Put one of the model's predictions into a piece: "what would the model play here?", then the user's pick.
How the token acts on the piece is the codec's (`Codec.insert_token`): folk tunes take it into their token
stream and are decoded again; performances apply the event to the notes at the token's time.
"""
from __future__ import annotations

from ..errors import InvalidArgument
from ..music.piece import Piece


def describe(codec, token_id: int) -> str:
    """A musician's name for a token ("note C4 on", "wait 120 ms", "velocity 77", "| bar")."""
    return codec.describe(token_id)


def insert_prediction(ins, piece: Piece, index: int, token_id: int) -> Piece:
    """A new piece: `piece` with token `token_id` played at token place `index` of inspection `ins`."""
    if not 0 <= index <= len(ins.run.ids):
        raise InvalidArgument(f"no token place {index} in this piece")
    return ins.codec.insert_token(piece, ins.run.ids, ins.time_of, index, int(token_id))
