"""MIDI files <-> Piece.

Reading goes through symusic's C++ parser in ticks (about 8 million notes/s) and converts ticks to
seconds ourselves in float64 along the tempo map, so times are exact. A file symusic refuses is walked
by a small byte-level scanner that finds the track and byte offset of the damage for the error message;
a track cut short is recovered (notes before the damage kept) with a warning. Writing goes through mido.
"""
from __future__ import annotations

import struct
from pathlib import Path

import mido
import numpy as np
import symusic

from ..errors import UnreadableFile, UnsupportedContent
from ..limits import MAX_MIDI_BYTES, MAX_PIECE_SECONDS
from ..limits import read_bytes as read_limited
from .piece import (
    NOTE_DTYPE,
    PEDAL_DTYPE,
    TEMPO_DTYPE,
    TIME_SIGNATURE_DTYPE,
    KeySignature,
    Piece,
)

DEFAULT_TICKS_PER_QUARTER = 480
DRUM_CHANNEL = 9
MAJOR_BY_SHARPS = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F", 0: "C",
                   1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}
MINOR_BY_SHARPS = {-7: "Ab", -6: "Eb", -5: "Bb", -4: "F", -3: "C", -2: "G", -1: "D", 0: "A",
                   1: "E", 2: "B", 3: "F#", 4: "C#", 5: "G#", 6: "D#", 7: "A#"}
SHARPS_BY_KEY = {**{(v, "major"): k for k, v in MAJOR_BY_SHARPS.items()},
                 **{(v, "minor"): k for k, v in MINOR_BY_SHARPS.items()}}


# --------------------------------------------------------------------------------------------- reading
def read_midi(path: str | Path) -> Piece:
    path = Path(path)
    data = _read_bytes(path)
    data, warnings = check_structure(path, data)
    try:
        score = symusic.Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError with a terse message; find the place ourselves
        problem = find_damage(data)
        if problem:
            raise UnreadableFile(path, problem[0], problem[1]) from None
        raise UnreadableFile(path, None, f"not a readable MIDI file ({exc})") from None
    check_times(path, data, score)
    piece = score_to_piece(score, source=str(path), title=_first_track_name(data) or path.stem)
    piece.warnings.extend(warnings)
    return piece


def check_times(path: Path, data: bytes, score: symusic.Score) -> None:
    """Refuse, naming track and byte, a file whose times overflow (delta-times adding up past 2^31 ticks,
    which symusic wraps to negative) or whose piece is longer than MAX_PIECE_SECONDS (a few bytes of huge
    delta-times make a piece of years, and encoding its silence would take all memory)."""
    if len(score.tracks) == 0 and len(score.tempos) == 0:
        return
    if score.start() < 0 or any(len(t.notes) and t.notes.numpy()["time"].min() < 0 for t in score.tracks):
        place = _first_event_after(data, 2 ** 31 - 1)
        raise UnsupportedContent(path, place, "event times run past 2^31 ticks (delta-times that add up to more "
                                 "than a MIDI clock can count)")
    clock = score_clock(score)
    end = float(clock.to_seconds(max(score.end(), 0)))
    if end > MAX_PIECE_SECONDS:
        place = _first_event_after(data, int(clock.to_ticks(MAX_PIECE_SECONDS)))
        raise UnsupportedContent(path, place, f"the piece is {end / 3600:,.1f} hours long; the limit is "
                                 f"{MAX_PIECE_SECONDS / 3600:g} hours (huge delta-times or a near-zero tempo)")


