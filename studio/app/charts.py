"""Charts inside the studio, drawn with matplotlib's Qt canvas (ticks, scales and PNG export for free):
the training panel's loss curve and the model view's cell lane share `Chart`."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSize, QTimer
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

REDRAW_MS = 150  # data arriving faster than this is drawn together


class Chart(QWidget):
    """One matplotlib axes in a widget. Subclasses draw in `draw_axes(ax)`; `schedule()` redraws soon."""

    def __init__(self, height: float = 1.6, parent=None):
        # matplotlib is imported here, not with the module: a training job's child process imports this
        # module's neighbours and should not pay for it
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        super().__init__(parent)
        self.figure = Figure(figsize=(4, height), dpi=100, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.ax = self.figure.add_subplot(1, 1, 1)
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(2)
        self.layout_.addWidget(self.canvas, 1)

    def schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        self._timer.stop()
        self.ax.clear()
        self.draw_axes(self.ax)
        self.canvas.draw_idle()

    def draw_axes(self, ax) -> None:  # pragma: no cover - subclasses draw
        pass

    def save_png(self, path: str) -> None:
        from ..atomic import write_bytes

        import io

        self.redraw()
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=150)
        write_bytes(path, buf.getvalue())


def smoothed(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard's smoothing): `weight` 0 = raw."""
    if weight <= 0 or len(values) == 0:
        return values
    out = np.empty(len(values))
    acc = 0.0
    for k, v in enumerate(values.tolist()):
        acc = acc * weight + (1 - weight) * v
        out[k] = acc / (1 - weight ** (k + 1))
    return out


class LossPlot(Chart):
    """Training (blue) and validation (orange) loss against step, with a log-scale option and smoothing."""

    def __init__(self, parent=None):
        super().__init__(height=1.8, parent=parent)
        self.train: list[tuple[float, float]] = []
        self.valid: list[tuple[float, float]] = []
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Loss on a logarithmic axis: late, small improvements stay visible")
        self.smoothing = QDoubleSpinBox(minimum=0.0, maximum=0.99, singleStep=0.1, decimals=2, value=0.6)
        self.smoothing.setToolTip("Exponential smoothing of the training loss (0 = raw); the raw curve stays faint")
        row = QHBoxLayout()
        row.addWidget(self.log_scale)
        row.addWidget(QLabel("Smoothing"))
        row.addWidget(self.smoothing)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.log_scale.toggled.connect(self.redraw)
        self.smoothing.valueChanged.connect(self.redraw)
        self.setMinimumHeight(170)
        self.redraw()

    def sizeHint(self) -> QSize:
        return QSize(320, 200)

    def clear(self) -> None:
        self.train, self.valid = [], []
        self.redraw()

    def add(self, step: float, train: float | None, valid: float | None) -> None:
        if train is not None and math.isfinite(train):
            self.train.append((step, train))
        if valid is not None and math.isfinite(valid):
            self.valid.append((step, valid))
        self.schedule()

    def draw_axes(self, ax) -> None:
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("loss (nats)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if not self.train and not self.valid:
            ax.text(0.5, 0.5, "Loss appears here while training", ha="center", va="center", transform=ax.transAxes,
                    color="#757575")
            return
        if self.train:
            s, v = np.array(self.train).T
            weight = self.smoothing.value()
            if weight > 0:
                ax.plot(s, v, color="#1e88e5", alpha=0.25, lw=1)
            ax.plot(s, smoothed(v, weight), color="#1e88e5", lw=1.6, label="training")
        if self.valid:
            s, v = np.array(self.valid).T
            ax.plot(s, v, color="#fb8c00", lw=1.6, marker="o", ms=3, label="validation")
        ax.set_yscale("log" if self.log_scale.isChecked() else "linear")
        ax.legend(fontsize=7, loc="upper right")
