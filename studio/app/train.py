"""The training panel: pick a corpus and a preset (or edit the numbers), Train, watch the loss curve,
Stop and Resume. The run is `run_training` in a child process (`workers.ProcessJob`, so torch never holds
the GUI's GIL): the training engine's `Trainer`, its events relayed as progress dicts
`{"kind", "step", "steps", "train_loss", "valid_loss", "tokens_per_second", "elapsed", "eta", "model_dir"}`.
"""
from __future__ import annotations

import math
import os
import threading
import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from ..paths import user_dir
from . import engines
from .charts import LossPlot
from .widgets import button_row, fill_combo, select_data
from .workers import make_job

FIELDS = ("cell", "layers", "units", "embedding", "dropout", "lr", "batch_size", "seq_len", "steps", "epochs", "seed")


def preset_names() -> list[str]:
    presets = engines.engine("train_presets")
    return list(presets) if presets else []  # no engine: the panel's controls are disabled


def preset_values(name: str) -> dict:
    """Every panel field for a preset, from the training engine's own recipe."""
    make = engines.engine("make_config")
    if not make:
        return {}
    full = make(name).to_dict()
    return {k: full[k] for k in FIELDS if k in full}


def run_training(settings: dict, progress, stop) -> dict:
    """The Train panel's job: build or resume the engine's Trainer in `settings["out_dir"]` and relay its
    events; a stop request ends the run after the current step with a checkpoint written."""
    trainer_class = engines.engine("train")
    if not trainer_class:
        raise RuntimeError(trainer_class.tooltip)
    out_dir = settings["out_dir"]
    import torch  # the engine's own dependency; imported here, in the child process

    # Leave one core to the window: on a small machine an oversubscribed torch starves the GUI (and itself).
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))

    def relay(e) -> None:
        progress({"kind": e.kind, "step": e.step, "steps": e.total_steps, "train_loss": e.loss,
                  "valid_loss": e.val_loss, "tokens_per_second": e.tokens_per_s, "elapsed": e.elapsed_s,
                  "eta": e.eta_s, "model_dir": out_dir, "message": e.message})

    if settings.get("resume"):
        trainer = trainer_class.resume(out_dir, on_event=relay, steps=settings["overrides"].get("steps"))
    else:
        config = engines.engine("make_config")(settings["preset"], corpus=settings["corpus"], **settings["overrides"])
        trainer = trainer_class(out_dir, config, on_event=relay)
    threading.Thread(target=lambda: (stop.wait(), trainer.stop()), daemon=True).start()
    result = trainer.run()
    return {"model_dir": str(result.directory), "status": result.status, "step": result.step}


