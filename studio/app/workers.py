"""Long jobs off the GUI thread. A job is a plain function `fn(*args, progress=..., stop=...)` (the same one
the CLI wraps in tqdm). `Job` runs it in a QThread; `ProcessJob` runs it in a child process (training: torch
holds the GIL for hundreds of milliseconds while it initialises, which would freeze a thread-based GUI).
Both relay progress as Qt signals and can be stopped; `make_job` picks one."""
from __future__ import annotations

import json
import os
import sys
import threading
import traceback

from PySide6.QtCore import QObject, QProcess, Qt, QThread, Signal

from ..errors import StudioError


class _Runner(QObject):
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn, args, kwargs, stop: threading.Event):
        super().__init__()
        self.fn, self.args, self.kwargs, self.stop = fn, args, kwargs, stop

    def run(self) -> None:
        try:
            result = self.fn(*self.args, progress=self.progress.emit, stop=self.stop, **self.kwargs)
        except StudioError as exc:
            self.failed.emit(exc.message())
        except Exception as exc:  # the job's bug must reach the user as a message, not kill the app
            self.failed.emit(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=6)}")
        else:
            self.finished.emit(result)


class Job(QObject):
    """One background job. Signals: progress(obj) from the job, finished(result), failed(message), done()."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    done = Signal()  # after finished or failed, once the thread has ended

    def __init__(self, fn, *args, parent=None, **kwargs):
        super().__init__(parent)
        self.stop_flag = threading.Event()
        self.thread = QThread()
        self.runner = _Runner(fn, args, kwargs, self.stop_flag)
        self.runner.moveToThread(self.thread)
        self.thread.started.connect(self.runner.run)
        self.runner.progress.connect(self.progress)
        self.runner.finished.connect(self.finished)
        self.runner.failed.connect(self.failed)
        # Direct: the thread ends even while the GUI thread is blocked in wait() (closing the window).
        self.runner.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.runner.failed.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.thread.finished.connect(self.done)
        self._active = False
        self.done.connect(self._ended)

    def start(self) -> "Job":
        self._active = True
        self.thread.start()
        return self

    def _ended(self) -> None:
        self._active = False

    def stop(self) -> None:
        """Ask the job to stop at its next check (it saves what it has, e.g. a checkpoint)."""
        self.stop_flag.set()

    def is_running(self) -> bool:
        """Until `done` reached the GUI thread: its `finished` result has been handled by then (queued
        signals arrive in order), so a caller that waits for this never sees a half-delivered job."""
        return self._active or self.thread.isRunning()

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms)


class ProcessJob(QObject):
    """The same job in a child process (`studio.app.jobproc`), talking JSON lines over stdin/stdout: the
    function must be importable by name and its arguments, progress and result JSON-ready."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    done = Signal()

    NICE = 10  # the child runs at a lower CPU priority, so the window keeps its share on a busy machine

    def __init__(self, fn, *args, parent=None, **kwargs):
        super().__init__(parent)
        self.target = target_name(fn)
        self.spec = json.dumps({"target": self.target, "args": list(args), "kwargs": kwargs, "nice": self.NICE})
        self.process = QProcess(self)
        env = self.process.processEnvironment()
        if env.isEmpty():
            from PySide6.QtCore import QProcessEnvironment

            env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
        self.process.setProcessEnvironment(env)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._ended)
        self._buffer = b""
        self._ended_with_message = False
        self._stderr = b""
        self.stop_flag = threading.Event()  # mirrors Job: set once stop() is asked

    def start(self) -> "ProcessJob":
        self.process.start(sys.executable, ["-m", "studio.app.jobproc"])
        self.process.write((self.spec + "\n").encode())
        return self

    def stop(self) -> None:
        self.stop_flag.set()
        if self.process.state() == QProcess.ProcessState.Running:
            self.process.write(b"stop\n")

    def is_running(self) -> bool:
        """False once the job has reported its end (the process may take a moment more to exit)."""
        return not self._ended_with_message and self.process.state() != QProcess.ProcessState.NotRunning

    def wait(self, ms: int = 30000) -> bool:
        running = self.process.state() != QProcess.ProcessState.NotRunning
        ok = self.process.waitForFinished(ms) if running else True
        self._read()
        return ok

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # something the job printed itself
            if not isinstance(message, dict):
                continue
            if "progress" in message:
                self.progress.emit(message["progress"])
            elif "finished" in message:
                self._ended_with_message = True
                self.finished.emit(message["finished"])
            elif "failed" in message:
                self._ended_with_message = True
                self.failed.emit(message["failed"])

    def _ended(self, code: int, _status) -> None:
        self._read()
        if not self._ended_with_message:
            err = bytes(self.process.readAllStandardError().data()).decode(errors="replace").strip()
            tail = err.splitlines()[-1] if err else ""
            self.failed.emit(f"the job's process ended unexpectedly (exit code {code}){': ' + tail if tail else ''}")
            self._ended_with_message = True
        self.done.emit()


def target_name(fn) -> str:
    """"module:qualname" when `fn` can be imported by name in another process, else ""."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        return ""
    return f"{module}:{qualname}"


def make_job(fn, *args, parent=None, in_process: bool = False, **kwargs):
    """A `ProcessJob` when asked and possible (importable function, JSON-ready arguments), else a `Job`."""
    if in_process and target_name(fn):
        try:
            json.dumps([args, kwargs])
            return ProcessJob(fn, *args, parent=parent, **kwargs)
        except TypeError:
            pass
    return Job(fn, *args, parent=parent, **kwargs)