def _first_event_after(data: bytes, limit: int) -> str | None:
    """"track T, byte B" of the first event whose absolute tick is beyond `limit`."""
    try:
        hlen, _, ntracks, _ = struct.unpack(">IHHH", data[4:14])
    except struct.error:
        return None
    offset = 8 + hlen
    for track in range(ntracks):
        if offset + 8 > len(data) or data[offset:offset + 4] != b"MTrk":
            return None
        length = struct.unpack(">I", data[offset + 4:offset + 8])[0]
        pos, end, tick, status = offset + 8, min(offset + 8 + length, len(data)), 0, None
        while pos < end:
            at = pos
            pos, delta = _read_vlq(data, pos, end)
            tick += delta
            if tick > limit:
                return f"track {track}, byte {at}"
            if pos >= end:
                break
            pos, status = _skip_event(data, pos, status, end)
            if status is None:
                break
        offset += 8 + length
    return None


def _read_bytes(path: Path) -> bytes:
    data = read_limited(path, MAX_MIDI_BYTES, "MIDI file")
    if not data:
        raise UnreadableFile(path, "byte 0", "empty file (0 bytes)")
    return data


def check_structure(path: Path, data: bytes) -> tuple[bytes, list[str]]:
    """Validate the chunk layout; raise for a bad header. A file cut short inside a track is repaired to
    what it holds (complete events kept, the track closed, missing tracks dropped) and a warning says so."""
    if data[:4] != b"MThd":
        raise UnreadableFile(path, "byte 0", f"not a MIDI file (starts with {data[:4]!r}, expected b'MThd')")
    if len(data) < 14:
        raise UnreadableFile(path, f"byte {len(data)}", "truncated header (file ends inside MThd)")
    hlen, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    if hlen < 6:
        raise UnreadableFile(path, "byte 4", f"header length {hlen} is shorter than 6")
    if fmt > 2:
        raise UnreadableFile(path, "byte 8", f"unknown MIDI format {fmt}")
    if division & 0x8000:
        raise UnsupportedContent(path, "byte 12", "SMPTE time division is not supported")
    if division == 0:
        raise UnreadableFile(path, "byte 12", "0 ticks per quarter note")
    offset = 8 + hlen
    for i in range(ntracks):
        if offset + 8 > len(data):
            if i == 0:
                raise UnreadableFile(path, f"byte {offset}", "file ends before the first track")
            warning = (f"{path}: byte {offset}: file ends before track {i} of {ntracks}; "
                       f"{ntracks - i} track(s) missing, notes before the damage kept")
            return _with_track_count(data[:offset], i), [warning]
        length = struct.unpack(">I", data[offset + 4:offset + 8])[0]
        if offset + 8 + length > len(data):
            body = _complete_events(data, offset + 8, len(data))
            track = b"MTrk" + struct.pack(">I", len(body) + 4) + body + b"\x00\xff\x2f\x00"
            warning = (f"{path}: track {i}, byte {len(data)}: track is cut short ({len(data) - offset - 8} of "
                       f"{length} bytes); notes before the damage kept")
            return _with_track_count(data[:offset] + track, i + 1), [warning]
        offset += 8 + length
    return data, []


def _with_track_count(data: bytes, ntracks: int) -> bytes:
    return data[:10] + struct.pack(">H", ntracks) + data[12:]


def _complete_events(data: bytes, start: int, end: int) -> bytes:
    """The bytes of a track body up to its last event that is complete before `end`."""
    pos, last_good, status = start, start, None
    while pos < end:
        pos, _ = _read_vlq(data, pos, end)
        if pos >= end:
            break
        pos, status = _skip_event(data, pos, status, end)
        if status is None:
            break
        if pos <= end:
            last_good = pos
    body = data[start:last_good]
    if body.endswith(b"\xff\x2f\x00"):  # it had its end already
        body = body[:-4]
    return body


