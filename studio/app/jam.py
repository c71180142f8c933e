"""The Jam panel: a model plays new music without end to the chosen output, steered while it plays.

Pick a model, optionally start from the current piece or selection, press Jam. The sampler runs in a child
process (the core's `EndlessProcess`), so neither this window nor the MIDI scheduler waits on it; the
transport's Player plays what it samples. Temperature (and, for models trained with them, note density and
pitch classes) reach the sampler for everything sampled after the change. "Keep last N s" and "Keep whole
jam" open what was heard in a new tab, with its provenance (model, settings, seed, every change and when).
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QLabel, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from ..errors import StudioError
from . import engines
from .widgets import button_row, fill_combo, select_data

PRIMERS = ("None", "Current piece", "Current selection")
PITCH_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
STATUS_MS = 200


def model_controls(model) -> set[str]:
    """The performance controls a model was trained with ("note_density", "pitch_histogram"): a model trained
    with `--controls` has control inputs (its architecture's control_size) and takes both, each optional."""
    config = getattr(model, "config", None)
    return {"note_density", "pitch_histogram"} if getattr(config, "control_size", 0) else set()


class JamPanel(QWidget):
    keep = Signal(object, dict)  # Piece, provenance: open in a new tab
    error = Signal(str)
    stateChanged = Signal(bool)  # jamming or not
    _started = Signal(object)  # a Jam, from the starting thread
    _failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.transport = None  # set by the window: the app Transport whose Player the jam plays on
        self.primer_provider = None  # set by the window: callable(kind) -> Piece | None
        self.in_child_process = True  # False: sample in a thread (tests; the MIDI timing then suffers)
        self.jam = None
        self.starting = False
        self.model = QComboBox()
        self.model.currentIndexChanged.connect(lambda _i: self._model_changed())
        self.primer = QComboBox()
        self.primer.addItems(list(PRIMERS))
        self.primer.setToolTip("Notes the model continues from (a folk model: the tune's first bars, in its key)")
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=5.0, singleStep=0.05, decimals=2, value=1.0)
        self.temperature.setToolTip("Lower: safer, more repetitive; higher: more surprising. Heard within a "
                                    "second or two while jamming (0 = always the likeliest note)")
        self.temperature.valueChanged.connect(lambda v: self._live(temperature=float(v)))
        self.density = QDoubleSpinBox(minimum=0.5, maximum=40.0, singleStep=0.5, decimals=1, value=8.0)
        self.use_density = QCheckBox("Note density (notes/s)")
        self.use_density.toggled.connect(lambda on: self._live(note_density=float(self.density.value()) if on else None))
        self.density.valueChanged.connect(lambda v: self.use_density.isChecked() and self._live(note_density=float(v)))
        self.use_pitches = QCheckBox("Pitch classes")
        self.use_pitches.toggled.connect(lambda _on: self._pitches_changed())
        self.pitch_boxes = []
        pitches = QGridLayout()
        for i, name in enumerate(PITCH_NAMES):
            box = QCheckBox(name)
            box.setChecked(i in (0, 2, 4, 5, 7, 9, 11))
            box.toggled.connect(lambda _on: self._pitches_changed())
            self.pitch_boxes.append(box)
            pitches.addWidget(box, i // 6, i % 6)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=1)
        self.start_button = QPushButton("Jam")
        self.start_button.setToolTip("Start the model playing without end (Transport ▸ Jam)")
        self.start_button.clicked.connect(self.toggle)
        self.keep_seconds = QSpinBox(minimum=1, maximum=3600, value=30, suffix=" s")
        self.keep_last_button = QPushButton("Keep last")
        self.keep_last_button.setToolTip("Open the last seconds of what you heard in a new tab")
        self.keep_last_button.clicked.connect(lambda: self.keep_recording(self.keep_seconds.value()))
        self.keep_all_button = QPushButton("Keep whole jam")
        self.keep_all_button.clicked.connect(lambda: self.keep_recording(None))
        self.status = QLabel("Pick a model and press Jam.")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Start from", self.primer)
        form.addRow("Seed", self.seed)
        form.addRow("Temperature", self.temperature)
        form.addRow(self.use_density, self.density)
        form.addRow(self.use_pitches)
        form.addRow(pitches)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.start_button)
        keep = button_row(self.keep_last_button, self.keep_all_button)
        keep.insertWidget(1, self.keep_seconds)
        layout.addLayout(keep)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self._timer = QTimer(self, interval=STATUS_MS)
        self._timer.timeout.connect(self._show_status)
        self._started.connect(self._on_started)
        self._failed.connect(self._on_failed)
        self._loaded: dict[str, object] = {}
        self._model_changed()
        self._update()

    # ----------------------------------------------------------------- models
    def set_models(self, models: list[tuple[str, str]]) -> None:
        """(label, model folder) pairs from the library."""
        fill_combo(self.model, models)
        self._model_changed()

    def choose_model(self, path: str) -> None:
        select_data(self.model, str(path))

    def _load(self, path: str):
        if path not in self._loaded:
            self._loaded[path] = engines.require("load_model")(path, "cpu")
        return self._loaded[path]

    def _model_changed(self) -> None:
        """Density and pitch-class controls only for models trained with them (else disabled, saying why)."""
        path = self.model.currentData()
        controls: set[str] = set()
        if path:
            try:
                controls = model_controls(self._load(path))
            except StudioError as exc:
                self.status.setText(f"Cannot load that model: {exc.message()}")
        for name, widgets in (("note_density", (self.use_density, self.density)),
                              ("pitch_histogram", (self.use_pitches, *self.pitch_boxes))):
            for w in widgets:
                w.setEnabled(name in controls)
                w.setToolTip("" if name in controls else "This model was trained without this control")

    # ----------------------------------------------------------------- jam
    @property
    def running(self) -> bool:
        return self.jam is not None and self.jam.running

    def toggle(self) -> None:
        if self.running or self.starting:
            self.stop()
        else:
            self.start()

    def settings(self):
        settings = engines.require("generation_settings")
        s = settings(temperature=float(self.temperature.value()), seed=int(self.seed.value()))
        if self.use_density.isEnabled() and self.use_density.isChecked():
            s.note_density = float(self.density.value())
        if self.use_pitches.isEnabled() and self.use_pitches.isChecked():
            s.pitch_histogram = self._histogram()
        return s

    def start(self) -> None:
        """Load the model, start the sampler and, once the first second of music is in hand, play."""
        path = self.model.currentData()
        if not path:
            self.error.emit("No model to jam with: train one or install one into the library first.")
            return
        if self.transport is None or not self.transport.available:
            self.error.emit(f"Cannot jam: {self.transport.why_unavailable if self.transport else 'no playback'}")
            return
        try:
            model = self._load(path)
            primer = None
            takes = engines.require("codec_from_config")(model.codec_config).rules().settings
            if self.primer.currentText() != "None" and self.primer_provider is not None and \
                    ("primer_seconds" in takes or "meter" in takes):  # continued as it is, or a tune's first bars
                primer = self.primer_provider(self.primer.currentText())
            settings = engines.require("primed_settings")(self.settings(), primer, model)
            stream = engines.require("endless_process")(model, path, settings, primer) if self.in_child_process \
                else engines.require("endless_generation")(model, settings, primer)
            make_jam = engines.require("jam")
            self.transport.stop()
            player = self.transport.live_player()
        except Exception as exc:  # bad settings, no output: say so
            self.error.emit(f"Cannot jam: {exc.message() if isinstance(exc, StudioError) else exc}")
            return
        from pathlib import Path

        jam = make_jam(stream, player, model_name=Path(path).name,
                       on_error=lambda exc: self._failed.emit(getattr(exc, "reason", str(exc))))
        self.jam = jam
        self.starting = True
        self.status.setText("Starting the model…")
        self._update()

        def run() -> None:
            try:
                jam.start()
            except Exception as exc:  # reported in the window
                self._failed.emit(exc.message() if isinstance(exc, StudioError) else str(exc))
                return
            self._started.emit(jam)

        threading.Thread(target=run, daemon=True, name="jam-start").start()

    def stop(self) -> None:
        """Stop the jam; every sounding note ends. What was heard stays to keep."""
        if self.jam is not None:
            self.jam.stop()
        self.starting = False
        self._timer.stop()
        self._show_status()
        self._update()
        self.stateChanged.emit(False)

    def keep_recording(self, seconds: float | None) -> None:
        if self.jam is None:
            return
        piece = self.jam.recording(seconds)
        info = self.jam.provenance(seconds)
        if not len(piece.notes):
            self.error.emit("Nothing has been heard yet to keep.")
            return
        self.keep.emit(piece, info)

    def shutdown(self) -> None:
        if self.jam is not None:
            self.jam.stop()

    # ----------------------------------------------------------------- inside
    def _histogram(self) -> list[float]:
        return [1.0 if b.isChecked() else 0.0 for b in self.pitch_boxes]

    def _pitches_changed(self) -> None:
        if self.use_pitches.isEnabled():
            self._live(pitch_histogram=self._histogram() if self.use_pitches.isChecked() else None)

    def _live(self, **changes) -> None:
        if self.running:
            try:
                self.jam.update_settings(**changes)
            except StudioError as exc:
                self.error.emit(exc.message())

    def _on_started(self, jam) -> None:
        if jam is not self.jam or not self.starting:  # stopped while starting
            jam.stop()
            return
        self.starting = False
        self._timer.start()
        self._update()
        self.stateChanged.emit(True)

    def _on_failed(self, reason: str) -> None:
        self.stop()
        self.status.setText(f"The jam stopped: {reason}")
        self.error.emit(f"The jam stopped: {reason}")

    def _show_status(self) -> None:
        jam = self.jam
        if jam is None or self.starting:
            return
        s = jam.settings
        state = "Jamming" if jam.running else "Stopped after"
        self.status.setText(f"{state} {jam.position:.1f} s with {jam.model_name} on "
                            f"{getattr(jam.player, 'output', '') or 'the output'}; temperature "
                            f"{s.temperature:g}; {len(jam.changes)} change(s); changes are heard about "
                            f"{jam.ahead_seconds:g} s later")

    def _update(self) -> None:
        active = self.running or self.starting
        self.start_button.setText("Stop jam" if active else "Jam")
        self.model.setEnabled(not active)
        self.primer.setEnabled(not active)
        self.seed.setEnabled(not active)
        has = self.jam is not None and not self.starting
        self.keep_last_button.setEnabled(has)
        self.keep_all_button.setEnabled(has)
