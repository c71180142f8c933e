"""A jam: endless generation heard live, steered while it plays, and recorded as it is heard.

A stream (`EndlessGeneration` in a thread, or `EndlessProcess` in a child process, which keeps live MIDI timing
exact) samples a short way ahead of the playhead; a feeder thread here
follows the player's position, hands the growing piece to the player (only the notes still to come, so
the cost stays flat however long the jam runs) and moves the generation's playhead on. A settings change
(`update_settings`) reaches the sampler at its next step, so it is heard about `ahead` seconds later.
`stop()` ends every sounding note (the player's stop does) and `recording()` gives back what was heard.

The player is anything with `set_piece`, `set_open_ended`, `seek`, `play`, `stop`, `position` and `state`
(studio.playback.Player); this module does not import playback, so it works with any engine.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from ..errors import InvalidArgument, StudioError
from ..music import Piece
from ..realtime import HELPER, raise_thread_priority

AHEAD_MIDI = 1.5  # seconds sampled ahead of the playhead for a MIDI port (the delay before a change is heard)
AHEAD_SYNTH = 5.0  # the built-in synth renders 2-second segments ahead, so it needs more in hand
FOLK_AHEAD_BARS = 1.0  # until the tune's first notes give its bar length
SYNTH_PUSH_EVERY = 1.0  # seconds of new music between pieces handed to the built-in synth
MIDI_PUSH_EVERY = 0.5  # ... and to a MIDI port: each hand-over compiles MIDI messages in this process, work
# that delays the MIDI scheduler (it shares the interpreter lock); 10 a second left notes 250 ms late
PUSH_MARGIN = 0.5  # seconds of handed-over music below which the player is handed what there is at once
FEED_INTERVAL = 0.1  # how often the feeder looks at the playhead
KEEP_BEHIND = 1.0  # seconds of past notes still handed to the player (notes sounding across the playhead)
START_TIMEOUT = 90.0  # a loaded machine can take a minute to start the sampler process (torch, the model)
LOW_WATER = 0.15  # seconds of music in hand (beyond what the output holds) below which playback waits for
# the sampler rather than skip notes
SYNTH_QUEUE = 2.0  # seconds the built-in synth hands its audio device at once (PulseAudio's buffer)
MAX_AHEAD = 10.0  # a sampler that could not keep up is given up to this much lead


def primed_settings(settings, primer: Piece | None, model):
    """Settings for a jam on `primer`: a folk model plays the primer's tune (its first bars, then tune after
    tune) in the primer's key unless a key is asked for; a performance model continues it as it is."""
    from ..codecs import codec_from_config
    from .rules import rules_for

    key = getattr(primer.key, "tonic", None) if primer is not None else None
    if key and not settings.key and rules_for(codec_from_config(model.codec_config)).unit == "bars":
        settings.key = key
    return settings


class JamFailed(StudioError):
    def __init__(self, reason: str):
        super().__init__(None, None, reason)


