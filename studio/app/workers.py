"""Long jobs off the GUI thread. A job is a plain function `fn(*args, progress=..., stop=...)` (the same one
the CLI wraps in tqdm); `Job` runs it in a QThread and relays its progress as Qt signals, so the window
stays responsive and the job can be stopped."""
from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QObject, Qt, QThread, Signal

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

    def start(self) -> "Job":
        self.thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop at its next check (it saves what it has, e.g. a checkpoint)."""
        self.stop_flag.set()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms)
