"""GUI responsiveness while a model trains: event-loop latency of the main window while a background `Job`
trains a real torch LSTM (the same worker the Train panel uses), with progress relayed every step.
With --generate: while the Generate panel samples from a 3x512 performance model (random weights, the
size of Performance RNN) in its background thread, its candidates growing in the list.
With --jam: while the Jam panel plays the shipped performance model (its sampler in a child process) to a
JACK MIDI receiver in another process (JACK's dummy driver, as bench/playback_timing.py); also reports the
onset timing of the jam's notes at the receiver (issue 17: median < 1 ms, p99 < 5 ms).

Goal (issue 7): the GUI thread never blocks for more than 50 ms. A 5 ms timer measures how late the event
loop serves it; the loss curve and metrics repaint from the relayed progress as in the real panel.

    QT_QPA_PLATFORM=offscreen python bench/responsiveness.py [--seconds 10] [--generate | --jam]
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def train_lstm(config, progress, stop):
    """A real little training loop (LSTM language model on random tokens) shaped like the engine's."""
    torch.manual_seed(0)
    if config.get("threads"):
        torch.set_num_threads(config["threads"])
    vocab, hidden = 200, config["hidden"]
    emb = torch.nn.Embedding(vocab, hidden)
    lstm = torch.nn.LSTM(hidden, hidden, num_layers=2, batch_first=True)
    head = torch.nn.Linear(hidden, vocab)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    t0 = time.monotonic()
    step = 0
    while not stop.is_set() and time.monotonic() - t0 < config["seconds"]:
        x = torch.randint(0, vocab, (16, 65))
        out, _ = lstm(emb(x[:, :-1]))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, vocab), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        elapsed = time.monotonic() - t0
        progress({"step": step, "steps": config.get("steps", 10**6), "train_loss": loss.item(), "elapsed": elapsed,
                  "tokens_per_second": step * 16 * 64 / elapsed})
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--thread", action="store_true", help="train in a thread of the GUI process, not a child")
    ap.add_argument("--generate", action="store_true", help="measure while the Generate panel samples instead")
    ap.add_argument("--jam", action="store_true", help="measure while the Jam panel plays to a JACK receiver")
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                    help="torch threads in the worker (default: all cores but one, as the Train panel does; "
                         "0 = torch's default)")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    from studio.app.mainwindow import MainWindow

    window = MainWindow()
    window.show()
    window.docks["Jam" if args.jam else "Generate" if args.generate else "Train"].raise_()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:  # the window's first layout and paint are not what is measured
        app.processEvents()
    if args.jam:
        return jamming(app, window, args)
    if args.generate:
        return report(generating(app, window, args), f"generating for {args.seconds:.0f} s in a thread "
                      "(4 candidates, performance LSTM 3x512)")
    panel = window.train_panel
    panel.set_corpora([("bench", "bench")])
    steps = []
    import responsiveness  # by module name, so the child process can import the function too

    panel.seconds, panel.hidden, panel.threads = args.seconds, args.hidden, args.threads
    panel.config = lambda: {"seconds": args.seconds, "hidden": args.hidden, "threads": args.threads, "corpus": "bench",
                            "preset": "small", "name": "bench", "overrides": {}}
    if args.thread:
        panel.start(train_fn=lambda cfg, progress, stop: responsiveness.train_lstm(cfg, progress, stop))
    else:
        panel.start(train_fn=responsiveness.train_lstm)
    panel.job.progress.connect(lambda e: steps.append(e["step"]))
    lateness = measure(app, panel.is_running)
    panel.job.wait()
    app.processEvents()
    report(lateness, f"training {args.seconds:.0f} s in a {'thread' if args.thread else 'child process'} (torch "
           f"{torch.__version__}, {args.threads or torch.get_num_threads()} threads, LSTM 2x{args.hidden}): "
           f"{len(steps)} steps relayed")


def measure(app, running) -> list[float]:
    """How late (ms) a 5 ms timer fires, tick by tick, while `running()`."""
    lateness: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]
    tick = QTimer(interval=5)

    def on_tick():
        now = clock.nsecsElapsed()
        lateness.append((now - last[0]) / 1e6 - 5.0)
        last[0] = now

    tick.timeout.connect(on_tick)
    tick.start()
    while running():
        app.processEvents()
        time.sleep(0.001)
    tick.stop()
    return lateness


