"""The generation panel: model, temperature, top-p/top-k, candidates, length, seed, beam search (off by
default), and for folk models meter/mode (from the model's own vocabulary), key and a typed start of a tune;
for performance models a primer (the current piece, the selection or a MIDI file) and, for models trained
with them, Magenta's controls: note density and 12 pitch-class weights with presets.

Generation runs in a background `Job` around `genjob.run_generation`, which samples with the engine's
streaming API: the candidates are listed at once and grow as they are sampled, each with the seed and
settings that made it; Cancel ends them where they are. A candidate opens in the editor with one click
(its provenance kept in the document); candidates of "Continue from here" and "Regenerate selection" can
also replace the piece they came from, as one undoable edit.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QSlider, QSpinBox, QVBoxLayout, QWidget)

from ..codecs.folk.vocab import MODE_NAMES
from ..codecs.performance_controls import MAX_DENSITY, PITCH_CLASS_NAMES, piece_histogram, scale_histogram
from ..music.piece import Piece
from . import engines
from .genjob import run_generation
from .widgets import button_row, fill_combo, select_data
from .workers import Job

TEMPERATURE_TIP = ("How adventurous the model is. 1.0 samples the model as trained; lower (0.5) is more "
                   "cautious and repetitive; higher (1.5–2) is wilder and makes more mistakes.")
PRIMERS = ("None", "Current piece", "Current selection", "MIDI file…")
KEYS = ("C", "G", "D", "A", "E", "B", "F#", "F", "Bb", "Eb", "Ab")
DEFAULT_LENGTH = {"bars": 16, "seconds": 30}
# pitch-class presets: (label, scale in performance_controls.SCALES, or None: from the current piece)
PITCH_PRESETS = (("Major scale", "major"), ("Minor scale", "minor"), ("Major pentatonic", "major pentatonic"),
                 ("Minor pentatonic", "minor pentatonic"), ("Whole-tone", "whole-tone"), ("Chromatic", "chromatic"),
                 ("From the current piece", None))
DENSITY_SLIDER_MAX = 40.0  # notes per second at the slider's end (the box goes on to MAX_DENSITY)
NO_CONTROLS_TIP = ("This model was trained without performance controls; train one with "
                   "`studio train --controls` to steer note density and pitch classes")
CONTROLS_TIP = {"density": "Notes per second the model aims for (Magenta's note-density control); "
                           "untick to let the model choose",
                "pitch": "How the sounding time should be shared among the 12 pitch classes (Magenta's pitch-class "
                         "histogram control); pick a preset and key, or set the weights; untick to let the model "
                         "choose"}
ROLE = Qt.ItemDataRole.UserRole


def model_card(model_dir: str) -> dict:
    """The model's model.json (read as JSON: the window need not load the weights to build its menus)."""
    try:
        card = json.loads((Path(model_dir) / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def model_vocabulary(model_dir: str) -> list[str]:
    """The model's token names (its codec config holds the vocabulary)."""
    return [str(t) for t in (model_card(model_dir).get("codec") or {}).get("vocab", [])]


def model_codec_name(model_dir: str) -> str:
    """The codec's name, for labels (decisions ask the codec itself: `model_codec`)."""
    return str((model_card(model_dir).get("codec") or {}).get("codec", ""))


def model_codec(model_dir: str):
    """The model's codec rebuilt from its card, or None where the card is missing or unreadable."""
    from ..errors import StudioError

    codec_from_config = engines.engine("codec_from_config")
    config = model_card(model_dir).get("codec") if model_dir and codec_from_config else None
    try:
        return codec_from_config(config) if isinstance(config, dict) else None
    except (StudioError, KeyError, ValueError, TypeError):
        return None


def model_settings(model_dir: str) -> tuple[str, ...]:
    """The length/header/primer settings the model's codec takes (`SamplingRules.settings`)."""
    codec = model_codec(model_dir)
    return codec.rules().settings if codec is not None else ()


def model_guard(model_dir: str) -> tuple[str, str] | None:
    """(label, tooltip) of the grammar guard the model's codec samples with (`SamplingRules.guard_text`)."""
    codec = model_codec(model_dir)
    return codec.rules().guard_text if codec is not None else None


def model_control_size(model_dir: str) -> int:
    """How many control inputs the model was trained with (0: none), from its card's architecture."""
    size = (model_card(model_dir).get("architecture") or {}).get("control_size", 0)
    return size if isinstance(size, int) else 0


def mode_label(token: str) -> str:
    """"K:Cdor" -> "dorian" (the folk vocabulary writes modes on C)."""
    short = token.removeprefix("K:C")
    return MODE_NAMES.get(short, short)


def candidate_label(number: int, piece: Piece, info: dict, growing: bool = False) -> str:
    s = info.get("settings", {})
    ended = "growing…" if growing else {"stopped": "cancelled", "end": "", "length": ""}.get(info.get("ended"), "")
    parts = [f"#{number}", f"seed {info.get('seed', '?')}", f"T={s.get('temperature', 1.0):g}"]
    if s.get("top_k"):
        parts.append(f"k={s['top_k']}")
    if s.get("top_p", 1.0) < 1:
        parts.append(f"p={s['top_p']:g}")
    if any(s.get(k) for k in ("beam_size", "branch_factor", "steps_per_iteration")):
        beam = [s.get(k) or 1 for k in ("beam_size", "branch_factor", "steps_per_iteration")]
        parts.append(f"beam {beam[0]}x{beam[1]}/{beam[2]}")
    abc = piece.meta.get("abc", "")
    header = [m.group(1).strip() for m in re.finditer(r"^[MK]:(.*)$", abc, re.M)][:2]  # folk: meter and key
    parts.append(" ".join(header + [f"{len(piece.notes)} notes, {piece.duration:.1f} s"]))
    if info.get("op", "generate") != "generate":
        span = info.get("span", {})
        end = "end" if span.get("to") is None else f"{span['to']:g}"
        parts.append(f"{info['op']} {span.get('from'):g}–{end} {span.get('unit', '')}".strip())
    return "  ".join(parts + ([ended] if ended else []))


class GeneratePanel(QWidget):
    candidateOpened = Signal(object, dict)  # Piece, provenance: open in a new tab
    candidateApplied = Signal(object, object, dict)  # target document, Piece, provenance: replace in place
    error = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job: Job | None = None
        self.primer_provider = None  # set by the window: callable(kind) -> Piece | None for current piece/selection
        self.primer_file = ""
        self.edit_target = None  # the document a continue/regenerate came from
        self.model = QComboBox()
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=10.0, singleStep=0.05, decimals=2, value=1.0)
        self.temperature.setToolTip(TEMPERATURE_TIP)
        self.top_p = QDoubleSpinBox(minimum=0.01, maximum=1.0, singleStep=0.05, decimals=2, value=1.0)
        self.top_p.setToolTip("Nucleus sampling: keep the most likely tokens whose probabilities add up to this "
                              "(1.0 = off)")
        self.top_k = QSpinBox(minimum=0, maximum=10000, value=0)
        self.top_k.setToolTip("Sample only among the k most likely tokens (0 = off)")
        self.candidates = QSpinBox(minimum=1, maximum=64, value=4)
        self.length = QDoubleSpinBox(minimum=1, maximum=100000, decimals=0, value=DEFAULT_LENGTH["bars"])
        self.length_unit = QLabel("bars")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setValue(random.randrange(2**31))
        self.seed.setToolTip("Candidate i uses seed + i. The same model, settings and seed give the same "
                             "result; change it for others")
        self.new_seed = QPushButton("New seed")
        self.meter = QComboBox()
        self.mode = QComboBox()
        self.key = QComboBox()
        self.key.addItem("(C, as trained)", "")
        for k in KEYS:
            self.key.addItem(k, k)
        self.key.setToolTip("The key the tune is written in (the model writes every tune on C); typed start "
                            "notes are read in it")
        self.abc_start = QLineEdit()
        self.abc_start.setPlaceholderText("optional start of the tune, e.g. |: d2B c2A |")
        self.in_time = QCheckBox()  # the codec's grammar guard, labelled by the codec (model_guard)
        self.in_time.setChecked(True)
        self.has_guard = False
        self.primer = QComboBox()
        self.primer.addItems(list(PRIMERS))
        self.primer.setToolTip("Notes the performance model continues from")
        self._build_controls()
        self._build_beam()

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Top-k", self.top_k)
        form.addRow("Candidates", self.candidates)
        length = QHBoxLayout()
        length.addWidget(self.length, 1)
        length.addWidget(self.length_unit)
        form.addRow("Length", length)
        seed = QHBoxLayout()
        seed.addWidget(self.seed, 1)
        seed.addWidget(self.new_seed)
        form.addRow("Seed", seed)
        self.folk_rows = (QLabel("Meter"), QLabel("Mode"), QLabel("Key"), QLabel("Start (ABC)"))
        for label, widget in zip(self.folk_rows, (self.meter, self.mode, self.key, self.abc_start)):
            form.addRow(label, widget)
        self.guard_label = QLabel("Grammar")
        form.addRow(self.guard_label, self.in_time)
        self.primer_label = QLabel("Primer")
        form.addRow(self.primer_label, self.primer)
        self.density_label, self.pitch_label = QLabel("Note density"), QLabel("Pitch classes")
        form.addRow(self.density_label, self.density_row)
        form.addRow(self.pitch_label, self.pitch_box)
        form.addRow("Beam search", self.beam_row)
        self.form = form
        self.generate_button = QPushButton("Generate")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.results = QListWidget()
        self.results.setToolTip("Click a candidate to open it in the editor (a continuation or regeneration goes "
                                "into its piece, undoably); hover for its settings")
        self.open_button = QPushButton("Open in editor")
        self.apply_button = QPushButton("Replace in piece")
        self.apply_button.setToolTip("Put this continuation/regeneration into the piece it came from (undoable)")
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(button_row(self.generate_button, self.cancel_button))
        layout.addWidget(self.progress)
        layout.addWidget(QLabel("Candidates"))
        layout.addWidget(self.results, 1)
        layout.addLayout(button_row(self.open_button, self.apply_button))
        layout.addWidget(self.status)

        self.new_seed.clicked.connect(lambda: self.seed.setValue(random.randrange(2**31)))
        self.model.currentIndexChanged.connect(lambda _i: self._model_changed())
        self.primer.activated.connect(self._primer_chosen)
        self.generate_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        self.results.itemClicked.connect(self._clicked)
        self.results.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.open_button.clicked.connect(lambda: self.results.currentItem() and self.open_item(self.results.currentItem()))
        self.apply_button.clicked.connect(lambda: self.results.currentItem() and self.apply_item(self.results.currentItem()))
        self._model_changed()

    # ----------------------------------------------------------------- models and controls
    def set_models(self, models: list[tuple[str, str]]) -> None:
        """(label, model folder) pairs from the library."""
        fill_combo(self.model, models)
        self._model_changed()

    def choose_model(self, path: str) -> None:
        select_data(self.model, str(path))

    @property
    def takes(self) -> tuple[str, ...]:
        """The settings the chosen model's codec takes (meter, bars, seconds, primer_seconds ...)."""
        return model_settings(self.model.currentData() or "")

    @property
    def is_folk(self) -> bool:
        """Whether the model samples tunes with a header (meter and mode menus, typed start notes)."""
        return "meter" in self.takes

    def _model_changed(self) -> None:
        """Folk models get meter/mode menus from their own vocabulary and a length in bars; performance
        models a primer and a length in seconds."""
        path = self.model.currentData() or ""
        vocab = model_vocabulary(path) if path else []
        takes = self.takes
        folk = "meter" in takes
        for box, tokens, label in ((self.meter, [t for t in vocab if t.startswith("M:")], lambda t: t[2:]),
                                   (self.mode, [t for t in vocab if t.startswith("K:")], mode_label)):
            box.clear()
            box.addItem("(model chooses)", "")
            for t in tokens:  # the vocabulary's own order
                box.addItem(label(t), t)
        for w in (*self.folk_rows, self.meter, self.mode, self.key, self.abc_start):
            w.setVisible(folk)
        guard = model_guard(path) if path else None
        self.has_guard = guard is not None
        for w in (self.guard_label, self.in_time):
            w.setVisible(self.has_guard)
        if guard is not None:
            self.in_time.setText(guard[0])
            self.in_time.setToolTip(guard[1])
        for w in (self.primer_label, self.primer):
            w.setVisible("primer_seconds" in takes)
        for w in (self.density_label, self.density_row, self.pitch_label, self.pitch_box):
            w.setVisible(bool(path) and not folk)
        self._controls_available(bool(path) and not folk and model_control_size(path) > 0)
        unit = "bars" if "bars" in takes else "seconds"
        if self.length_unit.text() != unit:
            self.length_unit.setText(unit)
            self.length.setValue(DEFAULT_LENGTH[unit])
        self._update_buttons()

    def _primer_chosen(self, index: int) -> None:
        if PRIMERS[index] == "MIDI file…":
            path, _ = QFileDialog.getOpenFileName(self, "Primer MIDI file", "", "MIDI files (*.mid *.midi)")
            self.set_primer_file(path)

    def set_primer_file(self, path: str) -> None:
        self.primer_file = path
        self.primer.setCurrentText("MIDI file…" if path else "None")
        self.primer.setToolTip(f"Continues {Path(path).name}" if path else "Notes the performance model continues from")

    def primer_piece(self) -> Piece | None:
        kind = self.primer.currentText()
        if kind == "None" or "primer_seconds" not in self.takes:
            return None
        if kind == "MIDI file…":
            return Piece.read(self.primer_file) if self.primer_file else None
        return self.primer_provider(kind) if self.primer_provider else None

    def settings(self) -> dict:
        """The panel's controls as the engine's `Settings` fields (only those that apply to the model)."""
        s = {"temperature": self.temperature.value(), "top_k": self.top_k.value(), "top_p": self.top_p.value(),
             "seed": self.seed.value()}
        if self.is_folk:
            s["bars"] = int(self.length.value())
            for name, value in (("meter", self.meter.currentData()), ("mode", self.mode.currentData()),
                                ("key", self.key.currentData()), ("start", self.abc_start.text().strip())):
                if value:
                    s[name] = value
        else:
            if "bars" in self.takes:
                s["bars"] = int(self.length.value())
            else:
                s["seconds"] = float(self.length.value())
            if self.density_on.isEnabled() and self.density_on.isChecked():
                s["note_density"] = self.density.value()
            if self.pitch_on.isEnabled() and self.pitch_on.isChecked():
                s["pitch_histogram"] = self.pitch_weights()
        if self.has_guard:
            s["guard"] = self.in_time.isChecked()
        if self.beam_on.isChecked():
            s.update(beam_size=self.beam_size.value(), branch_factor=self.branch_factor.value(),
                     steps_per_iteration=self.steps_per_iteration.value())
        return s

    # ----------------------------------------------------------------- performance controls and beam search
    def _build_controls(self) -> None:
        """Note density (checkbox, slider and box, kept in step) and 12 pitch-class weights with presets."""
        self.density_on = QCheckBox()
        self.density_slider = QSlider(Qt.Orientation.Horizontal, minimum=1, maximum=int(DENSITY_SLIDER_MAX * 10))
        self.density = QDoubleSpinBox(minimum=0.0, maximum=MAX_DENSITY, singleStep=0.5, decimals=1, value=8.0,
                                      suffix=" notes/s")
        self.density_slider.setValue(80)
        self.density_slider.valueChanged.connect(lambda v: self.density.setValue(v / 10))
        self.density.valueChanged.connect(self._density_typed)
        self.density_slider.sliderMoved.connect(lambda _v: self.density_on.setChecked(True))  # moving it asks for it
        self.density_row = QWidget()
        row = QHBoxLayout(self.density_row)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.density_on, self.density_slider, self.density):
            row.addWidget(w, 1 if w is self.density_slider else 0)
        self.pitch_on = QCheckBox()
        self.pitch_preset = QComboBox()
        for label, scale in PITCH_PRESETS:
            self.pitch_preset.addItem(label, scale)
        self.pitch_key = QComboBox()
        self.pitch_key.addItems(PITCH_CLASS_NAMES)
        self.pitch_key.setToolTip("The key of the scale preset")
        self.pitch_spins = [QDoubleSpinBox(minimum=0.0, maximum=10.0, singleStep=0.1, decimals=2) for _ in range(12)]
        self.pitch_box = QWidget()
        box = QVBoxLayout(self.pitch_box)
        box.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        for w in (self.pitch_on, self.pitch_preset, self.pitch_key):
            top.addWidget(w, 1 if w is self.pitch_preset else 0)
        box.addLayout(top)
        grid = QGridLayout()
        for i, (name, spin) in enumerate(zip(PITCH_CLASS_NAMES, self.pitch_spins)):
            grid.addWidget(QLabel(name), 2 * (i // 6), i % 6)
            grid.addWidget(spin, 2 * (i // 6) + 1, i % 6)
            spin.setToolTip(f"Weight of {name} (the weights are shares of the sounding time; only ratios count)")
        box.addLayout(grid)
        for menu in (self.pitch_preset, self.pitch_key):  # choosing a preset asks for it
            menu.activated.connect(lambda _i: self.apply_pitch_preset() and self.pitch_on.setChecked(True))
        self.apply_pitch_preset()

    def _density_typed(self, value: float) -> None:
        self.density_slider.blockSignals(True)  # the box may go past the slider's end
        self.density_slider.setValue(round(min(value, DENSITY_SLIDER_MAX) * 10))
        self.density_slider.blockSignals(False)

    def _build_beam(self) -> None:
        self.beam_on = QCheckBox()
        self.beam_on.setToolTip("Beam search (Magenta's): sample several beams per candidate, branch each beam, "
                                "keep the most likely; slower, more conventional music. Off: plain sampling")
        self.beam_size = QSpinBox(minimum=1, maximum=64, value=4, prefix="beams ")
        self.beam_size.setToolTip("Beams kept after every iteration")
        self.branch_factor = QSpinBox(minimum=1, maximum=64, value=2, prefix="branches ")
        self.branch_factor.setToolTip("Sampled branches of every beam per iteration")
        self.steps_per_iteration = QSpinBox(minimum=1, maximum=1000, value=1, prefix="steps ")
        self.steps_per_iteration.setToolTip("Tokens each branch samples before the beams are pruned")
        self.beam_row = QWidget()
        row = QHBoxLayout(self.beam_row)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.beam_on, self.beam_size, self.branch_factor, self.steps_per_iteration):
            row.addWidget(w)
        self.beam_on.toggled.connect(self._beam_toggled)
        self._beam_toggled(False)

    def _beam_toggled(self, on: bool) -> None:
        for w in (self.beam_size, self.branch_factor, self.steps_per_iteration):
            w.setEnabled(on)

    def _controls_available(self, available: bool) -> None:
        """Controls are for models trained with them; for others they stay visible, disabled, and say why."""
        for w, tip in ((self.density_row, CONTROLS_TIP["density"]), (self.pitch_box, CONTROLS_TIP["pitch"])):
            w.setEnabled(available)
            w.setToolTip(tip if available else NO_CONTROLS_TIP)

    def pitch_weights(self) -> list[float]:
        return [spin.value() for spin in self.pitch_spins]

    def set_pitch_weights(self, weights) -> None:
        top = max(weights) or 1.0
        for spin, w in zip(self.pitch_spins, weights):
            spin.setValue(w / top)  # the largest weight 1: only the ratios count

    def apply_pitch_preset(self) -> bool:
        """Set the 12 weights from the chosen preset (a scale on the chosen key, or the current piece's
        pitch-class histogram weighted by duration); False when there is no piece to take them from."""
        scale = self.pitch_preset.currentData()
        self.pitch_key.setEnabled(scale not in (None, "chromatic"))
        if scale is not None:
            self.set_pitch_weights(scale_histogram(self.pitch_key.currentIndex(), scale))
            return True
        piece = self.primer_provider("Current piece") if self.primer_provider else None
        weights = piece_histogram(piece.notes) if piece is not None else [0.0] * 12
        if not any(weights):
            self.status.setText("No open piece with notes to take the pitch classes from.")
            return False
        self.set_pitch_weights(weights)
        return True

    # ----------------------------------------------------------------- running
    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def start(self) -> bool:
        """Generate new pieces with the panel's settings (and primer)."""
        try:
            primer = self.primer_piece()
        except Exception as exc:  # a bad primer file is reported, not fatal
            self.error.emit(f"Cannot use the primer: {exc.message() if hasattr(exc, 'message') else exc}")
            return False
        request = {"op": "generate", "primer": primer}
        if primer is not None:
            request["primer_label"] = Path(self.primer_file).name if self.primer.currentText() == "MIDI file…" \
                else self.primer.currentText().lower()
        return self._run(request)

    def start_edit(self, op: str, piece: Piece, start: float, end: float | None = None, target=None) -> bool:
        """"continue" from `start`, or "regenerate" `start`..`end` (seconds, or bars for folk models) of
        `piece`; `target` is the document the candidates may replace."""
        if self._run({"op": op, "piece": piece, "start": start, "end": end}):
            self.edit_target = target
            return True
        return False

    def _run(self, request: dict) -> bool:
        ready = engines.engine("generate")
        if not ready:
            self.status.setText(ready.tooltip)
            return False
        model = self.model.currentData()
        if not model or self.is_running():
            self.status.setText("A generation is running; cancel it first." if model else
                                "Pick a model first (train one, or pick one in the Library).")
            return False
        settings = self.settings()
        if request["op"] != "generate":  # an edit keeps the piece's own meter, mode and key
            settings = {k: v for k, v in settings.items() if k not in ("meter", "mode", "key", "start")}
        request.update(n=self.candidates.value(), settings=settings)
        self.edit_target = None
        self.results.clear()
        self.progress.setValue(0)
        self.job = Job(run_generation, model, request, parent=self)
        self.job.progress.connect(self.on_progress)
        self.job.finished.connect(self.on_finished)
        self.job.failed.connect(self._failed)
        self.job.done.connect(self._update_buttons)
        self.job.start()
        self.status.setText("Generating…" if request["op"] == "generate" else
                            f"{'Continuing' if request['op'] == 'continue' else 'Regenerating'} the piece…")
        self._update_buttons()
        return True

    def cancel(self) -> None:
        if self.is_running():
            self.job.stop()
            self.status.setText("Cancelling… (candidates keep what they have so far)")

    def _failed(self, message: str) -> None:
        self.status.setText("Generation failed.")
        self.error.emit(f"Generation failed: {message}")

    def on_progress(self, event: dict) -> None:
        if "fraction" in event:
            self.progress.setValue(int(100 * float(event["fraction"])))
        for index, (piece, info) in event.get("growing", {}).items():
            self.show_candidate(index, piece, info, growing=True)
        if "candidate" in event:
            self.show_candidate(*event["candidate"])

    def on_finished(self, result) -> None:
        for index, (piece, info) in enumerate(result or []):
            self.show_candidate(index, piece, info)
        self.progress.setValue(100)
        stopped = any(info.get("ended") == "stopped" for _p, info in result or [])
        self.status.setText(f"{len(result or [])} candidate(s){' (cancelled)' if stopped else ''}. "
                            "Click one to open it in the editor.")

    def show_candidate(self, index: int, piece: Piece, info: dict, growing: bool = False) -> None:
        """Add candidate `index` or update it in place (it grows while it is sampled)."""
        while self.results.count() <= index:
            self.results.addItem(QListWidgetItem(""))
        item = self.results.item(index)
        item.setText(candidate_label(index + 1, piece, info, growing))
        item.setToolTip(json.dumps(info, default=str, indent=1))
        item.setData(ROLE, (piece, info, growing))

    def candidate(self, index: int) -> tuple[Piece, dict]:
        piece, info, _growing = self.results.item(index).data(ROLE)
        return piece, info

    def _clicked(self, item: QListWidgetItem) -> None:
        if self.edit_target is not None:
            self.apply_item(item)
        else:
            self.open_item(item)

    def open_item(self, item: QListWidgetItem) -> None:
        data = item.data(ROLE)
        if data is None or data[2]:
            self.status.setText("This candidate is still growing; it opens once it is finished.")
            return
        piece, info, _ = data
        piece = piece.copy()
        if not piece.title:  # named for what made it, in the tab and the ABC text
            piece.title = f"{info.get('model_name', 'model')} #{info.get('candidate', '')} seed {info.get('seed')}"
            if "abc" in piece.meta:
                piece.meta["abc"] = re.sub(r"^T:.*$", lambda _m: f"T:{piece.title}", piece.meta["abc"], count=1,
                                           flags=re.M)
        self.candidateOpened.emit(piece, {"generated": info})

    def apply_item(self, item: QListWidgetItem) -> None:
        data = item.data(ROLE)
        if data is None or data[2] or self.edit_target is None:
            return
        piece, info, _ = data
        self.candidateApplied.emit(self.edit_target, piece.copy(), info)

    def _update_buttons(self) -> None:
        ready = engines.engine("generate")
        running = self.is_running()
        self.generate_button.setEnabled(bool(ready) and not running and bool(self.model.currentData()))
        self.generate_button.setToolTip("Sample new pieces from the model" if ready else ready.tooltip)
        self.cancel_button.setEnabled(running)
        item = self.results.currentItem()
        done = item is not None and item.data(ROLE) is not None and not item.data(ROLE)[2]
        self.open_button.setEnabled(done)
        self.apply_button.setEnabled(done and self.edit_target is not None)
