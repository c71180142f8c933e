"""What inspection asks of the performance codec: where each token sits in the music (a note is its
NOTE_ON, the NOTE_OFF that ends it, matched first-in first-out per pitch as the decoder does, and the
VELOCITY token right before its NOTE_ON; times from the TIME_SHIFTs), a musician's name for a token, and a
predicted event put into the notes at the token's time (a NOTE_ON adds a note, a NOTE_OFF ends the sounding
note of that pitch, a TIME_SHIFT pushes everything later on, a VELOCITY sets the loudness of the notes up to
the next velocity change), leaving every other note exactly as it was."""
from __future__ import annotations

import numpy as np

from ..errors import InvalidArgument
from ..music.piece import NOTE_DTYPE, Piece
from .tokenmap import TokenMap, bar_features, nan_array

DEFAULT_NOTE_SECONDS = 0.25


def performance_map(codec, ids: np.ndarray, piece=None) -> TokenMap:
    ids = np.asarray(ids, dtype=np.int64)
    T = len(ids)
    is_shift = (ids >= codec.shift0) & (ids < codec.velocity0)
    steps = np.where(is_shift, ids - codec.shift0 + 1, 0)
    clock = np.cumsum(steps) - steps  # a token happens at the time before its own shift
    time = clock / codec.steps_per_second
    notes: list[dict] = []
    open_: dict[int, list[dict]] = {}
    pitch_now, sounding, since = nan_array(T), np.zeros(T), nan_array(T)
    last_pitch, last_on, count = np.nan, None, 0
    for t, tok in enumerate(ids.tolist()):
        if tok < codec.note_off0:
            pitch = tok + codec.min_pitch
            tokens = [t - 1, t] if t and codec.velocity0 <= ids[t - 1] < codec.events else [t]
            note = {"pitch": pitch, "start": float(time[t]), "end": None, "tokens": tokens}
            notes.append(note)
            open_.setdefault(pitch, []).append(note)
            last_pitch, last_on = pitch, time[t]
            count += 1
        elif tok < codec.shift0:
            queue = open_.get(tok - codec.note_off0 + codec.min_pitch)
            if queue:
                note = queue.pop(0)
                note["end"] = float(time[t])
                note["tokens"].append(t)
                count -= 1
        pitch_now[t], sounding[t] = last_pitch, count
        since[t] = time[t] - last_on if last_on is not None else np.nan
    end = float(clock[-1] + steps[-1]) / codec.steps_per_second if T else 0.0
    for note in notes:
        if note["end"] is None:
            note["end"] = min(note["start"] + float(codec.config["max_note_seconds"]), end)
    position, bar = bar_features(time, piece)
    features = {"bar position": position, "bar in part": bar, "pitch height": pitch_now,
                "notes sounding": sounding, "inside repeat": nan_array(T), "time since note": since}
    return TokenMap(time, features, notes)


def describe(codec, token_id: int) -> str:
    """A musician's name for a token ("note C4 on", "wait 120 ms", "velocity 77", "| bar")."""
    token = codec.tokens([int(token_id)])[0]
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


def insert_event(codec, piece: Piece, ids: np.ndarray, time_of, index: int, t: int) -> Piece:
    notes = piece.notes.copy()
    at = time_of(index) if index < len(ids) else time_of(len(ids))
    at = float(at or 0.0)
    eps = 1e-6
    if t < codec.note_off0:
        ids = ids[:index]
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
        ids = ids[index:]
        after = np.flatnonzero((ids >= codec.velocity0) & (ids < codec.events))
        until = time_of(index + int(after[0])) if len(after) else np.inf
        until = np.inf if until is None else until
        hit = (notes["start"] >= at - eps) & (notes["start"] < until - eps)
        notes["velocity"][hit] = int(codec.bin_velocity(t - codec.velocity0 + 1))
    else:
        raise InvalidArgument(f"{codec.tokens([t])[0]} is not an event to insert")
    out = piece.copy()
    out.notes = notes[np.lexsort((notes["pitch"], notes["start"]))]
    return out
