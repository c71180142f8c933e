"""The built-in synth: the piece rendered through a SoundFont (render.py) and streamed to the system's
audio output through PulseAudio's simple API (pasimple; PipeWire desktops answer it too).

The piece is cut into short segments by note onset; a renderer thread keeps the next few segments (in
play order, loop wrap included) rendered ahead of the playhead, at the current tempo scale, and the audio
callback adds up the segments that sound at each moment. Seeking and looping only move the read position;
a tempo change re-renders from the playhead; an edit re-renders the segments not yet begun, so it is heard
on the next pass. A feeder thread hands the device one short block at a time (the device's pace is the
clock). Being audio, nothing can hang: stopping the stream silences everything.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import StudioError
from ..music import Piece
from .render import RELEASE_SECONDS, SAMPLE_RATE, render_pcm, segment
from .soundfont import load_soundfont
from .transport import (PAUSED, PLAYING, STOPPED, Engine, Transport, check_loop, check_position,
                        check_tempo_scale, notify)

SEGMENT_SECONDS = 2.0  # rendered seconds per segment (about 20 ms of work each)
AHEAD = 3  # segments kept rendered ahead of what was handed to the device
SEG = int(SEGMENT_SECONDS * SAMPLE_RATE)
BLOCK = 1024  # frames handed to the device at a time (21 ms)
RENDER_WAIT = 1.0  # seconds the feeder waits for the segment it is about to hand over to be rendered


class AudioUnavailable(StudioError):
    """No way to make sound here: no PulseAudio client library, or no output device."""

    def __init__(self, reason: str):
        super().__init__(None, None, reason)


def open_output(device: str | None = None):
    """A PulseAudio playback stream (float32 stereo at SAMPLE_RATE) on `device` (a sink name; None = the
    default output); AudioUnavailable, with a clear message, when there is no sound server or no such sink."""
    try:
        import pasimple

        # The server's own buffering: timer-driven sinks (PulseAudio's null sink on a busy machine) fall
        # behind real time with short buffers. Transport changes flush it, so it costs no responsiveness.
        return pasimple.PaSimple(pasimple.PA_STREAM_PLAYBACK, pasimple.PA_SAMPLE_FLOAT32LE, 2, SAMPLE_RATE,
                                 app_name="Studio", stream_name="built-in synth", device_name=device)
    except OSError as exc:  # libpulse-simple.so.0 missing
        raise AudioUnavailable("the built-in synth needs the PulseAudio client library "
                               "(Debian/Ubuntu: apt install libpulse0)") from exc
    except Exception as exc:  # pasimple.PaSimpleError: no server, no such sink
        raise AudioUnavailable(f"no audio output device{f' {device!r}' if device else ''} is available ({exc}); "
                               "play to a MIDI port instead, or render to WAV") from exc


def check_audio_output(device: str | None = None) -> str:
    """The name of the output sound would go to; AudioUnavailable (a clear message) when there is none."""
    open_output(device).close()
    return device or "default output"


class SynthPlayer(Engine):
    """Plays a Piece through the built-in SoundFont synth. Same transport methods as MidiPlayer."""

    def __init__(self, piece: Piece | None = None, soundfont: str | Path | None = None, *,
                 transport: Transport | None = None, device: str | None = None,
                 on_state: Callable[[str], None] | None = None,
                 on_error: Callable[[str], None] | None = None):
        self.device_name = check_audio_output(device)
        self._device = device
        self._soundfont = load_soundfont(soundfont)
        self.on_state, self.on_error = on_state, on_error
        t = transport or Transport()
        self._piece = piece if piece is not None else Piece()
        self._scale = check_tempo_scale(t.tempo_scale)
        self._loop = check_loop(*(t.loop or (None, None)))
        self._frame = self._to_frame(check_position(t.position))
        self._state = STOPPED
        self._edit = 0  # bumped by every edit: segments rendered from an older piece are stale
        self._timebase = 0  # bumped by every tempo change: all segments are void
        self._segments: dict[int, tuple[int, np.ndarray]] = {}  # index -> (edit, frames)
        self._stretched: tuple[tuple[int, int], Piece] | None = None
        self._ended = False
        self._closed = False
        self.open_ended = False  # True: play (silence) on past the last note (a live stream still growing)
        self._queued = 0  # frames handed to the device but not heard yet
        self._queued_at = 0.0  # when _queued was measured
        self._flush = False  # drop what the device holds (after a seek or tempo change)
        self._feeder: threading.Thread | None = None
        self._cond = threading.Condition()
        self._renderer = threading.Thread(target=self._render_loop, daemon=True, name="synth-renderer")
        self._renderer.start()
        self._resume(t)

    # ----- what the GUI reads -----
    @property
    def position(self) -> float:
        """Playhead in piece seconds: what is being heard, not what was last handed to the device."""
        return self._heard_frame() / SAMPLE_RATE * self._scale

    def _rewind_to_heard(self) -> None:
        """Drop what the device holds and carry on from what is being heard (callers hold the lock)."""
        if self._state == PLAYING and self._queued:
            self._frame = self._heard_frame()
            self._queued, self._flush = 0, True

    def _heard_frame(self) -> int:
        f = self._frame
        if self._state != PLAYING or not self._queued:
            return f
        # The device drains in real time between our writes (which can block for a while).
        heard = f - max(self._queued - int((time.perf_counter() - self._queued_at) * SAMPLE_RATE), 0)
        if self._loop is not None:  # the device may still be playing the loop's end from before a wrap
            start, end = self._to_frame(self._loop[0]), self._to_frame(self._loop[1])
            while f >= start and heard < start and end > start:
                heard += end - start
        return max(heard, 0)

    @property
    def lead(self) -> float:
        """Piece seconds already handed to the device but not heard yet (what an edit arrives too late for
        when the device's queue is kept)."""
        with self._cond:
            return max(0, self._frame - self._heard_frame()) / SAMPLE_RATE * self._scale

    @property
    def duration(self) -> float:
        return self._piece.duration  # to the last note end or pedal release, as the MIDI player

    # ----- transport -----
    def play(self) -> None:
        with self._cond:
            if self._closed or self._state == PLAYING:
                return
            self._ended = False
            self._state = PLAYING
            self._cond.notify_all()
            self._feeder = threading.Thread(target=self._feed, args=(self._feeder,), daemon=True, name="synth-feeder")
            self._feeder.start()
        notify(self.on_state, PLAYING)

    def panic(self) -> None:
        """Audio stops with the stream: pausing is all a panic needs here."""
        self._halt(PAUSED, None)

    def seek(self, seconds: float) -> None:
        frame = self._to_frame(check_position(seconds))
        with self._cond:
            self._frame, self._queued, self._flush = frame, 0, True
            self._cond.notify_all()

    def set_loop(self, start: float | None, end: float | None) -> None:
        loop = check_loop(start, end)
        with self._cond:
            self._rewind_to_heard()  # the device holds audio rendered without this loop
            self._loop = loop
            self._cond.notify_all()

    def set_tempo_scale(self, scale: float) -> None:
        scale = check_tempo_scale(scale)
        with self._cond:
            pos = self.position
            self._scale = scale
            self._frame, self._queued, self._flush = self._to_frame(pos), 0, True
            self._timebase += 1
            self._segments.clear()
            self._cond.notify_all()

    def set_piece(self, piece: Piece) -> None:
        """Replace what plays; segments not yet begun are rendered again from the new piece.

        An edit drops what the device holds and carries on from what is heard, so it is heard at once. A live
        stream (open-ended: a jam, whose new notes only ever come after what is queued) keeps the device's
        queue instead: dropping it on every hand-over lost time against the wall clock (a 12 s jam sounded
        for 30 s), and the segment being handed over is rendered again, so notes that reached it late are
        heard from the next block on. What comes after it was handed to the device is not heard: the jam
        keeps `lead` + its margin in hand, and pauses when the sampler falls behind that."""
        with self._cond:
            if not self.open_ended:
                self._rewind_to_heard()
            self._piece = piece
            self._edit += 1
            if not self.open_ended:  # (a live stream's older segments play on until rendered again)
                for k in [k for k in self._segments if not self._begun(k)]:
                    del self._segments[k]
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._state = STOPPED
            self._cond.notify_all()
            feeder = self._feeder
        if feeder is not None:
            feeder.join(timeout=2)
        self._renderer.join(timeout=2)

    # ----- inside -----
    def _to_frame(self, seconds: float) -> int:
        return int(round(seconds / self._scale * SAMPLE_RATE))

    def _halt(self, state: str, position: float | None) -> None:
        with self._cond:
            if self._closed:
                return
            if self._state == PLAYING:
                self._frame = self._heard_frame()  # resume from what was heard
            self._state = state
            if position is not None:
                self._frame = self._to_frame(position)
            self._cond.notify_all()
        notify(self.on_state, state)

    def _end_frame(self) -> int:
        return self._to_frame(self.duration) + int(RELEASE_SECONDS * SAMPLE_RATE)

    def _feed(self, previous: threading.Thread | None) -> None:
        """The feeder thread: one block at a time to the device, until playback halts."""
        if previous is not None:
            previous.join()  # one stream at a time
        try:
            with open_output(self._device) as out:
                while True:
                    block = np.zeros((BLOCK, 2), dtype=np.float32)
                    with self._cond:
                        self._await_render()
                        if self._state != PLAYING or self._closed:
                            break
                        flush, self._flush = self._flush, False
                        self._next_block(block)
                    if flush:
                        out.flush()
                    out.write(block.tobytes())  # returns once the server has room
                    queued = int(out.get_latency() * SAMPLE_RATE / 1e6)
                    with self._cond:
                        if not self._flush:
                            self._queued, self._queued_at = queued, time.perf_counter()
        except Exception as exc:  # the device went away mid-playback
            with self._cond:
                self._state = PAUSED
            notify(self.on_error, f"audio output {self.device_name!r} failed: {exc}")
            notify(self.on_state, PAUSED)
        finally:
            self._queued = 0

    def _await_render(self) -> None:
        """Wait (a moment at most) until the segments of the next block are rendered (callers hold the lock).
        Without this, playback begun or moved just after a new piece handed the device silence for the
        music not yet rendered: the device takes seconds of audio at once, so a jam lost its first seconds
        (heard as silence, yet counted as heard)."""
        deadline = time.perf_counter() + RENDER_WAIT
        while self._state == PLAYING and not self._closed and self._unrendered() and time.perf_counter() < deadline:
            self._cond.wait(0.005)

    def _unrendered(self) -> bool:
        """Whether a segment the next block plays from is still to be rendered from the current piece."""
        last = self._end_frame() // SEG
        # (with a loop the block may wrap at the loop's end: its start is what counts)
        ks = {self._frame // SEG} if self._loop is not None else {self._frame // SEG, (self._frame + BLOCK - 1) // SEG}
        return any(k <= last and self._needs_render(k) for k in ks)

    def _begun(self, k: int, wrapped: bool = False) -> bool:
        """Segment k is partly in the device already (playing, and the read position past its start)."""
        return self._state == PLAYING and k * SEG < self._frame and not wrapped

    def _needs_render(self, k: int, wrapped: bool = False) -> bool:
        """No render of segment k, or one from an older piece that is to be replaced: a begun segment of a
        finished piece plays on as rendered; a live stream's is rendered again (its new notes come late)."""
        have = self._segments.get(k)
        if have is None:
            return True
        return have[0] != self._edit and (self.open_ended or not self._begun(k, wrapped))

    def _next_block(self, out: np.ndarray) -> None:
        """Add up the segments sounding in the next len(out) frames, wrapping at the loop's end."""
        frames = len(out)
        f, done = self._frame, 0
        loop = None if self._loop is None else (self._to_frame(self._loop[0]), self._to_frame(self._loop[1]))
        while done < frames:
            n = frames - done
            if loop and f < loop[1]:
                n = min(n, loop[1] - f)
            self._mix(out[done:done + n], f)
            f, done = f + n, done + n
            if loop and f == loop[1]:
                f = loop[0]
        self._frame = f
        if loop is None and f >= self._end_frame() and not self.open_ended:
            self._ended = True
            self._cond.notify_all()

    def _mix(self, buf: np.ndarray, f: int) -> None:
        n = len(buf)  # (buf starts silent)
        for k, (_, pcm) in list(self._segments.items()):
            s = k * SEG
            lo, hi = max(f, s), min(f + n, s + len(pcm))
            if lo < hi:
                buf[lo - f:hi - f] += pcm[lo - s:hi - s]

    def _wanted(self) -> list[tuple[int, bool]]:
        """The next segments in play order: (index, after a loop wrap)."""
        f = self._frame
        loop = None if self._loop is None else (self._to_frame(self._loop[0]), self._to_frame(self._loop[1]))
        out, wrapped = [], False
        for _ in range(AHEAD + 1):
            k = f // SEG
            out.append((k, wrapped))
            f = (k + 1) * SEG
            if loop and (k * SEG) < loop[1] <= f and self._frame < loop[1]:
                f, wrapped = loop[0], True
        last = self._end_frame() // SEG
        return [(k, w) for k, w in out if k <= last]

    def _render_loop(self) -> None:
        with self._cond:
            while not self._closed:
                if self._ended:
                    self._ended = False
                    self._state, self._frame = STOPPED, 0
                    notify(self.on_state, "ended")
                job = self._next_job()
                if job is None:
                    self._evict()
                    self._cond.wait(0.1)
                    continue
                k, edit, timebase, piece = job
                self._cond.release()
                try:
                    pcm = render_pcm(segment(piece, k * SEGMENT_SECONDS, (k + 1) * SEGMENT_SECONDS), self._soundfont)
                finally:
                    self._cond.acquire()
                if timebase == self._timebase and edit == self._edit:
                    self._segments[k] = (edit, pcm)
                    self._cond.notify_all()  # the feeder may be waiting for it

    def _next_job(self) -> tuple[int, int, int, Piece] | None:
        for k, wrapped in self._wanted():
            if self._needs_render(k, wrapped):
                key = (self._edit, self._timebase)
                if self._stretched is None or self._stretched[0] != key:
                    self._stretched = (key, self._piece.stretch(1.0 / self._scale))
                return k, self._edit, self._timebase, self._stretched[1]
        return None

    def _evict(self) -> None:
        """Forget segments that have finished sounding and are not coming up again."""
        wanted = {k for k, _ in self._wanted()}
        for k, (_, pcm) in list(self._segments.items()):
            if k not in wanted and k * SEG + len(pcm) < self._frame:
                del self._segments[k]
