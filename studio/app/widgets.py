"""Small widget helpers the panels share."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton


def select_data(box: QComboBox, data) -> None:
    """Select the entry carrying `data` (a corpus or model folder), if listed."""
    i = box.findData(data)
    if i >= 0:
        box.setCurrentIndex(i)


def fill_combo(box: QComboBox, items: list[tuple[str, str]]) -> None:
    """Replace a menu's (label, data) entries, keeping the current choice when it is still listed."""
    current = box.currentData()
    box.clear()
    for label, data in items:
        box.addItem(label, data)
    if current:
        select_data(box, current)


def button_row(*buttons: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    for b in buttons:
        row.addWidget(b)
    return row
