"""What an empty window shows: how to begin (open or drop a file, generate from a shipped model, import a
built-in collection, jam), with a button for each. It steps aside as soon as a piece is open."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

TEXT = """<h2>Welcome to Studio</h2>
<p>Nothing is open yet. To begin:</p>
<ul>
<li><b>Open</b> a MIDI, ABC or MusicXML file (or drop one onto this window) to see, hear and edit it.</li>
<li><b>Generate</b> new pieces from a model that ships with Studio (a folk-tune model and a piano
performance model), in the Generate panel on the right.</li>
<li><b>Import</b> a built-in collection (folk tunes, piano performances) into your library, to train
a model of your own in the Train panel.</li>
<li><b>Jam</b>: let a model play new music without end, and steer it while it plays.</li>
</ul>
<p>Space plays and stops; F1 lists every shortcut.</p>"""


class Welcome(QWidget):
    def __init__(self, window):
        super().__init__()
        self.setObjectName("welcome")
        text = QLabel(TEXT)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        self.buttons = {}
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(text)
        for key, label, slot in (("open", "Open a file…", window.files.on_open),
                                 ("generate", "Generate from a shipped model", lambda: _show(window, "Generate")),
                                 ("import", "Import a built-in collection", lambda: _show(window, "Library")),
                                 ("jam", "Jam with a model", lambda: _show(window, "Jam"))):
            button = QPushButton(label)
            button.clicked.connect(slot)
            layout.addWidget(button)
            self.buttons[key] = button
        layout.addStretch(2)
        layout.setContentsMargins(80, 20, 80, 20)


def _show(window, dock: str) -> None:
    d = window.docks.get(dock)
    if d is not None:
        d.show()
        d.raise_()


def install(window) -> Welcome:
    """Put the tabs and the welcome in one stack as the window's centre; the welcome shows while no piece
    is open."""
    welcome = Welcome(window)
    stack = QStackedWidget()
    stack.addWidget(welcome)
    stack.addWidget(window.tabs)
    window.setCentralWidget(stack)

    def follow(*_):
        stack.setCurrentWidget(window.tabs if window.tabs.count() else welcome)

    window.tabs.currentChanged.connect(follow)
    follow()
    window.welcome = welcome
    return welcome
