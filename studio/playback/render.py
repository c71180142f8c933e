"""Offline audio: a Piece through a SoundFont into PCM or a WAV file, many times faster than real time.

midirenderer (a self-contained Rust wheel) does the synthesis; it renders whole MIDI files. We hand it the
piece in segments cut by note onset (each note keeps its full length and its pedal), and add the segments
up: synthesis is linear, so the sum sounds like one render, and segments give progress, a stop flag, and
the built-in live synth (synth_player) its fast random access.
"""
from __future__ import annotations

import io
import threading
import wave
from pathlib import Path
from typing import Callable

import mido
import numpy as np

from ..atomic import atomic_open
from ..music import Piece
from ..music.midi_io import piece_to_midifile
from .soundfont import load_soundfont

SAMPLE_RATE = 48000  # midirenderer always renders 48 kHz stereo
RELEASE_SECONDS = 1.5  # rendered after the last note ends, so releases and reverb fade out
SEGMENT_SECONDS = 20.0


def segment(piece: Piece, start: float, end: float) -> Piece:
    """Notes starting in [start, end), whole, with the pedal that holds them, moved to start at 0."""
    notes = piece.notes[(piece.notes["start"] >= start) & (piece.notes["start"] < end)]
    out = piece.with_notes(notes)
    last = float(notes["end"].max()) if len(notes) else start
    p = piece.pedals
    out.pedals = p[(p["end"] > start) & (p["start"] < last)].copy()
    return out.shift(-start) if start else out


def midi_bytes(piece: Piece, tail: float = RELEASE_SECONDS) -> bytes:
    """A standard MIDI file of the piece that lasts `tail` seconds past its last sound (renderers stop at the
    last event; without the tail they cut releases off)."""
    mid = piece_to_midifile(piece)
    sounding_end = piece.duration
    last_tick = max((sum(m.time for m in t) for t in mid.tracks), default=0)
    qpm = float(piece.tempos["qpm"][np.searchsorted(piece.tempos["time"], sounding_end, side="right") - 1]) \
        if len(piece.tempos) else 120.0
    end_tick = last_tick + int(round(tail * qpm / 60.0 * mid.ticks_per_beat))
    track = mid.tracks[-1]
    track_end = sum(m.time for m in track)
    # All-sound-ends marker: sustain off on channel 0 (harmless), placed `tail` after the last event.
    track.append(mido.Message("control_change", channel=0, control=64, value=0, time=end_tick - track_end))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


NORMALIZE_DBFS = -1.0  # WAV exports peak here unless asked otherwise (the synth alone leaves quiet pieces quiet)


def render_pcm(piece: Piece, soundfont: bytes, tail: float = RELEASE_SECONDS) -> np.ndarray:
    """Float32 stereo frames (n, 2) at SAMPLE_RATE for one piece, rendered in one call."""
    import midirenderer

    if len(piece.notes) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    wav = midirenderer.render_wave_from(soundfont, midi_bytes(piece, tail))
    with wave.open(io.BytesIO(wav)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
    return frames.astype(np.float32) / 32768.0


def render_piece(piece: Piece, soundfont: str | Path | bytes | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 stop: threading.Event | None = None,
                 segment_seconds: float = SEGMENT_SECONDS) -> np.ndarray | None:
    """The whole piece as float32 stereo frames (silence before the first note kept; release tail added).
    `progress(done, total)` after each segment; returns None when `stop` is set."""
    sf = soundfont if isinstance(soundfont, bytes) else load_soundfont(soundfont)
    if len(piece.notes) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    starts = np.arange(0.0, float(piece.notes["start"].max()) + 1e-9, segment_seconds)
    parts = []
    for k, t0 in enumerate(starts):
        if stop is not None and stop.is_set():
            return None
        parts.append((int(round(t0 * SAMPLE_RATE)), render_pcm(segment(piece, t0, t0 + segment_seconds), sf)))
        if progress:
            progress(k + 1, len(starts))
    return mix(parts)


def mix(parts: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Add (offset, frames) parts into one buffer long enough for all of them."""
    length = max((off + len(pcm) for off, pcm in parts), default=0)
    out = np.zeros((length, 2), dtype=np.float32)
    for off, pcm in parts:
        out[off:off + len(pcm)] += pcm
    return out


def write_wav(path: str | Path, frames: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """16-bit stereo WAV, written atomically (limited to full scale rather than wrapped)."""
    pcm = (np.clip(frames, -1.0, 32767 / 32768) * 32768.0).astype("<i2")
    with atomic_open(path, "wb") as f, wave.open(f, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def peak_dbfs(frames: np.ndarray) -> float:
    """The highest sample level in dB relative to full scale (-inf for silence)."""
    peak = float(np.abs(frames).max()) if frames.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def normalize(frames: np.ndarray, target_dbfs: float | None = NORMALIZE_DBFS) -> np.ndarray:
    """Scale so the loudest sample sits at `target_dbfs` (peak normalisation, as other renderers and audio
    editors do by default); None or silence: unchanged."""
    if target_dbfs is None or not frames.size:
        return frames
    peak = float(np.abs(frames).max())
    if peak <= 0:
        return frames
    return (frames * (10 ** (target_dbfs / 20) / peak)).astype(np.float32)


def render_wav(piece: Piece, path: str | Path, soundfont: str | Path | None = None,
               progress: Callable[[int, int], None] | None = None,
               stop: threading.Event | None = None, normalize_dbfs: float | None = NORMALIZE_DBFS) -> bool:
    """Render `piece` to a WAV file, peak-normalised to `normalize_dbfs` (None: the synth's own level);
    False (and nothing written) when stopped."""
    frames = render_piece(piece, soundfont, progress, stop)
    if frames is None:
        return False
    write_wav(path, normalize(frames, normalize_dbfs))
    return True
