"""The generation panel: model, temperature, top-p/top-k, candidates, length, seed, and for folk models
meter/mode (from the model's own vocabulary) and a typed start of a tune; for performance models a primer.

Generation runs in a background `Job` calling the engine's `generate(model_dir, settings, progress=...,
stop=...)`. The engine reports each finished candidate as a progress event `{"candidate": (piece, info)}`
(and `{"fraction": x}` for the bar), so candidates appear as they are produced; each one is listed with the
settings that made it and opens in the editor with a double-click.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from ..music.piece import Piece
from . import engines
from .widgets import button_row, fill_combo, select_data
from .workers import Job

TEMPERATURE_TIP = ("How adventurous the model is. 1.0 samples the model as trained; lower (0.5) is more "
                   "cautious and repetitive; higher (1.5–2) is wilder and makes more mistakes.")
PRIMERS = ("None", "Current piece", "Current selection", "MIDI file…")


def model_vocabulary(model_dir: str) -> list[str]:
    """The model's token names, read from its model.json (codec config holds the vocab)."""
    try:
        info = json.loads((Path(model_dir) / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    codec = info.get("codec") or {}
    return [str(t) for t in codec.get("vocab", [])]


def model_codec_name(model_dir: str) -> str:
    try:
        info = json.loads((Path(model_dir) / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str((info.get("codec") or {}).get("codec", ""))


class GeneratePanel(QWidget):
    candidateOpened = Signal(object, dict)  # Piece, provenance
    error = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job: Job | None = None
        self.primer_provider = None  # set by the window: callable(kind) -> Piece | None for current piece/selection
        self.primer_file = ""
        self.model = QComboBox()
        self.temperature = QDoubleSpinBox(minimum=0.01, maximum=10.0, singleStep=0.05, decimals=2, value=1.0)
        self.temperature.setToolTip(TEMPERATURE_TIP)
        self.top_p = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2, value=1.0)
        self.top_p.setToolTip("Nucleus sampling: keep the most likely tokens whose probabilities add up to this "
                              "(1.0 = off)")
        self.top_k = QSpinBox(minimum=0, maximum=10000, value=0)
        self.top_k.setToolTip("Sample only among the k most likely tokens (0 = off)")
        self.candidates = QSpinBox(minimum=1, maximum=64, value=4)
        self.length = QDoubleSpinBox(minimum=1, maximum=100000, decimals=0, value=16)
        self.length_unit = QComboBox()
        self.length_unit.addItems(["bars", "seconds"])
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setValue(random.randrange(2**31))
        self.seed.setToolTip("The same model, settings and seed give the same result; change it for another")
        self.new_seed = QPushButton("New seed")
        self.meter = QComboBox()
        self.mode = QComboBox()
        self.abc_start = QLineEdit()
        self.abc_start.setPlaceholderText("optional start of the tune, e.g. |: d2B c2A |")
        self.primer = QComboBox()
        self.primer.addItems(list(PRIMERS))
        self.primer.setToolTip("Notes the performance model continues from")

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Top-k", self.top_k)
        form.addRow("Candidates", self.candidates)
        length = QHBoxLayout()
        length.addWidget(self.length)
        length.addWidget(self.length_unit)
        form.addRow("Length", length)
        seed = QHBoxLayout()
        seed.addWidget(self.seed, 1)
        seed.addWidget(self.new_seed)
        form.addRow("Seed", seed)
        self.folk_rows = (QLabel("Meter"), QLabel("Mode"), QLabel("Start (ABC)"))
        form.addRow(self.folk_rows[0], self.meter)
        form.addRow(self.folk_rows[1], self.mode)
        form.addRow(self.folk_rows[2], self.abc_start)
        self.primer_label = QLabel("Primer")
        form.addRow(self.primer_label, self.primer)
        self.form = form
        self.generate_button = QPushButton("Generate")
        self.cancel_button = QPushButton("Cancel")
        buttons = button_row(self.generate_button, self.cancel_button)
        self.progress = QProgressBar()
        self.results = QListWidget()
        self.results.setToolTip("Double-click a candidate to open it in the editor")
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(QLabel("Candidates"))
        layout.addWidget(self.results, 1)
        layout.addWidget(self.status)

        self.new_seed.clicked.connect(lambda: self.seed.setValue(random.randrange(2**31)))
        self.model.currentIndexChanged.connect(lambda _i: self._model_changed())
        self.primer.activated.connect(self._primer_chosen)
        self.generate_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        self.results.itemDoubleClicked.connect(self.open_item)
        self._model_changed()

    # ----------------------------------------------------------------- models and controls
    def set_models(self, models: list[tuple[str, str]]) -> None:
        """(label, model folder) pairs from the library."""
        fill_combo(self.model, models)
        self._model_changed()

    def choose_model(self, path: str) -> None:
        select_data(self.model, path)

    def _model_changed(self) -> None:
        """Folk models get meter/mode menus from their vocabulary; performance models a primer."""
        path = self.model.currentData() or ""
        vocab = model_vocabulary(path) if path else []
        meters = [t for t in vocab if t.startswith("M:")]  # the vocabulary's own order
        modes = [t for t in vocab if t.startswith("K:")]
        folk = bool(meters or modes) or model_codec_name(path) == "folk"
        for box, items in ((self.meter, meters), (self.mode, modes)):
            box.clear()
            box.addItem("(model chooses)", "")
            for t in items:
                box.addItem(t, t)
        for w in (*self.folk_rows, self.meter, self.mode, self.abc_start):
            w.setVisible(folk or not path)
        for w in (self.primer_label, self.primer):
            w.setVisible(not folk)
        self._update_buttons()

    def _primer_chosen(self, index: int) -> None:
        if PRIMERS[index] == "MIDI file…":
            path, _ = QFileDialog.getOpenFileName(self, "Primer MIDI file", "", "MIDI files (*.mid *.midi)")
            self.primer_file = path
            if not path:
                self.primer.setCurrentIndex(0)

    def primer_piece(self) -> Piece | None:
        kind = self.primer.currentText()
        if kind == "None" or not self.primer.isVisible():
            return None
        if kind == "MIDI file…":
            return Piece.read(self.primer_file) if self.primer_file else None
        return self.primer_provider(kind) if self.primer_provider else None

    def settings(self) -> dict:
        unit = self.length_unit.currentText()
        return {
            "temperature": self.temperature.value(), "top_p": self.top_p.value(), "top_k": self.top_k.value(),
            "candidates": self.candidates.value(), "length": {unit: self.length.value()},
            "seed": self.seed.value(), "meter": self.meter.currentData() or None,
            "mode": self.mode.currentData() or None, "abc_start": self.abc_start.text().strip() or None,
        }

    # ----------------------------------------------------------------- running
    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def start(self, primer: Piece | None = None, extra: dict | None = None, generate_fn=None) -> None:
        """Generate with the panel's settings; `primer`/`extra` come from "Continue from here" and
        "Regenerate selection"."""
        fn = generate_fn or engines.engine("generate")
        if not fn:
            self.status.setText(fn.tooltip)
            return
        model = self.model.currentData()
        if not model or self.is_running():
            self.status.setText("" if model else "Pick a model first (train one, or pick one in the Library).")
            return
        settings = self.settings()
        try:
            settings["primer"] = primer if primer is not None else self.primer_piece()
        except Exception as exc:  # a bad primer file is reported, not fatal
            self.error.emit(f"Cannot use the primer: {exc}")
            return
        settings.update(extra or {})
        self.results.clear()
        self.progress.setValue(0)
        self.job = Job(fn, model, settings, parent=self)
        self.job.progress.connect(self.on_progress)
        self.job.finished.connect(self.on_finished)
        self.job.failed.connect(lambda m: self.error.emit(f"Generation failed: {m}"))
        self.job.done.connect(self._update_buttons)
        self.job.start()
        self.status.setText("Generating…")
        self._update_buttons()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.stop()
            self.status.setText("Cancelling…")

    def on_progress(self, event: dict) -> None:
        if "fraction" in event:
            self.progress.setValue(int(100 * float(event["fraction"])))
        if "candidate" in event:
            self.add_candidate(*event["candidate"])

    def on_finished(self, result) -> None:
        for piece, info in result or []:
            if not any(self.results.item(i).data(Qt.ItemDataRole.UserRole)[0] is piece for i in range(self.results.count())):
                self.add_candidate(piece, info)
        self.progress.setValue(100)
        self.status.setText(f"{self.results.count()} candidate(s). Double-click one to open it.")

    def add_candidate(self, piece: Piece, info: dict) -> None:
        info = dict(info)
        info.setdefault("model", self.model.currentData())
        s = {k: v for k, v in info.items() if k != "primer"}
        label = (f"#{self.results.count() + 1}  seed {s.get('seed', '?')}  T={s.get('temperature', '?')}  "
                 f"{len(piece.notes)} notes, {piece.duration:.1f} s")
        item = QListWidgetItem(label)
        item.setToolTip(json.dumps(s, default=str, indent=1))
        item.setData(Qt.ItemDataRole.UserRole, (piece, s))
        self.results.addItem(item)

    def open_item(self, item: QListWidgetItem) -> None:
        piece, info = item.data(Qt.ItemDataRole.UserRole)
        self.candidateOpened.emit(piece.copy(), {"generated": info})

    def _update_buttons(self) -> None:
        fn = engines.engine("generate")
        running = self.is_running()
        self.generate_button.setEnabled(bool(fn) and not running)
        self.generate_button.setToolTip("Sample new pieces from the model" if fn else fn.tooltip)
        self.cancel_button.setEnabled(running)
