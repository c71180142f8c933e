"""Endless generation sampled in a child process: the same stream as `EndlessGeneration`, but the sampler
never holds this process's interpreter lock. Live playback's scheduler thread shares that lock; with the
sampler in the same process its notes left up to 250 ms late on a loaded machine (bench/jam.py), against
10 ms with the sampler in a child.

Protocol (JSON lines, no pickles): the parent writes one line `{"model": DIR, "device": D, "settings": {...},
"header": [ids] | null, "ahead": X}`, then any of `{"playhead": X}`, `{"ahead": X}`, `{"settings": {...}}`
and `"stop"`. The child answers `{"tokens": [...]}`, `{"applied": [version, step]}` and, on failure,
`{"failed": message}`. The parent builds the same `Generation` (never run) to check settings, decode
and know the header, so both sides agree on settings versions.

    python -m studio.generation.endless_process   (started by EndlessProcess)
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import StudioError
from ..music import Piece
from ..nn import SequenceModel
from ..realtime import HELPER, raise_thread_priority
from .endless import EndlessGeneration, Stream
from .rules import Plan
from .sampler import Generation, Settings

FORWARD_INTERVAL = 0.05  # how often the child sends what it has sampled (each message wakes a thread of the
# playing process, one more chance to hold the interpreter lock when preempted: see studio.realtime)


class SamplerFailed(StudioError):
    def __init__(self, reason: str):
        super().__init__(None, None, reason)


class EndlessProcess(Stream):
    """`model` is loaded here too (cheap next to sampling) to check settings and decode; `model_dir` is what
    the child loads."""

    def __init__(self, model: SequenceModel, model_dir: str | Path, settings: Settings | None = None,
                 primer: Piece | None = None, ahead: float = 10.0, device: str = "cpu", on_error=None):
        super().__init__(Generation(model, 1, settings, primer=primer, endless=True), ahead, on_error)
        self.model_dir = str(Path(model_dir).resolve())
        self.device = device
        self.primed = primer is not None  # the child is told the primer's tokens (it has no primer piece)
        self.applied: list[tuple[int, int]] = []
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def start(self) -> "EndlessProcess":
        root = str(Path(__file__).resolve().parent.parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self._proc = subprocess.Popen([sys.executable, "-m", "studio.generation.endless_process"], env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, bufsize=1)
        g = self.generation
        self._send({"model": self.model_dir, "device": self.device, "settings": g.settings.to_dict(),
                    "header": self.header if self.primed else None,
                    "ahead": self.ahead})
        self._reader = threading.Thread(target=self._read, daemon=True, name="endless-process-reader")
        self._reader.start()
        return self

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        self._send("stop")
        with self._changed:
            self._changed.notify_all()
        if wait and self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()

    def set_playhead(self, position: float) -> None:
        self._playhead = float(position)
        self._send({"playhead": self._playhead})

    def set_ahead(self, ahead: float) -> None:
        self.ahead = float(ahead)
        self._send({"ahead": self.ahead})

    def update_settings(self, **changes) -> int:
        version = self.generation.update_settings(**changes)  # checks them; the child counts versions alike
        self._send({"settings": changes})
        return version

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and not self._done

    def _send(self, message) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        with self._write_lock:
            try:
                self._proc.stdin.write(json.dumps(message) + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):  # the child has gone; the reader reports why
                pass

    def _read(self) -> None:
        raise_thread_priority(HELPER)  # it shares the interpreter lock with the MIDI scheduler (studio.realtime)
        error = None
        for line in self._proc.stdout:
            message = json.loads(line)
            if "tokens" in message:
                self._append(message["tokens"])
            elif "applied" in message:
                self.applied.append(tuple(message["applied"]))
            elif "failed" in message:
                error = SamplerFailed(message["failed"])
        if error is None and not self._stop.is_set():
            self._proc.wait()
            error = SamplerFailed(f"the sampler process ended unexpectedly (exit status {self._proc.returncode}): "
                                  f"{self._proc.stderr.read().strip()[-500:]}")
        self._finish(error)


def child() -> int:
    from ..nn import load_model
    from ..training import pick_device

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's: it ends us with "stop" (or EOF)
    spec = json.loads(sys.stdin.readline())
    out_lock = threading.Lock()

    def emit(message) -> None:
        with out_lock:
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()

    try:
        model = load_model(spec["model"], pick_device(spec.get("device", "cpu")))
        settings = Settings.from_dict(spec["settings"])
        endless = EndlessGeneration(model, settings, ahead=spec["ahead"])
        if spec.get("header"):
            codec_bos = endless.generation.codec.bos_id
            endless.generation.plan = Plan([codec_bos] + spec["header"], [], spec["header"])
            endless.header = list(spec["header"])
        endless.start()
    except Exception as exc:  # reported to the parent as one line
        emit({"failed": getattr(exc, "message", lambda: str(exc))() if isinstance(exc, StudioError) else str(exc)})
        return 1
    stopped = threading.Event()

    def commands() -> None:
        for line in sys.stdin:
            message = json.loads(line)
            if message == "stop":
                break
            if "playhead" in message:
                endless.set_playhead(message["playhead"])
            if "ahead" in message:
                endless.set_ahead(message["ahead"])
            if "settings" in message:
                endless.update_settings(**message["settings"])
        stopped.set()  # "stop", or the parent went away

    threading.Thread(target=commands, daemon=True).start()
    sent, applied = 0, 0
    while not stopped.wait(FORWARD_INTERVAL):
        new = endless.new_tokens(sent)
        if len(new):
            emit({"tokens": new.tolist()})
            sent += len(new)
        marks = endless.applied
        for version, step in marks[applied:]:
            emit({"applied": [version, step]})
        applied = len(marks)
        if endless.error is not None:
            emit({"failed": str(endless.error)})
            break
        if not endless.running:
            break
    endless.stop()
    return 0


if __name__ == "__main__":
    sys.exit(child())
