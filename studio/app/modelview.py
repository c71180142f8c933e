"""View > Model: the model's view of the open piece, drawn over the music.

- Surprise: roll notes and ABC tokens coloured by the surprise (nats) of the tokens that make them, with a
  legend; hovering one shows the surprise and the model's top 5 there.
- What would the model play here? The most likely next events at the playhead; double-click one to put it
  into the piece (one undoable step).
- Cells: a lane under the roll drawing one LSTM unit over time; Find cells ranks units by how closely they
  follow a musical feature of the piece; click a result to show its lane; Save PNG.

Everything is computed by `studio.inspect` in a background job, again a moment after each edit.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QLinearGradient, QPainter, QPixmap, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSpinBox, QToolTip, QVBoxLayout, QWidget)

from . import engines
from .charts import Chart
from .widgets import fill_combo
from .workers import Job

MAX_NATS = 8.0  # the top of the colour scale; anything more surprising gets the last colour
LEVELS = 16
RECOMPUTE_AFTER_MS = int(float(os.environ.get("STUDIO_INSPECT_DELAY", "0.6")) * 1000)
PREDICTIONS = 5


def surprise_palette() -> list[QColor]:
    """Expected (green) through yellow to surprising (red): matplotlib's RdYlGn, reversed."""
    from matplotlib import colormaps

    cmap = colormaps["RdYlGn_r"]
    return [QColor.fromRgbF(*cmap(0.08 + 0.84 * k / (LEVELS - 1))) for k in range(LEVELS)]


def surprise_levels(surprise: np.ndarray) -> np.ndarray:
    """Palette index per value (-1 for NaN: no token matched, keep the usual colour)."""
    s = np.asarray(surprise, dtype=float)
    levels = np.floor(np.clip(np.nan_to_num(s, nan=0.0), 0, MAX_NATS - 1e-9) / MAX_NATS * LEVELS).astype(np.int64)
    return np.where(np.isnan(s), -1, levels)


_MODELS: dict = {}


def load_cached(model_dir: str):
    """Loaded models, kept while their weights file is unchanged (recomputing after each edit is common)."""
    load_model = engines.require("load_model")
    path = Path(model_dir)
    key = (str(path.resolve()), (path / "weights.safetensors").stat().st_mtime_ns)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_model(path)
    return _MODELS[key]


def inspect_job(model_dir: str, piece, progress=None, stop=None):
    return engines.require("inspect_piece")(load_cached(model_dir), piece)


def find_cells_job(inspection, count: int, progress=None, stop=None):
    return inspection.cells(count)


# ---------------------------------------------------------------------------------------------- pieces of view
class Legend(QLabel):
    """The colour scale, 0 to MAX_NATS."""

    def __init__(self, parent=None):
        super().__init__(parent)
        pix = QPixmap(220, 30)
        pix.fill(QColor(0, 0, 0, 0))
        p = QPainter(pix)
        grad = QLinearGradient(0, 0, 200, 0)
        for k, c in enumerate(surprise_palette()):
            grad.setColorAt(k / (LEVELS - 1), c)
        p.fillRect(10, 2, 200, 12, grad)
        p.setPen(QColor("#424242"))
        for nats in range(0, int(MAX_NATS) + 1, 2):
            x = 10 + int(200 * nats / MAX_NATS)
            p.drawLine(x, 14, x, 17)
            p.drawText(x - 8, 29, f"{nats}{'+' if nats == MAX_NATS else ''}")
        p.end()
        self.setPixmap(pix)
        self.setToolTip("Surprise in nats (negative log-probability): green = what the model expected, "
                        f"red = {MAX_NATS:g} nats or more (less than 1 chance in {int(np.exp(MAX_NATS))})")


class SurpriseHighlighter(QSyntaxHighlighter):
    """Background colour per token span of the ABC text."""

    def __init__(self, document):
        super().__init__(document)
        self.spans: list[tuple[int, int, int]] = []  # (start, end, level)
        self.palette = surprise_palette()

    def set_spans(self, spans: list[tuple[int, int, int]]) -> None:
        self.spans = spans
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        start = self.currentBlock().position()
        end = start + len(text)
        for s, e, level in self.spans:
            if e > start and s < end and level >= 0:
                fmt = QTextCharFormat()
                colour = QColor(self.palette[level])
                colour.setAlpha(150)
                fmt.setBackground(colour)
                self.setFormat(max(s, start) - start, min(e, end) - max(s, start), fmt)


