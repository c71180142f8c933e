"""A piece as the timed MIDI messages a live port receives, compiled once per edit.

The messages come from the same `piece_to_midifile` the MIDI writer uses, so live output, exported files
and rendered audio agree on channels, programs and pedal. Each note-on carries the time its note ends:
the scheduler owns note-offs (it sends one for every note it started, even if an edit removed the note).
"""
from __future__ import annotations

from dataclasses import dataclass

import mido
import numpy as np

from ..errors import InvalidArgument
from ..music import Piece
from ..music.midi_io import DRUM_CHANNEL, piece_to_midifile


@dataclass(frozen=True)
class EventTable:
    """Messages in time order. `times` (piece seconds) is a numpy array for fast seeking; `ends[i]` is the
    note's end for a note-on, else None."""

    times: np.ndarray
    messages: tuple[mido.Message, ...]
    ends: tuple[float | None, ...]
    channels: frozenset[int]
    duration: float

    def programs_at(self, seconds: float) -> list[mido.Message]:
        """The program change in force on each channel just before `seconds` (resent after a seek or port change)."""
        last: dict[int, mido.Message] = {}
        for msg in self.messages[: self.index_at(seconds)]:
            if msg.type == "program_change":
                last[msg.channel] = msg
        return list(last.values())

    def index_at(self, seconds: float) -> int:
        """The first event at or after `seconds`."""
        return int(np.searchsorted(self.times, seconds, side="left"))


EMPTY = EventTable(np.zeros(0), (), (), frozenset(), 0.0)


def compile_events(piece: Piece, channel: int | None = None, program: int | None = None) -> EventTable:
    """Timed messages for `piece`. With `channel` (0-15) every pitched note goes to that channel; with
    `program` (0-127) it plays that General MIDI program instead of the piece's own."""
    if channel is not None and not 0 <= channel <= 15:
        raise InvalidArgument(f"MIDI channel must be 1-16, not {channel + 1}")
    if program is not None and not 0 <= program <= 127:
        raise InvalidArgument(f"MIDI program must be 0-127, not {program}")
    if len(piece.notes) == 0 and len(piece.pedals) == 0:
        return EMPTY
    timed: list[tuple[float, mido.Message]] = []
    mid = piece_to_midifile(piece)
    now, tempo, last = 0.0, 500000, 0
    for tick, msg in merged(mid.tracks):  # seconds follow the tempo map
        now += mido.tick2second(tick - last, mid.ticks_per_beat, tempo)
        last = tick
        if msg.is_meta:
            if msg.type == "set_tempo":
                tempo = msg.tempo
            continue
        if channel is not None and msg.channel != DRUM_CHANNEL:
            msg = msg.copy(channel=channel)
        if msg.type == "program_change":
            if program is not None and msg.channel != DRUM_CHANNEL:
                msg = msg.copy(program=program)
            if any(m == msg for _, m in timed):
                continue  # several tracks folded onto one channel: one program change is enough
        timed.append((now, msg))  # (its `time` field, delta ticks, means nothing to a port)
    ends: list[float | None] = [None] * len(timed)
    started: dict[tuple[int, int], list[int]] = {}
    for i, (t, msg) in enumerate(timed):
        if msg.type == "note_on" and msg.velocity > 0:
            started.setdefault((msg.channel, msg.note), []).append(i)
        elif msg.type in ("note_off", "note_on"):
            waiting = started.get((msg.channel, msg.note))
            if waiting:
                ends[waiting.pop(0)] = t
    keep = [i for i, (_, m) in enumerate(timed) if m.type not in ("note_off", "note_on") or ends[i] is not None]
    times = np.array([timed[i][0] for i in keep], dtype=np.float64)
    channels = frozenset(m.channel for _, m in timed)
    duration = max([float(times[-1])] + [e for e in ends if e is not None]) if keep else 0.0
    return EventTable(times, tuple(timed[i][1] for i in keep), tuple(ends[i] for i in keep), channels, duration)


def merged(tracks) -> list[tuple[int, mido.Message]]:
    """(absolute tick, message) of all tracks in time order, a track's messages before a later track's at
    the same tick (as mido.merge_tracks orders them, without copying every message: a jam compiles what it
    hands the player several times a second, in the thread the MIDI scheduler shares the interpreter with)."""
    out = []
    for track in tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            out.append((tick, msg))
    out.sort(key=lambda pair: pair[0])  # stable: ties keep the track order
    return out