def find_damage(data: bytes) -> tuple[str, str] | None:
    """Walk every track event by event; return (place, reason) of the first malformed byte, if any."""
    try:
        hlen, _, ntracks, _ = struct.unpack(">IHHH", data[4:14])
    except struct.error:
        return ("byte 0", "truncated header")
    offset = 8 + hlen
    for track in range(ntracks):
        if offset + 8 > len(data):
            return None
        if data[offset:offset + 4] != b"MTrk":
            return (f"track {track}, byte {offset}", f"expected b'MTrk' chunk, found {data[offset:offset + 4]!r}")
        length = struct.unpack(">I", data[offset + 4:offset + 8])[0]
        pos, end = offset + 8, min(offset + 8 + length, len(data))
        status = None
        while pos < end:
            pos, _ = _read_vlq(data, pos, end)
            if pos >= end:
                break
            byte = data[pos]
            if byte >= 0x80:
                status = byte
                pos += 1
            elif status is None:
                return (f"track {track}, byte {pos}", f"data byte {byte} with no running status")
            if status == 0xFF:
                pos += 1  # meta type
                pos, n = _read_vlq(data, pos, end)
                pos += n
                status = None
            elif status in (0xF0, 0xF7):
                pos, n = _read_vlq(data, pos, end)
                pos += n
                status = None
            elif status >= 0xF0:
                return (f"track {track}, byte {pos - 1}", f"system message 0x{status:02X} inside a track")
            else:
                nbytes = 1 if (status & 0xF0) in (0xC0, 0xD0) else 2
                for k in range(nbytes):
                    if pos + k < end and data[pos + k] >= 0x80:
                        kind = _STATUS_NAMES.get(status & 0xF0, "event")
                        return (f"track {track}, byte {pos + k}",
                                f"{kind} data byte {data[pos + k]} is out of range 0..127")
                pos += nbytes
        offset += 8 + length
    return None


def _first_track_name(data: bytes) -> str:
    """The name meta event (FF 03) of the first track: where a type-1 file keeps its title."""
    hlen = struct.unpack(">I", data[4:8])[0]
    offset = 8 + hlen
    if data[offset:offset + 4] != b"MTrk":
        return ""
    end = min(offset + 8 + struct.unpack(">I", data[offset + 4:offset + 8])[0], len(data))
    pos = offset + 8
    while pos < end:
        pos, _ = _read_vlq(data, pos, end)
        if pos + 1 >= end or data[pos] != 0xFF:
            return ""  # channel events before a name: no title here
        kind = data[pos + 1]
        pos, n = _read_vlq(data, pos + 2, end)
        if kind == 0x03:
            return data[pos:pos + n].decode("latin-1").strip()
        pos += n
    return ""


_STATUS_NAMES = {0x80: "note-off", 0x90: "note-on", 0xA0: "aftertouch", 0xB0: "control-change",
                 0xC0: "program-change", 0xD0: "channel-pressure", 0xE0: "pitch-bend"}


def _skip_event(data: bytes, pos: int, status: int | None, end: int) -> tuple[int, int | None]:
    """(position after the event that starts at `pos` (after its delta-time), its status); status None where
    the walk cannot go on (a data byte with no running status, a system message inside a track). The quick
    walk that `_first_event_after` and `_complete_events` share; `find_damage` walks on its own to name
    what is wrong."""
    if data[pos] >= 0x80:
        status = data[pos]
        pos += 1
    if status == 0xFF:
        pos, n = _read_vlq(data, pos + 1, end)
        return pos + n, status
    if status in (0xF0, 0xF7):
        pos, n = _read_vlq(data, pos, end)
        return pos + n, status
    if status is None or status >= 0xF0:
        return pos, None
    return pos + (1 if (status & 0xF0) in (0xC0, 0xD0) else 2), status