class CellLane(Chart):
    """One unit's activation over time, under the roll and scrolled with it."""

    def __init__(self, roll, parent=None):
        super().__init__(height=0.9, parent=parent)
        self.roll = roll
        self.figure.set_layout_engine(None)
        self.figure.subplots_adjust(left=0, right=1, top=1, bottom=0)
        self.times = np.zeros(0)
        self.values = np.zeros(0)
        self.label = ""
        self.setFixedHeight(90)
        roll.view.viewChanged.connect(self.schedule)

    def set_series(self, times: np.ndarray, values: np.ndarray, label: str) -> None:
        self.times, self.values, self.label = np.asarray(times, float), np.asarray(values, float), label
        self.redraw()

    def draw_axes(self, ax) -> None:
        t0, t1 = self.roll.view.visible_seconds()
        ax.set_xlim(t0, t1)
        ax.set_xticks([])
        ax.tick_params(axis="y", direction="in", pad=-24, labelsize=7)
        ax.grid(alpha=0.3)
        ok = ~np.isnan(self.times)
        if ok.any():
            ax.step(self.times[ok], self.values[ok], where="post", color="#1565c0", lw=1.0)
            ax.axhline(0, color="#9e9e9e", lw=0.5)
            ax.axvline(self.roll.view.playhead, color="#d32f2f", lw=0.8)
        ax.text(0.005, 0.95, self.label or "cell lane: pick a unit in the Model panel", transform=ax.transAxes,
                va="top", fontsize=7, color="#424242")


