"""Put one of the model's predictions into a piece: "what would the model play here?", then the user's pick.

Folk tunes: the token goes into the tune's token stream at that place and the tune is decoded again (in
its own key), so a pitch, duration or bar line lands where the model meant it. Performances: the event
acts on the notes at the token's time (a NOTE_ON adds a note, a NOTE_OFF ends the sounding note of that
pitch, a TIME_SHIFT pushes everything later on, a VELOCITY sets the loudness of the notes up to the next
velocity change), leaving every other note exactly as it was (no re-quantising the whole recording).
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidArgument
from ..music.piece import NOTE_DTYPE, Piece

DEFAULT_NOTE_SECONDS = 0.25


def describe(codec, token_id: int) -> str:
    """A musician's name for a token ("note C4 on", "wait 120 ms", "velocity 77", "| bar")."""
    token = codec.tokens([int(token_id)])[0]
    if codec.name != "performance":
        return token
    t = int(token_id)
    if t < codec.note_off0:
        return f"note {_name(t + codec.min_pitch)} on"
    if t < codec.shift0:
        return f"note {_name(t - codec.note_off0 + codec.min_pitch)} off"
    if t < codec.velocity0:
        return f"wait {(t - codec.shift0 + 1) * 1000 // codec.steps_per_second} ms"
    if t < codec.events:
        return f"velocity {int(codec.bin_velocity(t - codec.velocity0 + 1))}"
    return token


def _name(pitch: int) -> str:
    from pretty_midi import note_number_to_name

    return note_number_to_name(pitch)  # MIDI 60 = C4, as the roll's keyboard names it


def insert_prediction(ins, piece: Piece, index: int, token_id: int) -> Piece:
    """A new piece: `piece` with token `token_id` played at token place `index` of inspection `ins`."""
    codec = ins.codec
    if not 0 <= index <= len(ins.run.ids):
        raise InvalidArgument(f"no token place {index} in this piece")
    if codec.name == "folk":
        return _folk_insert(codec, piece, ins.run.ids, index, token_id)
    return _performance_insert(codec, piece, ins, index, int(token_id))


def _folk_insert(codec, piece: Piece, ids: np.ndarray, index: int, token_id: int) -> Piece:
    from ..codecs.folk.lexer import TuneSkip, lex_tune

    key = None
    try:
        key = lex_tune(piece.meta.get("abc", "")).key.name
    except (TuneSkip, ValueError, KeyError):
        pass
    new = codec.decode(np.insert(np.asarray(ids, dtype=np.int64), index, int(token_id)), key=key, title=piece.title)
    new.source = piece.source
    for k in ("tune_number", "line"):
        if k in piece.meta:
            new.meta[k] = piece.meta[k]
    return new


def _performance_insert(codec, piece: Piece, ins, index: int, t: int) -> Piece:
    notes = piece.notes.copy()
    at = ins.time_of(index) if index < len(ins.run.ids) else ins.time_of(len(ins.run.ids))
    at = float(at or 0.0)
    eps = 1e-6
    if t < codec.note_off0:
        ids = ins.run.ids[:index]
        is_velocity = (ids >= codec.velocity0) & (ids < codec.events)
        if is_velocity.any():
            velocity = int(codec.bin_velocity(int(ids[np.flatnonzero(is_velocity)[-1]]) - codec.velocity0 + 1))
        else:
            velocity = int(codec.config.get("default_velocity", 100))
        length = float(np.median(notes["end"] - notes["start"])) if len(notes) else DEFAULT_NOTE_SECONDS
        new = np.zeros(1, dtype=NOTE_DTYPE)
        new["pitch"], new["start"], new["end"], new["velocity"] = t + codec.min_pitch, at, at + length, velocity
        notes = np.concatenate([notes, new])
    elif t < codec.shift0:
        pitch = t - codec.note_off0 + codec.min_pitch
        sounding = np.flatnonzero((notes["pitch"] == pitch) & (notes["start"] < at - eps) & (notes["end"] > at + eps))
        if not len(sounding):
            raise InvalidArgument(f"no {_name(pitch)} is sounding at {at:.2f} s to end there")
        notes["end"][sounding] = at
    elif t < codec.velocity0:
        shift = (t - codec.shift0 + 1) / codec.steps_per_second
        later = notes["start"] >= at - eps
        across = ~later & (notes["end"] > at + eps)
        notes["start"][later] += shift
        notes["end"][later | across] += shift
    elif t < codec.events:
        ids = ins.run.ids[index:]
        after = np.flatnonzero((ids >= codec.velocity0) & (ids < codec.events))
        until = ins.time_of(index + int(after[0])) if len(after) else np.inf
        until = np.inf if until is None else until
        hit = (notes["start"] >= at - eps) & (notes["start"] < until - eps)
        notes["velocity"][hit] = int(codec.bin_velocity(t - codec.velocity0 + 1))
    else:
        raise InvalidArgument(f"{codec.tokens([t])[0]} is not an event to insert")
    out = piece.copy()
    out.notes = notes[np.lexsort((notes["pitch"], notes["start"]))]
    return out
