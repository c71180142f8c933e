"""Screenshots of the desktop studio for review: the main window with a folk tune (roll + ABC view), with a
piano performance (selection, loop, playhead), the Train panel mid-run (a real torch LSTM training in the
child-process worker), the Generate panel, the Library card and the shortcut list.

    QT_QPA_PLATFORM=offscreen python bench/screenshots.py [--out DIR]

The generation engine is merged separately; until then the Generate panel's candidate list is filled with
the example tunes, each labelled with the settings a real run would carry.
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


def library_fixtures() -> str:
    """A corpus and a model folder in the contract formats, so the library and menus have something to show."""
    home = studio_home()
    atomic.write_json(home / "corpora" / "session-tunes" / "corpus.json", {
        "name": "session-tunes", "codec": {"codec": "folk", "vocab": []}, "created": "2026-11-22T01:00:00",
        "sources": [str(shipped_path("corpora", "examples", "session-tunes.abc"))],
        "stats": {"pieces": 4, "tokens": 912, "skipped": 0}, "split": {"method": "hash", "valid": 0.05, "test": 0.05}})
    model = home / "models" / "folk-small"
    atomic.write_json(model / "model.json", {
        "format": "studio-model", "architecture": {"vocab_size": 8, "cell": "lstm", "layers": 2, "units": 256,
                                                   "embedding": 64}, "parameters": 1_234_567,
        "training": {"corpus": "session-tunes", "steps": 2000, "valid_nll_per_token": 1.31, "train_loss": 1.22,
                     "wall_time_s": 640.0, "hardware": "cpu"},
        "codec": {"codec": "folk", "vocab": ["M:6/8", "M:4/4", "M:3/4", "M:9/8", "K:Cmaj", "K:Cmin", "K:Cdor", "K:Cmix"]}})
    return str(model)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(HERE / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model_dir = library_fixtures()
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

    window.open_paths([shipped_path("corpora", "examples", "session-tunes.abc")])
    window.tabs.setCurrentIndex(1)
    shot(window, "main-folk-tune")

    if MAESTRO:
        window.open_paths([MAESTRO[0]])
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
    gen.meter.setCurrentText("M:6/8")
    gen.mode.setCurrentText("K:Cdor")
    for k, piece in enumerate(Piece.read_all(shipped_path("corpora", "examples", "session-tunes.abc"))):
        gen.add_candidate(piece, gen.settings() | {"seed": gen.seed.value() + k})
    shot(window.docks["Generate"], "generate-panel")

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
