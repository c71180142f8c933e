"""The MIDI receiver the timing benches play to: a JACK dummy server (or the one already running) and a
separate process with an input port `CLIENT:in` that stamps every arrival with the monotonic clock; and
`StampedPort`, which notes when our scheduler handed each message to the real port (what our code controls).

    with JackReceiver("timing", period=128) as rx:   # rx.port: the port name to play to
        ...play...
        got = rx.collect()                          # [(perf_counter seconds, [bytes])]
"""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time


def receive(client: str, ready, out, stop) -> None:
    """The receiving process: a JACK MIDI input port, polled, every message stamped on arrival."""
    import rtmidi

    try:  # a receiver that the machine's other work cannot starve (where the OS allows)
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(20))
    except (AttributeError, OSError):
        pass
    rx = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client, queue_size_limit=8192)
    rx.open_virtual_port("in")
    ready.set()
    got = []
    while not stop.is_set():
        msg = rx.get_message()
        if msg:
            got.append((time.perf_counter(), msg[0]))
        else:
            time.sleep(0.0001)
    out.put(got)


def start_jack(period: int, realtime: bool):
    """A JACK dummy server, or None when one is already running (we use that one)."""
    if shutil.which("jackd") is None:
        sys.exit("jackd not found (Debian: apt-get install jackd2)")
    os.environ["JACK_NO_START_SERVER"] = "1"
    proc = subprocess.Popen(["jackd", "--realtime" if realtime else "--no-realtime", "-d", "dummy", "-r", "48000",
                             "-p", str(period)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    if proc.poll() is not None:
        print("(using the JACK server already running; its period and priority may differ)")
        return None
    return proc


class JackReceiver:
    """A JACK server and a receiving process for the length of a `with` block; the server is ended after."""

    def __init__(self, client: str, period: int = 128, realtime: bool = True):
        self.client, self.port = client, f"{client}:in"
        self.period, self.realtime = period, realtime

    def __enter__(self) -> "JackReceiver":
        import mido

        self._jack = start_jack(self.period, self.realtime)
        try:
            mido.set_backend("mido.backends.rtmidi/UNIX_JACK")
            self._ready, self._stop, self._out = mp.Event(), mp.Event(), mp.Queue()
            self._proc = mp.Process(target=receive, args=(self.client, self._ready, self._out, self._stop), daemon=True)
            self._proc.start()
            self._ready.wait(10)
            deadline = time.monotonic() + 30  # (a loaded machine is slow to start JACK clients)
            while self.port not in mido.get_output_names() and time.monotonic() < deadline:
                time.sleep(0.1)  # JACK registers the receiver's port asynchronously
            time.sleep(0.2)
        except BaseException:
            self._end_jack()
            raise
        return self

    def collect(self) -> list[tuple[float, list[int]]]:
        """Stop receiving; every message that arrived, stamped."""
        self._stop.set()
        got = self._out.get(timeout=10)
        self._proc.join(5)
        return got

    def __exit__(self, *exc) -> None:
        self._end_jack()

    def _end_jack(self) -> None:
        if self._jack is not None:
            self._jack.terminate()
            self._jack.wait(10)


class StampedPort:
    """The real port, noting in `sent` when each message was handed over."""

    def __init__(self, port):
        self._port, self.name, self.sent = port, port.name, []
        # The port's own rtmidi client, which the player's port-presence check asks (without it the check
        # opens a new JACK client every second, which stalls JACK and the scheduler: not what users get).
        self._rt = getattr(port, "_rt", None)

    def send(self, msg) -> None:
        self._port.send(msg)
        self.sent.append((time.perf_counter(), msg.bytes()))

    def close(self) -> None:
        self._port.close()