class Jam:
    """One jam session. `start()`, then `update_settings(...)` any time, `stop()`, `recording()`."""

    def __init__(self, stream, player, ahead: float | None = None, model_name: str = "", on_error=None):
        """`stream`: an EndlessGeneration (sampled in a thread) or EndlessProcess (in a child process: live
        MIDI timing stays exact), not yet started."""
        self.stream = stream
        self.settings = stream.settings
        self.settings_at_start = self.settings.to_dict()  # `settings` itself follows the live changes
        self.player = player
        self.model_name = model_name
        self.on_error = on_error
        stream.on_error = self._failed
        self.unit = stream.unit
        # Where sampled music begins in the decoded piece (after a primer), in seconds.
        self.offset = float(sum(stream.lengths[t] for t in stream.header)) if self.unit == "seconds" else 0.0
        self.ahead_seconds = ahead
        self.changes: list[dict] = []  # {"time": seconds into the jam, "changes": {...}, "version": n}
        self.error: BaseException | None = None
        self.started_at: float | None = None  # wall clock when playback began
        self.heard = 0.0  # seconds of the jam heard so far (final after stop())
        self.stalls: list[dict] = []  # {"at": jam seconds, "waited": seconds}: the sampler fell behind
        self._piece: Piece | None = None
        self._pushed_tokens = -1
        self._pushed_length = -1.0
        self._push_every = 0.0  # music (in `unit`) to gather between hand-overs; see start()
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._feeder = threading.Thread(target=self._feed, daemon=True, name="jam-feeder")

    # ------------------------------------------------------------------ control
    def start(self, timeout: float = START_TIMEOUT) -> "Jam":
        """Begin sampling, wait until a little music is in hand, then start playing it."""
        if self.ahead_seconds is None:
            self.ahead_seconds = AHEAD_SYNTH if self._builtin() else AHEAD_MIDI
        # The synth renders again every 2-second segment not yet begun on each new piece: hand it one a second
        # (it is far ahead anyway); a MIDI port twice a second (see MIDI_PUSH_EVERY).
        self._push_every = self._to_unit(SYNTH_PUSH_EVERY if self._builtin() else MIDI_PUSH_EVERY)
        if self.ahead_seconds <= 0:
            raise InvalidArgument(f"a jam needs to sample some music ahead, not {self.ahead_seconds} s")
        self.stream.set_ahead(self._to_unit(self.ahead_seconds) if self.unit == "seconds" else FOLK_AHEAD_BARS)
        self.stream.start()
        # The synth hands its device a couple of seconds at once: have those in hand before it starts, or their
        # notes would come too late to be heard (see SynthPlayer.set_piece).
        first = 1.0 + (SYNTH_QUEUE if self._builtin() else 0.0)
        if not self.stream.wait_for(min(self.stream.ahead, self._to_unit(first)), timeout) and self.error is None:
            self.error = JamFailed(f"the model did not sample its first {first:g} s of music within {timeout:g} s")
        if self.error is not None:
            self.stream.stop()
            raise self.error
        self._push(force=True)
        if self.unit != "seconds":  # now that the tune's meter and tempo are known: bars ahead for those seconds
            self.stream.set_ahead(max(1.0, self._to_unit(self.ahead_seconds)))
        self.player.set_open_ended(True)
        self.player.seek(self.offset)
        self.player.play()
        self.started_at = time.perf_counter()
        self._feeder.start()
        return self

    def update_settings(self, **changes) -> None:
        """Temperature, top_k, top_p, note_density, pitch_histogram: used for everything sampled from now on.
        The change is logged with the jam time it was made at (the provenance of a kept recording)."""
        version = self.stream.update_settings(**changes)
        with self._lock:
            self.changes.append({"time": round(self.position, 3), "version": version, "changes": dict(changes)})

    def stop(self) -> None:
        """Stop sampling and playing; every sounding note is ended. The recording stays available."""
        if self._halt.is_set():
            return
        self.heard = self.position
        self._halt.set()
        self.player.stop()
        self.player.set_open_ended(False)
        self.stream.stop(wait=False)  # a child process ends on its own; nobody waits for it
        if self._feeder.is_alive():
            self._feeder.join(timeout=2)

    @property
    def running(self) -> bool:
        return self._feeder.is_alive() and not self._halt.is_set()

    @property
    def position(self) -> float:
        """Seconds of the jam heard so far."""
        if self._halt.is_set() or self.started_at is None:
            return self.heard
        return max(0.0, float(self.player.position) - self.offset)

    # ------------------------------------------------------------------ results
    def piece(self) -> Piece:
        """Everything sampled so far (primer included), decoded."""
        return self.stream.piece()

    def recording(self, last_seconds: float | None = None) -> Piece:
        """What was heard (to the playhead, or to where it stopped), starting at 0: the whole jam, or only
        its last `last_seconds`. Notes sounding at the cut end there, as the player ended them."""
        heard_end = self.offset + self.position
        begin = self.offset if last_seconds is None else max(self.offset, heard_end - float(last_seconds))
        piece = self.piece()
        notes = piece.notes[(piece.notes["start"] >= begin) & (piece.notes["start"] < heard_end)].copy()
        notes["end"] = np.minimum(notes["end"], heard_end)
        out = piece.with_notes(notes)
        p = piece.pedals
        out.pedals = p[(p["start"] < heard_end) & (p["end"] > begin)].copy()
        if len(out.pedals):
            out.pedals["start"] = np.maximum(out.pedals["start"], begin)
            out.pedals["end"] = np.minimum(out.pedals["end"], heard_end)
        return out.shift(-begin) if begin else out

    def provenance(self, last_seconds: float | None = None) -> dict:
        """Model, starting settings and seed, every change of settings with its time, and what was kept."""
        heard = self.position
        begin = 0.0 if last_seconds is None else max(0.0, heard - float(last_seconds))
        return {"source": f"jam with {self.model_name or 'a model'}", "kind": "jam", "model": self.model_name,
                "settings": dict(self.settings_at_start), "seed": self.settings.seed, "changes": list(self.changes),
                "heard_seconds": round(heard, 3), "stalls": list(self.stalls), "kept_from": round(begin, 3), "kept_to": round(heard, 3),
                "sampled_from": self.change_points()}

    def change_points(self) -> list[dict]:
        """For each settings change: when it was made and from where in the music (seconds into the jam) the
        music was sampled with it; the difference is the delay before a change is heard."""
        tokens = self.stream.tokens()
        lengths = np.asarray(self.stream.lengths)
        clock = np.concatenate([[0.0], np.cumsum(lengths[tokens])]) if len(tokens) else np.zeros(1)
        scale = 1.0 if self.unit == "seconds" else self._seconds_per_bar()
        steps = dict(self.stream.applied)
        out = []
        for change in self.changes:
            step = steps.get(change["version"])
            music = None if step is None or step >= len(clock) else round(float(clock[step]) * scale, 3)
            out.append({"made_at": change["time"], "step": step, "music_from": music})
        return out

    # ------------------------------------------------------------------ inside
    def _builtin(self) -> bool:
        return str(getattr(self.player, "output", "")).startswith("built-in")

    def _to_unit(self, seconds: float) -> float:
        if self.unit == "seconds":
            return seconds
        return seconds / self._seconds_per_bar()

    def _seconds_per_bar(self) -> float:
        """A folk tune's bar in seconds, from the meter and tempo of the latest tune (one of each per tune)."""
        piece = self._piece
        if piece is None or not len(piece.time_signatures):
            return 2.0
        numerator, denominator = int(piece.time_signatures["numerator"][-1]), int(piece.time_signatures["denominator"][-1])
        return numerator * 4.0 / denominator * 60.0 / float(piece.tempos["qpm"][-1])

    def _push(self, force: bool = False, low: bool = False) -> None:
        """Hand the player what is still to come (and what sounds across the playhead): once `_push_every` of
        new music is in, or whatever there is when the player is running `low`."""
        count, length = self.stream.count, self.stream.length
        if not force and (count == self._pushed_tokens or (length - self._pushed_length < self._push_every and not low)):
            return
        self._pushed_tokens, self._pushed_length = count, length
        piece = self.piece()
        self._piece = piece
        now = float(self.player.position) if self.started_at is not None else self.offset
        keep = piece.notes["end"] >= now - KEEP_BEHIND
        window = piece.with_notes(piece.notes[keep])
        window.pedals = piece.pedals[piece.pedals["end"] >= now - KEEP_BEHIND].copy()
        self.player.set_piece(window)

    def _feed(self) -> None:
        raise_thread_priority(HELPER)  # it shares the interpreter lock with the MIDI scheduler (studio.realtime)
        try:
            while not self._halt.wait(FEED_INTERVAL):
                heard = max(0.0, float(self.player.position) - self.offset)
                self.stream.set_playhead(self._to_unit(heard))
                lead = float(getattr(self.player, "lead", 0.0))  # handed to the output, not heard yet
                if self._in_hand(heard) < LOW_WATER + lead:
                    self._stall(heard, lead)
                self._push(low=self._in_hand(heard, self._pushed_length) < LOW_WATER + lead + PUSH_MARGIN)
                if self.error is not None:
                    break
        except Exception as exc:  # the output failed under us: report, and stop
            self._failed(exc)

    def _in_hand(self, heard: float, length: float | None = None) -> float:
        """Seconds of music sampled (or of `length`, in the stream's unit) beyond what is heard."""
        scale = 1.0 if self.unit == "seconds" else self._seconds_per_bar()
        return (self.stream.length if length is None else length) * scale - heard

    def _stall(self, heard: float, lead: float = 0.0) -> None:
        """The sampler fell behind (a loaded machine): pause until it is ahead again, by the output's own
        `lead` too, and give it more lead, so that no note is skipped; the wait is logged (playback time
        then stops with the sound: a jam of S seconds still sounds for S seconds)."""
        began = time.perf_counter()
        self.player.pause()
        self.stream.set_ahead(min(self.stream.ahead * 1.5, self._to_unit(MAX_AHEAD)))
        self.ahead_seconds = min(self.ahead_seconds * 1.5, MAX_AHEAD)
        while not self._halt.is_set() and self.error is None and self._in_hand(heard) < 2 * LOW_WATER + lead:
            self.stream.wait_for(self.stream.length + self._to_unit(LOW_WATER), timeout=0.1)
        if self._halt.is_set():
            return
        self._push(force=True)
        self.player.play()
        self.stalls.append({"at": round(heard, 3), "waited": round(time.perf_counter() - began, 3)})

    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        if self.on_error:
            self.on_error(exc)