def _read_vlq(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        if pos >= end:
            return pos, value
        b = data[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            break
    return pos, value


class TickClock:
    """Ticks <-> seconds along a tempo map given as (tick, microseconds-per-quarter) changes."""

    def __init__(self, ticks: np.ndarray, mspq: np.ndarray, tpq: int):
        order = np.argsort(ticks, kind="stable")
        ticks, mspq = np.asarray(ticks, dtype=np.int64)[order], np.asarray(mspq, dtype=np.float64)[order]
        if len(ticks) == 0 or ticks[0] > 0:
            first = mspq[0] if len(mspq) else 500000.0
            ticks, mspq = np.concatenate([[0], ticks]), np.concatenate([[first], mspq])
        self.ticks, self.mspq, self.tpq = ticks, mspq, tpq
        self.seconds = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * mspq[:-1] / 1e6 / tpq)])

    def to_seconds(self, ticks) -> np.ndarray:
        t = np.asarray(ticks, dtype=np.int64)
        i = np.clip(np.searchsorted(self.ticks, t, side="right") - 1, 0, None)
        return self.seconds[i] + (t - self.ticks[i]) * self.mspq[i] / 1e6 / self.tpq

    def to_ticks(self, seconds) -> np.ndarray:
        s = np.asarray(seconds, dtype=np.float64)
        i = np.clip(np.searchsorted(self.seconds, s + 1e-9, side="right") - 1, 0, None)
        return np.rint(self.ticks[i] + (s - self.seconds[i]) * 1e6 * self.tpq / self.mspq[i]).astype(np.int64)


def score_clock(score: symusic.Score, warnings: list[str] | None = None) -> TickClock:
    """The score's tempo map; a tempo of 0 microseconds per quarter (time would stand still) is dropped,
    and `warnings` says so."""
    tempo_ticks = np.array([t.time for t in score.tempos], dtype=np.int64)
    tempo_mspq = np.array([t.mspq for t in score.tempos], dtype=np.float64)
    zero = tempo_mspq <= 0
    if zero.any() and warnings is not None:
        warnings.append(f"{int(zero.sum())} tempo change(s) of 0 microseconds per quarter ignored "
                        f"(first at tick {int(tempo_ticks[zero][0])})")
    return TickClock(tempo_ticks[~zero], tempo_mspq[~zero], int(score.ticks_per_quarter))


def score_to_piece(score: symusic.Score, source: str = "", title: str = "") -> Piece:
    tpq = int(score.ticks_per_quarter)
    tempo_warnings: list[str] = []
    clock = score_clock(score, tempo_warnings)

    note_parts, pedal_parts, names = [], [], []
    last_tick = 0
    for index, track in enumerate(score.tracks):
        names.append(track.name or "")
        arr = track.notes.numpy()
        if len(arr["time"]):
            start_t = arr["time"].astype(np.int64)
            end_t = start_t + arr["duration"].astype(np.int64)
            last_tick = max(last_tick, int(end_t.max()))
            part = np.zeros(len(start_t), dtype=NOTE_DTYPE)
            part["pitch"] = arr["pitch"]
            part["start"] = clock.to_seconds(start_t)
            part["end"] = clock.to_seconds(end_t)
            part["velocity"] = arr["velocity"]
            part["program"] = track.program
            part["is_drum"] = track.is_drum
            part["track"] = index
            note_parts.append(part)
        ctrl = track.controls.numpy()
        if len(ctrl["time"]):
            last_tick = max(last_tick, int(ctrl["time"].max()))
            pedal_parts.append((index, ctrl))
    pedals = [_pedal_intervals(index, ctrl, clock, last_tick) for index, ctrl in pedal_parts]

    notes = np.concatenate(note_parts) if note_parts else np.zeros(0, dtype=NOTE_DTYPE)
    notes = notes[np.lexsort((notes["pitch"], notes["start"]))]
    tempos = np.zeros(len(clock.ticks), dtype=TEMPO_DTYPE)
    tempos["time"] = clock.seconds
    tempos["qpm"] = 60e6 / clock.mspq
    tempos = _dedupe_changes(tempos, "qpm")
    ts = np.zeros(len(score.time_signatures), dtype=TIME_SIGNATURE_DTYPE)
    for i, sig in enumerate(score.time_signatures):
        ts[i] = (clock.to_seconds(sig.time), sig.numerator, sig.denominator)
    keys = []
    for k in score.key_signatures:
        mode = "minor" if k.tonality else "major"
        table = MINOR_BY_SHARPS if k.tonality else MAJOR_BY_SHARPS
        if k.key in table:
            keys.append(KeySignature(float(clock.to_seconds(k.time)), table[k.key], mode))
    return Piece(
        notes=notes,
        pedals=np.concatenate(pedals) if pedals else np.zeros(0, dtype=PEDAL_DTYPE),
        tempos=tempos,
        time_signatures=ts,
        key_signatures=keys,
        title=title,
        source=source,
        track_names=names,
        meta={"ticks_per_quarter": tpq},
        warnings=[f"{source}: {w}" if source else w for w in tempo_warnings],
    )