def _clock(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class TrainPanel(QWidget):
    modelTrained = Signal(str)  # model folder
    error = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job = None  # a ProcessJob (or a Job for functions that cannot run in another process)
        self.last_model_dir = ""
        self.corpus = QComboBox()
        self.corpus.setToolTip("The corpus to learn from (import one in the Library)")
        self.preset = QComboBox()
        self.preset.addItems(preset_names())
        self.start_from = QComboBox()
        self.start_from.setToolTip("Random weights, or a trained model to go on from: same cell, layers and "
                                   "embedding; the corpus may add tokens and Units may be larger")
        self.start_from.addItem("random weights", "")
        self.name = QLineEdit()
        self.name.setPlaceholderText("model name (default: corpus-preset-date)")
        self.cell = QComboBox()
        self.cell.addItems(["lstm", "gru", "rnn"])
        self.layers = QSpinBox(minimum=1, maximum=8)
        self.units = QSpinBox(minimum=8, maximum=4096, singleStep=64)
        self.embedding = QSpinBox(minimum=0, maximum=2048, singleStep=32)
        self.embedding.setToolTip("0 = one-hot input, as folk-rnn and Performance RNN")
        self.dropout = QDoubleSpinBox(minimum=0.0, maximum=0.9, singleStep=0.05, decimals=2)
        self.lr = QDoubleSpinBox(minimum=1e-5, maximum=1.0, singleStep=1e-4, decimals=5)
        self.batch_size = QSpinBox(minimum=1, maximum=4096)
        self.seq_len = QSpinBox(minimum=8, maximum=8192, singleStep=64)
        self.steps = QSpinBox(minimum=1, maximum=10_000_000, singleStep=500)
        self.epochs = QDoubleSpinBox(minimum=0.0, maximum=100000.0, decimals=1)
        self.epochs.setToolTip("Passes over the training pieces; when above 0 it decides the length instead of Steps")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setValue(42)

        form = QFormLayout()
        form.addRow("Corpus", self.corpus)
        form.addRow("Preset", self.preset)
        form.addRow("Start from", self.start_from)
        form.addRow("Name", self.name)
        hyper = QGroupBox("Hyperparameters")
        hf = QFormLayout(hyper)
        for label, w in (("Cell", self.cell), ("Layers", self.layers), ("Units", self.units),
                         ("Embedding", self.embedding), ("Dropout", self.dropout), ("Learning rate", self.lr),
                         ("Batch size", self.batch_size), ("Sequence length", self.seq_len), ("Steps", self.steps),
                         ("Epochs", self.epochs), ("Seed", self.seed)):
            hf.addRow(label, w)
        self.train_button = QPushButton("Train")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.stop_button.setToolTip("Stop after the current step; the checkpoint is kept so you can Resume")
        buttons = button_row(self.train_button, self.stop_button, self.resume_button)
        self.plot = LossPlot()
        self.progress = QProgressBar()
        self.metrics = QLabel("–")
        self.metrics.setObjectName("metric")
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hyper)
        layout.addLayout(buttons)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.metrics)
        layout.addWidget(self.status)

        self.preset.currentTextChanged.connect(self.apply_preset)
        self.apply_preset(self.preset.currentText())
        self.train_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self._update_buttons()

    # ----------------------------------------------------------------- settings
    def apply_preset(self, name: str) -> None:
        for key, value in preset_values(name).items():
            widget = getattr(self, key)
            widget.setCurrentText(value) if isinstance(widget, QComboBox) else widget.setValue(value)

    def set_corpora(self, corpora: list[tuple[str, str]]) -> None:
        """(label, corpus folder) pairs from the library."""
        fill_combo(self.corpus, corpora)
        self._update_buttons()

    def set_models(self, models: list[tuple[str, str]]) -> None:
        """(label, model folder) pairs from the library: what a run may start from."""
        fill_combo(self.start_from, [("random weights", "")] + models)

    def choose_corpus(self, path: str) -> None:
        select_data(self.corpus, path)

    def config(self) -> dict:
        """What `run_training` needs: corpus folder, preset, the fields as overrides, the model folder name."""
        overrides = {k: (w.currentText() if isinstance(w, QComboBox) else w.value())
                     for k, w in ((k, getattr(self, k)) for k in FIELDS)}
        overrides["init_from"] = self.start_from.currentData() or None
        return {"corpus": self.corpus.currentData() or "", "preset": self.preset.currentText(),
                "name": self.name.text().strip(), "overrides": overrides}

    # ----------------------------------------------------------------- running
    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def start(self, resume: bool = False, train_fn=None) -> None:
        """Train (or resume the last run) with `run_training`; tests may pass another job function."""
        engine = engines.engine("train")
        if train_fn is None and not engine:
            self.status.setText(engine.tooltip)
            return
        fn = train_fn or run_training
        if self.is_running():
            return
        cfg = self.config()
        if not cfg["corpus"]:
            self.status.setText("Pick a corpus first (import one in the Library).")
            return
        if resume:
            cfg["resume"], cfg["out_dir"] = True, self.last_model_dir
        else:
            name = cfg["name"] or f"{self.corpus.currentText()}-{cfg['preset']}-{time.strftime('%Y%m%d-%H%M%S')}"
            cfg["out_dir"] = self.last_model_dir = str(user_dir("models") / name)
            self.plot.clear()
        self._started = time.monotonic()
        self.job = make_job(fn, cfg, parent=self, in_process=True)
        self.job.progress.connect(self.on_progress)
        self.job.finished.connect(self.on_finished)
        self.job.failed.connect(self.on_failed)
        self.job.done.connect(self._update_buttons)
        self.job.start()
        self.status.setText("Resuming…" if resume else "Training…")
        self._update_buttons()

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()
            self.status.setText("Stopping after this step; the checkpoint is kept.")

    def on_progress(self, event: dict) -> None:
        step, steps = int(event.get("step", 0)), int(event.get("steps", 0) or self.steps.value())
        train, valid = event.get("train_loss"), event.get("valid_loss")
        if event.get("model_dir"):
            self.last_model_dir = str(event["model_dir"])
        if train is not None and not math.isfinite(train):
            self.stop()
            self.error.emit(f"Training diverged at step {step} (loss is {train}). It was stopped; the last good "
                            "checkpoint is kept. Try a lower learning rate.")
            return
        self.plot.add(step, train, valid)
        self.progress.setMaximum(max(steps, 1))
        self.progress.setValue(min(step, steps))
        elapsed = event.get("elapsed", time.monotonic() - self._started)
        eta = event.get("eta")
        if eta is None and step:
            eta = elapsed / step * (steps - step)
        tps = event.get("tokens_per_second")
        if train is not None:
            self._last_train = train
        last = getattr(self, "_last_train", None)
        self.metrics.setText(f"step {step}/{steps}  loss {'–' if last is None else f'{last:.3f}'}"
                             + (f"  valid {valid:.3f}" if valid is not None else "")
                             + (f"  {tps:,.0f} tok/s" if tps else "")
                             + f"  elapsed {_clock(elapsed)}  ETA {_clock(eta)}")

    def on_finished(self, result) -> None:
        result = result if isinstance(result, dict) else {"model_dir": result}
        if result.get("model_dir"):
            self.last_model_dir = str(result["model_dir"])
        stopped = result.get("status") == "stopped" or (self.job is not None and self.job.stop_flag.is_set())
        self.status.setText(("Stopped; Resume continues from the checkpoint. " if stopped else "Finished. ")
                            + (f"Model: {self.last_model_dir}" if self.last_model_dir else ""))
        if self.last_model_dir:
            self.modelTrained.emit(self.last_model_dir)

    def on_failed(self, message: str) -> None:
        self.status.setText("Training failed.")
        self.error.emit(f"Training failed: {message}")

    def _update_buttons(self) -> None:
        running = self.is_running()
        fn = engines.engine("train")
        self.train_button.setEnabled(not running and bool(fn))
        self.train_button.setToolTip("Train a new model on the corpus" if fn else fn.tooltip)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not running and bool(self.last_model_dir) and bool(fn))