def generating(app, window, args) -> list[float]:
    """Lateness while the Generate panel samples 4 candidates from a 3x512 performance model, cancelled
    after `args.seconds`."""
    import tempfile

    from studio.codecs import get_codec
    from studio.nn import ModelConfig, SequenceModel, save_model

    codec = get_codec("performance")
    folder = Path(tempfile.mkdtemp(prefix="bench-model-")) / "performance-3x512"
    save_model(SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=3, units=512)), folder, codec.config)
    panel = window.generate_panel
    panel.set_models([(folder.name, str(folder))])
    panel.length.setValue(3600)
    panel.start()
    stop_at = time.monotonic() + args.seconds
    lateness = measure(app, lambda: panel.is_running() and time.monotonic() < stop_at)
    panel.cancel()
    panel.job.wait()
    app.processEvents()
    print(f"{panel.results.count()} candidates, the first at {panel.candidate(0)[0].duration:.1f} s of music")
    return lateness


def jamming(app, window, args) -> None:
    """Lateness while the Jam panel plays; then the onset timing of what the receiver got."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from jack_receiver import JackReceiver
    from playback_timing import pair

    with JackReceiver("guijam", 128, realtime=True) as rx:
        deadline = time.monotonic() + 10
        while not any(o[1] == f"port:{rx.port}" for o in window.transport.outputs()) and time.monotonic() < deadline:
            time.sleep(0.1)
        window.playing.choose_output(f"port:{rx.port}")
        panel = window.jam_panel
        panel.model.setCurrentIndex(panel.model.findText("performance (shipped)"))
        panel.start()
        while not panel.running and panel.starting:  # the child process loads the model
            app.processEvents()
            time.sleep(0.01)
        if not panel.running:
            sys.exit(f"the jam did not start: {panel.status.text()}")
        engine = window.transport.player._engine
        t0 = engine._anchor_wall - panel.jam.offset
        stop_at = time.monotonic() + args.seconds
        turned = []

        def running():
            if not turned and time.monotonic() > stop_at - args.seconds / 2:
                panel.temperature.setValue(0.6)  # steer it halfway, as a user would
                turned.append(True)
            return panel.running and time.monotonic() < stop_at

        lateness = measure(app, running)
        panel.stop()
        app.processEvents()
        time.sleep(0.3)
        got = rx.collect()
    jam = panel.jam
    report(lateness, f"jamming {jam.position:.0f} s from the shipped performance model (sampler in a child process) "
           f"to a JACK receiver, temperature changed halfway")
    ons = [(t, m[1]) for t, m in got if m[0] & 0xF0 == 0x90 and m[2] > 0]
    if jam.stalls:
        first = t0 + jam.offset + jam.stalls[0]["at"]
        ons = [(t, p) for t, p in ons if t < first]
    err = pair(np.array([t for t, _ in ons]), np.array([p for _, p in ons]), jam.piece(), t0)
    print(f"onsets at the receiver: {len(ons)} timed (stalls: {len(jam.stalls)}); error ms: median "
          f"{np.median(err):.3f}  p99 {np.percentile(err, 99):.3f}  max {err.max():.3f}   goal: median < 1, p99 < 5")


def report(lateness: list[float], what: str) -> None:
    at = [t / 1000 for t in itertools.accumulate(5.0 + max(0.0, x) for x in lateness)]
    worst = sorted(range(len(lateness)), key=lambda i: -lateness[i])[:3]
    lat = sorted(max(0.0, x) for x in lateness)
    print(what)
    print(f"event-loop lateness over {len(lat)} ticks: median {statistics.median(lat):.2f} ms, "
          f"p99 {lat[int(len(lat) * 0.99) - 1]:.2f} ms, max {lat[-1]:.2f} ms   goal: max < 50 ms")
    print("worst ticks: " + ", ".join(f"{lateness[i]:.0f} ms at {at[i]:.2f} s" for i in worst))
    print(f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