def _dedupe_changes(arr: np.ndarray, field: str) -> np.ndarray:
    """Drop changes that repeat the value in force (files often restate the tempo)."""
    if len(arr) < 2:
        return arr
    keep = np.ones(len(arr), dtype=bool)
    keep[1:] = arr[field][1:] != arr[field][:-1]
    return arr[keep]


def _pedal_intervals(track: int, ctrl: dict, clock: TickClock, last_tick: int) -> np.ndarray:
    """Sustain (CC64) down/up pairs as intervals; value >= 64 is down. A pedal never lifted ends at the end."""
    sel = ctrl["number"] == 64
    times = ctrl["time"][sel].astype(np.int64)
    down = ctrl["value"][sel] >= 64
    if not len(times):
        return np.zeros(0, dtype=PEDAL_DTYPE)
    prev = np.concatenate([[False], down[:-1]])
    starts = times[down & ~prev]
    ends = times[~down & prev]
    if len(ends) < len(starts):
        ends = np.concatenate([ends, [max(last_tick, int(times[-1]))]])
    out = np.zeros(len(starts), dtype=PEDAL_DTYPE)
    out["start"] = clock.to_seconds(starts)
    out["end"] = clock.to_seconds(ends)
    out["track"] = track
    return out


# --------------------------------------------------------------------------------------------- writing
def piece_to_midifile(piece: Piece, ticks_per_quarter: int | None = None, midi_format: int = 1) -> mido.MidiFile:
    tpq = int(ticks_per_quarter or piece.meta.get("ticks_per_quarter") or DEFAULT_TICKS_PER_QUARTER)
    tempos = np.sort(piece.tempos, order="time")
    mspq = np.rint(60e6 / tempos["qpm"]).astype(np.int64)
    # Tempo change ticks, each measured with the tempo before it (one pass: files can carry long tempo maps).
    tempo_ticks = np.zeros(len(tempos), dtype=np.int64)
    seconds = 0.0
    for i in range(1, len(tempos)):
        ticks_per_second = 1e6 * tpq / mspq[i - 1]
        tempo_ticks[i] = np.rint(tempo_ticks[i - 1] + (tempos["time"][i] - seconds) * ticks_per_second)
        seconds += (tempo_ticks[i] - tempo_ticks[i - 1]) / ticks_per_second
    clock = TickClock(tempo_ticks, mspq, tpq)

    conductor: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    if piece.title:
        conductor.append((0, 0, mido.MetaMessage("track_name", name=piece.title[:120])))
    for t, m in zip(tempo_ticks.tolist(), mspq.tolist()):
        conductor.append((t, 1, mido.MetaMessage("set_tempo", tempo=int(m))))
    for t, num, den in piece.time_signatures.tolist():
        if den > 0 and (den & (den - 1)) == 0:
            conductor.append((int(clock.to_ticks(t)), 2, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    for k in piece.key_signatures:
        name = _mido_key(k)
        if name:
            conductor.append((int(clock.to_ticks(k.time)), 3, mido.MetaMessage("key_signature", key=name)))

    notes = piece.notes
    groups: dict[tuple[int, int, bool], list[int]] = {}
    for i, (trk, prog, drum) in enumerate(zip(notes["track"].tolist(), notes["program"].tolist(), notes["is_drum"].tolist())):
        groups.setdefault((trk, prog, bool(drum)), []).append(i)
    for trk in sorted(set(piece.pedals["track"].tolist()) - {g[0] for g in groups}):
        groups[(trk, 0, False)] = []
    tracks_out = []
    channels = [c for c in range(16) if c != DRUM_CHANNEL]
    pedal_done: set[int] = set()
    for n, ((trk, prog, drum), idx) in enumerate(sorted(groups.items())):
        ch = DRUM_CHANNEL if drum else channels[n % len(channels)]
        events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
        name = piece.track_names[trk] if 0 <= trk < len(piece.track_names) else ""
        if name:
            events.append((0, -2, mido.MetaMessage("track_name", name=name[:120])))
        if not drum:
            events.append((0, -1, mido.Message("program_change", channel=ch, program=prog)))
        sel = notes[np.asarray(idx, dtype=np.int64)]
        on = clock.to_ticks(sel["start"])
        off = np.maximum(clock.to_ticks(sel["end"]), on + 1)  # a note lasts at least one tick
        for t0, t1, p, v in zip(on.tolist(), off.tolist(), sel["pitch"].tolist(), sel["velocity"].tolist()):
            events.append((t0, 2, mido.Message("note_on", channel=ch, note=int(p), velocity=int(min(max(v, 1), 127)))))
            events.append((t1, 0, mido.Message("note_off", channel=ch, note=int(p), velocity=0)))
        if not drum and trk not in pedal_done:
            pedal_done.add(trk)
            ped = piece.pedals[piece.pedals["track"] == trk]
            for t0, t1 in zip(clock.to_ticks(ped["start"]).tolist(), clock.to_ticks(ped["end"]).tolist()):
                events.append((t0, 1, mido.Message("control_change", channel=ch, control=64, value=127)))
                events.append((max(t1, t0), 1, mido.Message("control_change", channel=ch, control=64, value=0)))
        tracks_out.append(events)

    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    for events in [conductor] + tracks_out:
        mid.tracks.append(_to_track(events))
    if midi_format == 0:
        merged = mido.merge_tracks(mid.tracks)
        mid = mido.MidiFile(type=0, ticks_per_beat=tpq)
        mid.tracks.append(merged)
    return mid


def _to_track(events) -> mido.MidiTrack:
    """Absolute-tick events -> delta-time track. At one tick: note-offs, then pedal, then note-ons."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


# Semitones from a mode's tonic down to the tonic of the major key with the same signature.
MODE_TO_MAJOR = {"major": 0, "ionian": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7,
                 "minor": 9, "aeolian": 9, "locrian": 11}
PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _mido_key(k: KeySignature) -> str | None:
    """MIDI key signatures know major and minor only: a modal key is written with its signature's major."""
    mode = k.mode.lower()
    tonic = k.tonic[0].upper() + k.tonic[1:].replace("♯", "#").replace("♭", "b").replace("-", "b")
    if mode in ("major", "minor"):
        return tonic + ("m" if mode == "minor" else "") if (tonic, mode) in SHARPS_BY_KEY else None
    if mode not in MODE_TO_MAJOR or tonic[0] not in PITCH_CLASS:
        return None
    pc = (PITCH_CLASS[tonic[0]] + tonic[1:].count("#") - tonic[1:].count("b") - MODE_TO_MAJOR[mode]) % 12
    for name, sharps in sorted(((n, s) for (n, m), s in SHARPS_BY_KEY.items() if m == "major"), key=lambda x: abs(x[1])):
        if (PITCH_CLASS[name[0]] + name[1:].count("#") - name[1:].count("b")) % 12 == pc:
            return name
    return None


def write_midi(piece: Piece, path: str | Path, ticks_per_quarter: int | None = None, midi_format: int = 1) -> None:
    """Write a standard MIDI file atomically (type 1 by default: a conductor track plus one per instrument)."""
    import io

    from ..atomic import write_bytes

    buf = io.BytesIO()
    piece_to_midifile(piece, ticks_per_quarter, midi_format).save(file=buf)
    write_bytes(path, buf.getvalue())
