"""Thread priority for live timing: the MIDI scheduler asks to run before ordinary work, as audio software
does, and so do the few threads of a jam that share the interpreter lock with it.

Why the helpers too: a thread that holds the interpreter lock and is then preempted by another process
(a loaded machine: a training run, other programs) keeps the scheduler waiting for the lock until it runs
again, however high the scheduler's own priority (priority inversion; notes left 200-400 ms late at a load
of 5-10 on 2 cores). Helpers that run briefly and sleep between can be given real-time priority too, a
step below the scheduler's.
"""
from __future__ import annotations

import os
import threading

SCHEDULER = 10  # real-time round-robin priority of the MIDI scheduler thread
HELPER = 5  # ... of threads that share the interpreter lock with it and run briefly (a jam's feeder, reader)


def raise_thread_priority(level: int = SCHEDULER) -> bool:
    """Ask the OS to run the calling thread before ordinary work: real-time round-robin at `level` where the
    user may (root, or Linux's `audio` group), else a better nice value, else nothing. True when real-time."""
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(level))  # 0 = the calling thread on Linux
        return True
    except (AttributeError, OSError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -5)
    except (AttributeError, OSError):
        pass
    return False
