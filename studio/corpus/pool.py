"""Worker processes for corpus work (import encoding, training batches): started the safe way for the
calling process, and gone the moment it dies."""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def worker_pool(workers: int, initializer=None, initargs: tuple = ()) -> ProcessPoolExecutor:
    """A process pool whose workers die with this process; `initializer(*initargs)` then runs in each."""
    context = _pool_context()
    parent = os.getpid() if context.get_start_method() == "fork" else None
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(parent, initializer, initargs))


def _start_worker(parent: int | None, initializer, initargs: tuple) -> None:
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def _pool_context():
    """fork when this process runs one thread (fast, and the caller's main module is not re-run); with
    other threads running (the GUI) fork is unsafe, so forkserver (or spawn where that is missing)."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def die_with_parent(parent: int | None) -> None:
    """Worker start-up: end this worker the moment the process that started it dies (a killed import must
    not leave workers encoding for nobody). Linux: the kernel's parent-death signal; elsewhere a thread
    that watches the parent id. `parent` is the importing process when workers are forked from it (they
    may have missed its death before the signal was armed); under forkserver the server is the parent,
    and it exits when the importing process does."""
    import signal
    import sys

    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        start = os.getppid()

        def watch() -> None:
            while os.getppid() == start:
                time.sleep(0.2)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="die-with-parent").start()
    if parent is not None and os.getppid() != parent:
        os._exit(1)
