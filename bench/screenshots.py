"""Screenshots of the desktop studio for review: the main window with a folk tune (roll + ABC view), with a
piano performance (selection, loop, playhead), the Train panel mid-run (a real torch LSTM training in the
child-process worker), the Generate panel while candidates grow and when they are done (a small folk model
trained here on the example tunes by the real trainer, sampled by the real engine), a generated tune open in
the editor, the Library card and the shortcut list.

    QT_QPA_PLATFORM=offscreen python bench/screenshots.py [--out DIR] [--steps N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("STUDIO_HOME", tempfile.mkdtemp(prefix="studio-shots-"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from studio import atomic  # noqa: E402
from studio.music.piece import Piece  # noqa: E402
from studio.paths import shipped_path, studio_home  # noqa: E402

MAESTRO = sorted(Path(os.environ.get("STUDIO_SHARED", HERE.parent.parent / "shared")).glob("corpora/maestro-samples/*.mid")) \
    or sorted(Path("/work/shared/corpora/maestro-samples").glob("*.mid"))


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def library_fixtures(steps: int) -> str:
    """A real corpus (the example tunes) and a small folk model trained on it, so the library, the menus
    and the Generate panel show what a user would see."""
    from studio.codecs import get_codec
    from studio.corpus.store import write_corpus
    from studio.music.abc_io import read_abc_tunes
    from studio.training import Trainer, make_config

    codec = get_codec("folk")
    tunes = [codec.encode_abc(t.text) for t in read_abc_tunes(shipped_path("corpora", "examples", "session-tunes.abc"))]
    corpus = write_corpus("session-tunes", codec, tunes, sources=["corpora/examples/session-tunes.abc"],
                          split={"method": "hash", "valid": 0.0, "test": 0.0})
    model = studio_home() / "models" / "folk-small"
    config = make_config("small", layers=2, units=128, embedding=32, batch_size=4, seq_len=64, steps=steps,
                         warmup_steps=10, eval_every=steps, log_every=10, checkpoint_every=steps, device="cpu", seed=1)
    Trainer(model, config, corpus).run()
    return str(model)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(HERE / "screenshots"))
    ap.add_argument("--steps", type=int, default=200, help="training steps of the folk model shown (default 200)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model_dir = library_fixtures(args.steps)
    app = QApplication.instance() or QApplication([])
    from studio.app.actions import ShortcutsDialog
    from studio.app.main import make_app
    from studio.app.mainwindow import MainWindow

    make_app([])
    window = MainWindow()
    window.resize(1500, 900)
    window.show()
    saved = []

    def shot(widget, name: str) -> None:
        settle(app)
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        saved.append(path)

    window.files.open_paths([shipped_path("corpora", "examples", "session-tunes.abc")])
    window.tabs.setCurrentIndex(1)
    shot(window, "main-folk-tune")

    if MAESTRO:
        window.files.open_paths([MAESTRO[0]])
    else:
        window.add_piece(Piece.read(shipped_path("corpora", "examples", "session-tunes.abc")).stretch(0.7))
    roll = window.current_roll()
    doc = roll.document
    doc.set_selection((doc.notes["start"] > 4.0) & (doc.notes["start"] < 6.0))
    roll.set_loop((4.0, 8.0))
    roll.set_playhead(5.0)
    shot(window, "main-performance")

    roll.view.zoom_to_fit()
    shot(window, "main-performance-whole")

    import responsiveness  # the real little LSTM training loop

    window.docks["Train"].raise_()
    panel = window.train_panel
    panel.set_corpora([("session-tunes", str(studio_home() / "corpora" / "session-tunes"))])
    panel.config = lambda: {"seconds": 25, "hidden": 128, "threads": 1, "corpus": "session-tunes", "steps": 400,
                            "preset": "small", "name": "screenshot-run", "overrides": {}}
    panel.start(train_fn=responsiveness.train_lstm)
    deadline = time.monotonic() + 60
    while len(panel.plot.train) < 25 and time.monotonic() < deadline:
        settle(app, 0.2)
    shot(window.docks["Train"], "train-panel-mid-run")
    panel.stop()
    panel.job.wait(30000)

    window.docks["Generate"].raise_()
    gen = window.generate_panel
    gen.choose_model(model_dir)
    gen.meter.setCurrentText("6/8")
    gen.key.setCurrentText("D")
    gen.temperature.setValue(0.9)
    gen.length.setValue(32)
    gen.candidates.setValue(6)
    gen.seed.setValue(2026)
    from studio.app import genjob

    genjob.GROW_EVERY = 0.05  # a tiny model samples fast: report often enough to catch it growing
    gen.start()
    deadline = time.monotonic() + 60
    growing = lambda: gen.results.count() and "growing" in gen.results.item(0).text()  # noqa: E731
    while not growing() and gen.is_running() and time.monotonic() < deadline:
        app.processEvents()
    path = out / "generate-panel-growing.png"  # grabbed at once, before the run ends
    window.docks["Generate"].grab().save(str(path))
    saved.append(path)
    gen.job.wait(120000)
    settle(app)
    shot(window.docks["Generate"], "generate-panel")
    gen.open_item(gen.results.item(0))
    shot(window, "main-generated-tune")

    lib = window.library
    lib.refresh()
    top = lib.tree.topLevelItem(2)
    if top and top.childCount():
        lib.tree.setCurrentItem(top.child(0))
    shot(window.docks["Library"], "library-panel")

    dialog = ShortcutsDialog(window)
    dialog.show()
    shot(dialog, "shortcuts")
    for p in saved:
        print(p)


if __name__ == "__main__":
    main()
