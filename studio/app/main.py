"""`studio` with no command: start Qt, open the main window, show errors instead of dying, and offer to
restore the autosave after a crash."""
from __future__ import annotations

import sys
import time
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..errors import StudioError
from ..paths import shipped_path

REPEAT_SECONDS = 10.0  # the same error again within this time goes to the status bar, not another box


def install_excepthook(window_getter) -> None:
    """An exception escaping a Qt slot shows a message box and the app carries on (it is also printed)."""

    shown: dict[str, float] = {}

    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        text = value.message() if isinstance(value, StudioError) else f"{kind.__name__}: {value}"
        window = window_getter()
        if window is None:
            return
        if time.monotonic() - shown.get(text, -1e9) < REPEAT_SECONDS:  # e.g. a paint error on every frame
            window.statusBar().showMessage(text, 5000)
            return
        shown[text] = time.monotonic()
        window.show_error(f"{text}\n\nThe window is still working; your pieces are safe.", "Something went wrong")

    sys.excepthook = hook


def make_app(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(["studio", *argv])
    app.setApplicationName("Studio")
    app.setOrganizationName("studio")
    app.setWindowIcon(QIcon(str(shipped_path("resources", "icons", "studio.svg"))))
    app.setStyleSheet(shipped_path("resources", "styles", "studio.qss").read_text(encoding="utf-8"))
    return app


def run_app(argv: list[str]) -> int:
    """Open the studio; files named in argv are opened. Returns the exit status."""
    app = make_app(argv)
    from .mainwindow import MainWindow

    window = MainWindow()
    install_excepthook(lambda: window)
    window.show()
    if argv:
        window.files.open_paths(argv)
    QTimer.singleShot(0, window.files.offer_recovery)
    try:
        return app.exec()
    except Exception as exc:  # last resort: never leave without telling the user
        QMessageBox.critical(None, "Studio", str(exc))
        return 1
