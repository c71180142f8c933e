"""Live playback to a MIDI output port, from a dedicated scheduler thread.

The thread keeps its own clock (`time.perf_counter`, monotonic): position = anchor + elapsed wall time x
tempo scale. It sleeps on a condition variable until shortly before the next event (the lookahead), then
waits out the last stretch precisely, so messages leave on time whatever the GUI thread is doing. Every
transport command (stop, pause, seek, loop wrap, tempo change, port change, close) first ends every
sounding note: a note-off for each note it started, then all-notes-off and sustain-off on every channel
it used. The scheduler owns note-offs: it sends one for every note it started, even when an edit took
the note away.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable

import mido

from ..music import Piece
from ..realtime import SCHEDULER, raise_thread_priority
from .events import EMPTY, EventTable, compile_events
from .ports import close_port, port_present
from .transport import (PAUSED, PLAYING, STOPPED, Engine, Transport, check_loop, check_position,
                        check_tempo_scale, notify)

LOOKAHEAD = 0.002  # wake this long before an event, then wait out the rest without sleeping
MAX_SLEEP = 0.05  # re-check the clock at least this often
TOGETHER = 0.0002  # events this close count as simultaneous (a chord goes out in one burst)
LATE_LIMIT = 1.0  # open-ended: events arriving up to this late (piece seconds) are still played
MAX_SOUNDING_LOOKBACK = 30.0  # seconds back a sounding note's start is looked for after an edit
SWITCH_INTERVAL = 0.0005  # Python's GIL hand-over interval while playing (default 5 ms would delay us)

ALL_SOUND_OFF, RESET_CONTROLLERS, ALL_NOTES_OFF, SUSTAIN = 120, 121, 123, 64


class MidiPlayer(Engine):
    """Plays a Piece to a mido output port. Thread-safe: call from any thread (the GUI's)."""

    def __init__(self, port: mido.ports.BaseOutput, piece: Piece | None = None, *,
                 channel: int | None = None, program: int | None = None,
                 transport: Transport | None = None,
                 on_state: Callable[[str], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 owns_port: bool = True):
        self._port = port
        self._owns_port = owns_port
        self._channel, self._program = channel, program
        self._events: EventTable = compile_events(piece, channel, program) if piece is not None else EMPTY
        t = transport or Transport()
        self._loop = check_loop(*(t.loop or (None, None)))
        self._scale = check_tempo_scale(t.tempo_scale)
        self._anchor_pos = check_position(t.position)
        self._anchor_wall = time.perf_counter()
        self._state = STOPPED
        self._snapshot()
        self._index = self._events.index_at(self._anchor_pos)
        self._sounding: dict[tuple[int, int], float] = {}  # (channel, note) -> piece time its note ends
        self._used: set[int] = set()  # channels sent to since the last silence
        self._gen = 0  # bumped by every command, so a precise wait knows its plan is stale
        self._closed = False
        self._failed = False
        self.open_ended = False  # True: play on past the last note (a live stream still growing)
        self._sent_until = -1.0  # piece time of the last event sent
        self.on_state, self.on_error = on_state, on_error
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True, name="midi-scheduler")
        self._thread.start()
        self._resume(t)

    # ----- what the GUI reads -----
    @property
    def position(self) -> float:
        """Playhead in piece seconds; cheap, read it at display rate. Read from a snapshot, without the
        scheduler's lock: a reader preempted while holding it (a GUI or a jam polling on a loaded machine)
        held the scheduler up for a few hundred ms (see studio.realtime)."""
        state, pos, wall, scale = self._clock
        return pos + (time.perf_counter() - wall) * scale if state == PLAYING else pos

    @property
    def duration(self) -> float:
        return self._events.duration

    @property
    def port_name(self) -> str:
        return getattr(self._port, "name", "") or ""

    def port_present(self) -> bool:
        """Whether the output port still exists (checked by the GUI's player every second or so)."""
        with self._cond:
            port, failed = self._port, self._failed
        return not failed and port_present(port)  # (a query to the MIDI system: not with the scheduler's lock)

    # ----- transport -----
    def play(self) -> None:
        with self._cond:
            if self._closed or self._failed or self._state == PLAYING:
                return
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
            self._restart_at(self._anchor_pos)
            self._state = PLAYING
            self._send_programs()
            self._changed()
        notify(self.on_state, PLAYING)

    def panic(self) -> None:
        """Pause, then all-sound-off and all-notes-off on all 16 channels (for a synth that still hangs)."""
        self._halt(PAUSED, None)
        with self._cond:
            for ch in range(16):
                for cc in (ALL_SOUND_OFF, ALL_NOTES_OFF, SUSTAIN):
                    self._send(mido.Message("control_change", channel=ch, control=cc, value=0))

    def seek(self, seconds: float) -> None:
        seconds = check_position(seconds)
        with self._cond:
            self._silence()
            self._restart_at(seconds)
            if self._state == PLAYING:
                self._send_programs()
            self._changed()

    def set_loop(self, start: float | None, end: float | None) -> None:
        """Loop [start, end) from the next time the playhead reaches `end`; (None, None) ends looping."""
        loop = check_loop(start, end)
        with self._cond:
            # Re-anchor at the playhead (same timing) so a loop set behind the playhead does not wrap at once.
            now = time.perf_counter()
            self._anchor_pos, self._anchor_wall = self._pos(now), now
            self._loop = loop
            self._changed()

    def set_tempo_scale(self, scale: float) -> None:
        scale = check_tempo_scale(scale)
        with self._cond:
            pos = self._pos(time.perf_counter())
            self._silence()
            self._scale = scale
            self._restart_at(pos)
            self._changed()

    def set_piece(self, piece: Piece) -> None:
        """Replace what plays (an edit): heard from the playhead on, without stopping."""
        self._swap_events(compile_events(piece, self._channel, self._program))

    def set_channel_program(self, channel: int | None, program: int | None, piece: Piece) -> None:
        events = compile_events(piece, channel, program)
        with self._cond:
            self._silence()
            self._channel, self._program = channel, program
        self._swap_events(events)
        with self._cond:
            if self._state == PLAYING:
                self._send_programs()

    def set_port(self, port: mido.ports.BaseOutput, owns_port: bool = True) -> None:
        """Move to another output; notes sounding on the old one are ended there first."""
        with self._cond:
            self._silence()
            old, old_owned = self._port, self._owns_port
            self._port, self._owns_port, self._failed = port, owns_port, False
            if self._state == PLAYING:
                self._send_programs()
            self._changed()
        if old_owned:
            close_port(old)

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._silence()
            self._closed = True
            self._changed()
        self._thread.join(timeout=2)
        if self._owns_port:
            close_port(self._port)

    # ----- inside (callers hold self._cond) -----
    def _pos(self, now: float) -> float:
        if self._state != PLAYING:
            return self._anchor_pos
        return self._anchor_pos + (now - self._anchor_wall) * self._scale

    def _restart_at(self, pos: float) -> None:
        self._anchor_pos, self._anchor_wall = pos, time.perf_counter()
        self._index = self._events.index_at(pos)
        self._sent_until = pos - 1e-9  # nothing before a (re)start point counts as late

    def _snapshot(self) -> None:
        """What `position` reads: one tuple, replaced whole (callers hold self._cond)."""
        self._clock = (self._state, self._anchor_pos, self._anchor_wall, self._scale)

    def _changed(self) -> None:
        self._snapshot()
        self._gen += 1
        self._cond.notify_all()

    def _swap_events(self, events: EventTable) -> None:
        with self._cond:
            pos = self._pos(time.perf_counter())
            self._events = events
            self._index = events.index_at(pos)
            if self.open_ended and self._state == PLAYING:
                # A growing stream that arrived late: what it added behind the playhead (and after what was
                # sent) is played now, late, rather than never (up to LATE_LIMIT behind).
                late = events.index_at(max(self._sent_until + 1e-9, pos - LATE_LIMIT))
                self._index = min(self._index, late)
            self._follow_sounding_ends(events, pos)
            self._changed()

    def _follow_sounding_ends(self, events: EventTable, pos: float) -> None:
        """A sounding note the new piece still holds, started before the playhead, ends where the new piece
        says (a note lengthened or shortened by an edit, or a live stream that has since decided when it ends)."""
        waiting = set(self._sounding)
        for i in range(events.index_at(pos) - 1, -1, -1):
            if not waiting or pos - events.times[i] > MAX_SOUNDING_LOOKBACK:
                break
            msg, end = events.messages[i], events.ends[i]
            key = (getattr(msg, "channel", None), getattr(msg, "note", None))
            if end is not None and key in waiting:  # the latest start of that key before the playhead
                waiting.discard(key)
                self._sounding[key] = end  # already past: its note-off goes out at once

    def _halt(self, state: str, position: float | None) -> None:
        with self._cond:
            if self._closed:
                return
            pos = self._pos(time.perf_counter())
            self._silence()
            self._state = state
            self._restart_at(pos if position is None else position)
            self._changed()
        notify(self.on_state, state)

    def _send(self, msg: mido.Message) -> bool:
        if self._failed:
            return False
        try:
            self._port.send(msg)
        except Exception as exc:  # the device went away (ALSA/CoreMIDI raise; the backend's own types)
            self._failed = True
            notify(self.on_error, f"MIDI port {self.port_name!r} stopped taking messages: {exc}")
            return False
        if hasattr(msg, "channel"):
            self._used.add(msg.channel)
        return True

    def _send_programs(self) -> None:
        for msg in self._events.programs_at(self._anchor_pos):
            self._send(msg)

    def _silence(self) -> None:
        """End every sounding note: note-offs for what is on, then all-notes-off and sustain-off."""
        for (ch, note) in list(self._sounding):
            self._send(mido.Message("note_off", channel=ch, note=note, velocity=0))
        self._sounding.clear()
        for ch in sorted(self._used):
            self._send(mido.Message("control_change", channel=ch, control=ALL_NOTES_OFF, value=0))
            self._send(mido.Message("control_change", channel=ch, control=SUSTAIN, value=0))
        self._used.clear()

    def _next_off(self) -> tuple[float, tuple[int, int] | None]:
        if not self._sounding:
            return float("inf"), None
        key = min(self._sounding, key=self._sounding.__getitem__)
        return self._sounding[key], key

    def _step(self, due: float) -> float | None:
        """Send everything due by `due` (piece time); return the time of the next thing to do, or None
        when something was done (look again)."""
        ev = self._events
        off_time, off_key = self._next_off()
        ev_time = float(ev.times[self._index]) if self._index < len(ev.times) else float("inf")
        loop = self._loop if self._loop and self._anchor_pos < self._loop[1] else None
        if loop and ev_time >= loop[1]:
            ev_time = float("inf")  # the loop's end comes first
        if off_time <= due and off_time <= ev_time:
            del self._sounding[off_key]
            self._send(mido.Message("note_off", channel=off_key[0], note=off_key[1], velocity=0))
            return None
        if ev_time <= due:
            msg, end = ev.messages[self._index], ev.ends[self._index]
            self._index += 1
            self._sent_until = ev_time
            if end is not None:
                key = (msg.channel, msg.note)
                if key in self._sounding:  # the same key again before its end: restart it cleanly
                    self._send(mido.Message("note_off", channel=msg.channel, note=msg.note, velocity=0))
                if self._send(msg):
                    self._sounding[key] = end
            else:
                self._send(msg)
            return None
        if loop and loop[1] <= due and off_time > loop[1]:
            # Wrap: the loop restarts exactly one loop-length of wall time later, so no drift builds up.
            wall_at_end = self._anchor_wall + (loop[1] - self._anchor_pos) / self._scale
            self._silence()
            self._anchor_pos, self._anchor_wall = loop[0], wall_at_end
            self._snapshot()
            self._index = ev.index_at(loop[0])
            self._send_programs()
            return None
        if not loop and ev_time == float("inf") and off_time == float("inf") and not self.open_ended:
            self._silence()
            self._state = STOPPED
            self._restart_at(0.0)
            self._snapshot()
            notify(self.on_state, "ended")
            return None
        return min(off_time, ev_time, loop[1] if loop else float("inf"))

    def _run(self) -> None:
        raise_thread_priority(SCHEDULER)
        cond = self._cond
        with cond:
            while not self._closed:
                if self._state != PLAYING or self._failed:
                    cond.wait()
                    continue
                now = time.perf_counter()
                nxt = self._step(self._pos(now) + TOGETHER)
                if nxt is None:
                    continue
                wait = (nxt - self._pos(now)) / self._scale
                if wait > LOOKAHEAD:
                    cond.wait(min(wait - LOOKAHEAD, MAX_SLEEP))
                    continue
                # The last stretch: wait out `wait` precisely with the lock released, so commands still get in.
                gen, target = self._gen, now + wait
                cond.release()
                try:
                    while time.perf_counter() < target:
                        time.sleep(0)  # hands the GIL over without giving up the CPU
                finally:
                    cond.acquire()
                if gen != self._gen:
                    continue