# ---------------------------------------------------------------------------------------------- the panel
class ModelView(QWidget):
    """The Model dock: which model, surprise colouring, predictions at the playhead, cells."""

    computed = Signal()  # an inspection reached the views (tests wait on it)
    error = Signal(str)

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window = window
        self.tab = None
        self.inspection = None  # of the current tab's piece
        self.note_surprise = np.zeros(0)
        self.note_token = np.zeros(0, dtype=np.int64)
        self.job: Job | None = None
        self.pending = False
        self.version: dict[int, int] = {}  # id(document) -> edit count, to drop stale results
        self.lanes: dict[int, CellLane] = {}
        self.highlighters: dict[int, SurpriseHighlighter] = {}
        self.found: list = []
        self.palette = surprise_palette()

        self.model = QComboBox()
        self.model.setToolTip("The model whose view of the piece is shown (its codec must fit the piece)")
        self.surprise = QCheckBox("Colour by surprise")
        self.status = QLabel("Open a piece and pick a model.")
        self.status.setWordWrap(True)
        self.predictions = QListWidget()
        self.predictions.setToolTip("The model's most likely next events at the playhead; double-click one to "
                                    "put it into the piece (Ctrl+Z takes it out)")
        self.predictions.setMaximumHeight(120)
        self.show_lane = QCheckBox("Cell lane under the roll")
        self.layer = QSpinBox(minimum=0, maximum=0)
        self.kind = QComboBox()
        self.kind.addItem("cell state c", "c")
        self.kind.addItem("hidden output h", "h")
        self.unit = QSpinBox(minimum=0, maximum=0)
        self.find_button = QPushButton("Find cells")
        self.find_button.setToolTip("Rank units by correlation with position in the bar, bar number within a part, "
                                    "pitch height, notes sounding, inside a repeat and time since the last note")
        self.cells = QListWidget()
        self.cells.setMaximumHeight(140)
        self.save_button = QPushButton("Save lane as PNG…")

        unit_row = QHBoxLayout()
        for w in (QLabel("layer"), self.layer, self.kind, QLabel("unit"), self.unit):
            unit_row.addWidget(w)
        form = QFormLayout()
        form.addRow("Model", self.model)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.surprise)
        layout.addWidget(Legend())
        layout.addWidget(self.status)
        layout.addWidget(QLabel("<b>What would the model play here?</b>"))
        layout.addWidget(self.predictions)
        layout.addWidget(QLabel("<b>Cells</b>"))
        layout.addWidget(self.show_lane)
        layout.addLayout(unit_row)
        layout.addWidget(self.find_button)
        layout.addWidget(self.cells)
        layout.addWidget(self.save_button)
        layout.addStretch(1)

        self._timer = QTimer(self, singleShot=True, interval=RECOMPUTE_AFTER_MS)
        self._timer.timeout.connect(self.recompute)
        self.refresh_models()
        self.model.currentIndexChanged.connect(lambda _i: self.recompute())
        self.surprise.toggled.connect(self._activated)
        self.predictions.itemDoubleClicked.connect(self.insert_item)
        self.show_lane.toggled.connect(self._activated)
        for w in (self.layer, self.unit):
            w.valueChanged.connect(self._update_lane)
        self.kind.currentIndexChanged.connect(self._update_lane)
        self.find_button.clicked.connect(self.find_cells)
        self.cells.itemClicked.connect(self._cell_chosen)
        self.save_button.clicked.connect(self._ask_save_png)

    # ----------------------------------------------------------------- models and tabs
    def refresh_models(self) -> None:
        list_models = engines.engine("list_models")
        items = [(f"{m.name} ({m.card['codec']['codec']})", str(m.path)) for m in (list_models() if list_models else []) if m.card]
        self.model.blockSignals(True)
        fill_combo(self.model, items)
        self.model.blockSignals(False)

    def set_model(self, model_dir: str) -> None:
        i = self.model.findData(str(model_dir))
        if i < 0:
            from .generate import model_codec_name

            self.model.addItem(f"{Path(model_dir).name} ({model_codec_name(str(model_dir))})", str(model_dir))
            i = self.model.count() - 1
        self.model.setCurrentIndex(i)

    def _fit_model(self, doc) -> None:
        """A tune read from ABC wants a model of the codec of that text, anything else a model of notes in time
        (`Codec.fits`): switch when the chosen one does not fit."""
        from .generate import model_codec

        def fits(model_dir) -> bool:
            codec = model_codec(model_dir or "")
            return codec is not None and codec.fits(doc.piece)

        if fits(self.model.currentData()):
            return
        for i in range(self.model.count()):
            if fits(self.model.itemData(i)):
                self.model.blockSignals(True)
                self.model.setCurrentIndex(i)
                self.model.blockSignals(False)
                return

    def set_tab(self, tab) -> None:
        """The current editor tab changed: follow its document."""
        self.tab = tab
        self.inspection = None
        self.predictions.clear()
        self.cells.clear()
        if tab is None:
            return
        doc = tab.document
        if id(doc) not in self.version:
            self.version[id(doc)] = 0
            doc.changed.connect(lambda d=doc: self._doc_changed(d))
            tab.roll.seekRequested.connect(lambda _t: self.update_predictions())
        self._fit_model(doc)
        self.recompute()

    def _activated(self, *_args) -> None:
        """Surprise or the lane switched: draw what we have, and ask the model if nothing is there yet."""
        self._apply_colours()
        self._update_lane()
        if self.inspection is None:
            self.recompute()

    def _doc_changed(self, doc) -> None:
        self.version[id(doc)] = self.version.get(id(doc), 0) + 1
        if self.tab is not None and self.tab.document is doc:
            self._timer.start()

    # ----------------------------------------------------------------- computing
    def recompute(self) -> None:
        self._timer.stop()
        if self.tab is None or not self.model.currentData() or not self.is_active():
            return
        if self.job is not None and self.job.is_running():
            self.pending = True
            return
        doc = self.tab.document
        if not len(doc.notes):
            self.status.setText("The piece has no notes.")
            return
        self.status.setText("Asking the model…")
        key = (id(doc), self.version.get(id(doc), 0), self.model.currentData())
        self.job = Job(inspect_job, self.model.currentData(), doc.piece.copy(), parent=self)
        self.job.finished.connect(lambda ins, k=key: self._computed(k, ins))
        self.job.failed.connect(self._failed)
        self.job.done.connect(self._job_done)
        self._start(self.job)

    def _start(self, job: Job) -> None:
        """Run a job as the window's own (so closing the window waits for it)."""
        run = getattr(self.window, "_run", None)
        run(job) if run else job.start()

    def is_active(self) -> bool:
        """Anything showing the model's view? Only then is the model asked (it costs CPU)."""
        dock = getattr(self, "dock", None)
        return self.surprise.isChecked() or self.show_lane.isChecked() or bool(dock and dock.isVisible())

    def _job_done(self) -> None:
        if self.pending:
            self.pending = False
            self.recompute()

    def _failed(self, message: str) -> None:
        self.status.setText(f"<span style='color:#b71c1c'>{message.splitlines()[0]}</span>")
        self.error.emit(message)

    def _computed(self, key, ins) -> None:
        doc = self.tab.document if self.tab is not None else None
        if doc is None or key != (id(doc), self.version.get(id(doc), 0), self.model.currentData()):
            self.pending = True  # the piece (or model, or tab) changed meanwhile: compute again
            return
        self.inspection = ins
        self.note_surprise, self.note_token = ins.match_notes(doc.notes)
        matched = int(np.isfinite(self.note_surprise).sum())
        self.status.setText(f"{ins.nll_per_token:.3f} nats/token over {len(ins.run.surprise)} tokens "
                            f"({np.exp(ins.nll_per_token):.1f} perplexity); {matched} of {len(doc.notes)} notes matched")
        units = ins.run.hidden[0].shape[1] if ins.run.hidden else 1
        self.layer.setMaximum(max(0, ins.run.layers - 1))
        self.unit.setMaximum(units - 1)
        self.kind.setEnabled(ins.run.cell is not None)
        self._apply_colours()
        self.predictions.clear()  # new numbers even where the playhead has not moved
        self.update_predictions()
        self._update_lane()
        self.computed.emit()

    # ----------------------------------------------------------------- surprise colouring and hover
    def _apply_colours(self) -> None:
        if self.tab is None:
            return
        on = self.surprise.isChecked() and self.inspection is not None
        layer = self.tab.roll.view.layer
        layer.set_note_levels(surprise_levels(self.note_surprise) if on else None, self.palette)
        self.tab.roll.view.note_tip_extra = self.note_tip if on else None
        abc = getattr(self.tab, "abc", None)
        if abc is not None:
            hl = self.highlighters.get(id(abc))
            if hl is None:
                hl = self.highlighters[id(abc)] = SurpriseHighlighter(abc.editor.document())
                abc.editor.viewport().installEventFilter(self)
            spans = self.token_spans() if on and abc.text == self.tab.document.piece.meta.get("abc") else []
            hl.set_spans(spans)

    def token_spans(self) -> list[tuple[int, int, int]]:
        """(start, end, level) in the ABC text per written event, its tokens' surprises summed."""
        ins = self.inspection
        spans = ins.tmap.spans if ins is not None else None
        if not spans:
            return []
        total: dict[tuple[int, int], float] = {}
        for t, span in enumerate(spans):
            if span is not None:
                total[span] = total.get(span, 0.0) + float(ins.run.surprise[t])
        return [(s, e, int(surprise_levels(np.array([v]))[0])) for (s, e), v in total.items()]

    def _tip_at(self, t: int, total: float | None = None, tokens: list[int] | None = None) -> str:
        describe = engines.require("describe_token")
        ins = self.inspection
        names = ins.tokens
        head = f"surprise {total if total is not None else ins.run.surprise[t]:.2f} nats"
        if tokens and len(tokens) > 1:
            head += " (" + " + ".join(f"{names[k]} {ins.run.surprise[k]:.2f}" for k in tokens) + ")"
        top = ", ".join(f"{describe(ins.codec, i)} {p:.0%}" for i, p in zip(ins.run.top_ids[t].tolist(),
                                                                           ins.run.top_p[t].tolist()))
        return f"{head}\nthe model expected: {top}"

    def note_tip(self, i: int) -> str:
        if self.inspection is None or i >= len(self.note_token) or self.note_token[i] < 0:
            return ""
        t = int(self.note_token[i])
        note = next((n for n in self.inspection.tmap.notes if t in n["tokens"]), None)
        return self._tip_at(t, float(self.note_surprise[i]), note["tokens"] if note else None)

    def abc_tip(self, position: int) -> str:
        ins = self.inspection
        if ins is None or not ins.tmap.spans:
            return ""
        tokens = [t for t, span in enumerate(ins.tmap.spans) if span and span[0] <= position < span[1]]
        if not tokens:
            return ""
        return self._tip_at(tokens[0], float(sum(ins.run.surprise[t] for t in tokens)), tokens)

    def eventFilter(self, obj, event) -> bool:
        abc = getattr(self.tab, "abc", None) if self.tab is not None else None
        if (event.type() == QEvent.Type.ToolTip and abc is not None and obj is abc.editor.viewport()
                and self.surprise.isChecked()):
            tip = self.abc_tip(abc.editor.cursorForPosition(event.pos()).position())
            if tip:
                QToolTip.showText(event.globalPos(), tip, obj)
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(obj, event)

    # ----------------------------------------------------------------- predictions at the playhead
    def prediction_index(self) -> int:
        return self.inspection.index_at(self.tab.roll.view.playhead) if self.inspection else 0

    def update_predictions(self, *_args) -> None:
        describe = engines.require("describe_token")
        ins = self.inspection
        if ins is None or self.tab is None:
            self.predictions.clear()
            return
        t = self.prediction_index()
        if self.predictions.count() and self.predictions.item(0).data(Qt.ItemDataRole.UserRole)[0] == t:
            return  # same place: keep the list (playback moves the playhead many times a second)
        self.predictions.clear()
        for i, p in zip(ins.run.top_ids[t].tolist()[:PREDICTIONS], ins.run.top_p[t].tolist()):
            item = QListWidgetItem(f"{describe(ins.codec, i)}    {p:.1%}")
            item.setData(Qt.ItemDataRole.UserRole, (t, int(i)))
            item.setToolTip(f"token {ins.codec.tokens([i])[0]}, probability {p:.4f}")
            self.predictions.addItem(item)

    def insert_item(self, item: QListWidgetItem) -> None:
        self.insert_prediction(*item.data(Qt.ItemDataRole.UserRole))

    def insert_prediction(self, index: int, token_id: int) -> None:
        """Put the predicted token into the piece at token place `index`, as one undoable edit."""
        from ..errors import StudioError
        describe, insert_prediction = engines.require("describe_token"), engines.require("insert_prediction")
        doc, ins = self.tab.document, self.inspection
        try:
            new = insert_prediction(ins, doc.piece, index, token_id)
        except StudioError as exc:
            self.status.setText(exc.message())
            return
        text = f"Insert {describe(ins.codec, token_id)}"
        if ins.codec.text_of(new) is not None:  # a tune re-decoded from its text form: the whole piece changes
            doc.replace_piece(text, new)
        else:
            doc.edit(text, new.notes)

    # ----------------------------------------------------------------- cells
    def lane(self, create: bool = True) -> CellLane | None:
        if self.tab is None:
            return None
        roll = self.tab.roll
        lane = self.lanes.get(id(roll))
        if lane is None and create:
            lane = self.lanes[id(roll)] = CellLane(roll)
            holder = QWidget()
            row = QHBoxLayout(holder)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(0)
            row.addSpacing(roll.keyboard.sizeHint().width())  # line the lane up with the roll's time axis
            row.addWidget(lane, 1)
            roll.layout().addWidget(holder)
            lane.holder = holder
            holder.destroyed.connect(lambda *_a, k=id(roll): self.lanes.pop(k, None))
        return lane

    def _update_lane(self, *_args) -> None:
        lane = self.lane(create=self.show_lane.isChecked())
        if lane is None:
            return
        lane.holder.setVisible(self.show_lane.isChecked())
        ins = self.inspection
        if ins is None or not self.show_lane.isChecked():
            return
        kind = self.kind.currentData() if ins.run.cell is not None else "h"
        layer, unit = self.layer.value(), self.unit.value()
        times, index = ins.played_tokens()
        label = f"layer {layer} {kind} unit {unit}"
        match = next((c for c in self.found if (c.layer, c.kind, c.unit) == (layer, kind, unit)), None)
        if match:
            label += f" (r = {match.r:+.2f} with {match.feature})"
        lane.set_series(times, ins.run.activation(layer, kind, unit)[index], label)

    def show_cell(self, layer: int, kind: str, unit: int) -> None:
        for w in (self.layer, self.unit, self.kind):
            w.blockSignals(True)
        self.layer.setValue(layer)
        self.unit.setValue(unit)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        for w in (self.layer, self.unit, self.kind):
            w.blockSignals(False)
        if self.show_lane.isChecked():
            self._update_lane()
        else:
            self.show_lane.setChecked(True)

    def find_cells(self) -> None:
        if self.inspection is None:
            self.status.setText("Nothing to rank yet: the model has not read the piece.")
            return
        self.find_button.setEnabled(False)
        job = Job(find_cells_job, self.inspection, 20, parent=self)
        job.finished.connect(self._cells_found)
        job.failed.connect(self._failed)
        job.done.connect(lambda: self.find_button.setEnabled(True))
        self._start(job)

    def _cells_found(self, cells: list) -> None:
        self.found = list(cells)
        self.cells.clear()
        for c in cells:
            item = QListWidgetItem(f"{c.label}: r = {c.r:+.2f} with {c.feature}")
            item.setData(Qt.ItemDataRole.UserRole, (c.layer, c.kind, c.unit))
            self.cells.addItem(item)
        if not cells:
            self.cells.addItem("No unit follows any feature here (too short, or the features are constant).")

    def _cell_chosen(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if data:
            self.show_cell(*data)

    def save_lane_png(self, path: str) -> None:
        lane = self.lane(create=False)
        if lane is None:
            self.status.setText("Show a cell lane first.")
            return
        lane.save_png(path)
        self.status.setText(f"Saved {path}")

    def _ask_save_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save cell lane", "cell-lane.png", "PNG image (*.png)")
        if path:
            self.save_lane_png(path if path.lower().endswith(".png") else path + ".png")


def install_model_view(window) -> ModelView:
    """Add the Model dock and the View > Model menu to the main window; returns the panel."""
    view = ModelView(window)
    dock = window.add_dock("Model", view, Qt.DockWidgetArea.RightDockWidgetArea)
    if "Generate" in window.docks:
        window.tabifyDockWidget(window.docks["Generate"], dock)
        window.docks["Generate"].raise_()
    dock.hide()
    view.dock = dock
    dock.visibilityChanged.connect(lambda visible: visible and view.inspection is None and view.recompute())
    menu = window.menus["View"].addMenu("&Model")
    surprise = QAction("&Surprise", window, checkable=True)
    surprise.setToolTip("Colour notes and ABC tokens by how surprised the model is by them")
    surprise.toggled.connect(view.surprise.setChecked)
    view.surprise.toggled.connect(surprise.setChecked)
    surprise.toggled.connect(lambda on: on and (dock.show(), dock.raise_()))
    lane = QAction("&Cell Lane", window, checkable=True)
    lane.toggled.connect(view.show_lane.setChecked)
    view.show_lane.toggled.connect(lane.setChecked)
    panel = QAction("Model &Panel (predictions, cells)", window)
    panel.triggered.connect(lambda: (dock.show(), dock.raise_()))
    find = QAction("&Find Cells", window)
    find.triggered.connect(lambda: (dock.show(), dock.raise_(), view.find_cells()))
    for act in (surprise, lane, panel, find):
        menu.addAction(act)
    view.actions_ = {"surprise": surprise, "lane": lane, "panel": panel, "find": find}
    window.tabs.currentChanged.connect(lambda _i: view.set_tab(window.current_tab()))
    window.transport.positionChanged.connect(lambda _s: QTimer.singleShot(0, view.update_predictions))
    view.error.connect(lambda m: window.message(m.splitlines()[0]))
    view.set_tab(window.current_tab())
    return view
