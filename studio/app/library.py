"""The library panel: the corpora the user has (and music21's built-in folk collections, importable with one
click), and the models (shipped and their own), each with a card. The lists come from the corpus store,
the built-in definitions and the model folders (`list_corpora`, `definitions`, `list_models`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QLabel, QPushButton, QSplitter, QTextBrowser, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from . import engines
from .widgets import button_row

ROLE = Qt.ItemDataRole.UserRole


@dataclass
class Entry:
    kind: str  # "corpus", "builtin" or "model"
    name: str
    path: str = ""
    info: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        i = self.info
        if self.kind == "builtin":
            return i.get("title", self.name)
        if self.kind == "corpus":
            stats = i.get("stats", {})
            pieces = stats.get("pieces", stats.get("tunes"))
            codec = (i.get("codec") or {}).get("codec", "?")
            return f"{codec}, {pieces} pieces" if pieces is not None else codec
        if "error" in i:  # a broken model folder is listed, saying why
            return f"broken: {i['error']}"
        arch = i.get("architecture") or {}
        shape = f"{arch.get('cell', '')} {arch.get('layers', '?')}x{arch.get('units', '?')}" if arch else ""
        return ", ".join(x for x in ((i.get("codec") or {}).get("codec", ""), shape) if x)


def builtin_collections() -> list[Entry]:
    definitions = engines.engine("builtin_definitions")
    if not definitions:
        return []
    return [Entry("builtin", name, "", dict(info)) for name, info in definitions().get("collections", {}).items()]


def user_corpora() -> list[Entry]:
    """Corpora under STUDIO_HOME (folders being built or broken are left out)."""
    list_corpora = engines.engine("list_corpora")
    if not list_corpora:
        return []
    return [Entry("corpus", c.name, str(c.path), c.meta) for c in list_corpora()]


def models() -> list[Entry]:
    """Model folders: the user's own, then the shipped defaults (a broken folder is listed with the reason)."""
    list_models = engines.engine("list_models")
    if not list_models:
        return []
    return [Entry("model", m.name + (" (shipped)" if m.shipped else ""), str(m.path),
                  m.card if m.card is not None else {"error": m.error or "unreadable"})
            for m in sorted(list_models(), key=lambda m: m.shipped)]


def run_import(name: str, sources: list[str], codec_name: str, progress, stop) -> str:
    """Import files/folders (or `builtin:NAME` collections) into corpus `name`; the job the window runs.
    Returns the importer's report as text (shown in the library)."""
    importer = engines.require("import_corpus")
    report = importer(name, engines.require("get_codec")(codec_name), sources, stop=stop,
                      progress=lambda done, total, path: progress({"done": done, "total": total, "file": str(path)}))
    return report.summary()


_builtin_counts: dict[str, dict] = {}


def builtin_details(name: str) -> dict:
    """Tune and file counts of a built-in collection (counted once, by X: lines, when first shown)."""
    if not _builtin_counts:
        lister = engines.engine("builtin_collections")
        if lister:
            try:
                _builtin_counts.update({c["name"]: c for c in lister()})
            except Exception as exc:  # music21's corpus folder missing or unreadable: say so on the card
                _builtin_counts["\0error"] = {"error": str(exc)}
    return _builtin_counts.get(name, {})


def card_html(entry: Entry) -> str:
    """The card shown under the list: the facts a user picks a corpus or model by."""
    i = entry.info
    rows: list[tuple[str, object]] = []
    if entry.kind == "builtin":
        counts = builtin_details(entry.name)
        rows = [("Collection", i.get("title", entry.name)), ("Licence", i.get("licence", "")),
                ("Tunes", counts.get("tunes", "")), ("Files", len(counts.get("files", [])) or ""),
                ("Status", "ships inside music21; not imported yet — press Import")]
    elif entry.kind == "corpus":
        rows = [("Codec", (i.get("codec") or {}).get("codec", "?")), ("Created", i.get("created", "")),
                ("Sources", ", ".join(map(str, i.get("sources", [])))), ("Split", i.get("split", ""))]
        rows += [(k.replace("_", " ").capitalize(), v) for k, v in (i.get("stats") or {}).items()]
    elif "error" in i:
        rows = [("Status", f"broken, cannot be used: {i['error']}")]
    else:
        arch, training = i.get("architecture") or {}, i.get("training") or {}
        rows = [("Codec", (i.get("codec") or {}).get("codec", "?")),
                ("Vocabulary", len((i.get("codec") or {}).get("vocab", [])) or ""),
                ("Cell", arch.get("cell")), ("Layers × units", f"{arch.get('layers')} × {arch.get('units')}"),
                ("Embedding", "one-hot" if arch.get("embedding") == 0 else arch.get("embedding")),
                ("Parameters", f"{i['parameters']:,}" if isinstance(i.get("parameters"), int) else None),
                ("Trained on", training.get("corpus")), ("Steps", training.get("steps")),
                ("Epochs", training.get("epochs")),
                ("Validation loss", training.get("valid_nll_per_token")), ("Training loss", training.get("train_loss")),
                ("Training time", f"{training['wall_time_s'] / 60:.1f} min" if training.get("wall_time_s") else None),
                ("Hardware", training.get("hardware")), ("Date", training.get("date"))]
    body = "".join(f"<tr><td><b>{k}</b></td><td>{_fmt(v)}</td></tr>" for k, v in rows if v not in ("", None))
    return f"<h3>{entry.name}</h3><p>{entry.path}</p><table cellspacing='4'>{body}</table>"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value[:12]) + (" …" if len(value) > 12 else "")
    return str(value)


class LibraryPanel(QWidget):
    """Corpora and models. Signals say what the user picked; the window routes them to the panels."""

    importRequested = Signal(str, list)  # corpus name, sources (music21 collection names or paths)
    corpusChosen = Signal(str)  # corpus folder
    modelChosen = Signal(str)  # model folder

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "About"])
        self.tree.setColumnWidth(0, 170)
        self.card = QTextBrowser()
        self.import_button = QPushButton("Import")
        self.refresh_button = QPushButton("Refresh")
        self.use_button = QPushButton("Use")
        self.use_button.setToolTip("Train on this corpus / generate with this model")
        buttons = button_row(self.import_button, self.use_button, self.refresh_button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.card)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.tree.currentItemChanged.connect(self._show)
        self.tree.itemDoubleClicked.connect(lambda *_: self._use())
        self.import_button.clicked.connect(self._import)
        self.use_button.clicked.connect(self._use)
        self.refresh_button.clicked.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.tree.clear()
        self.entries: list[Entry] = []
        groups = (("Your corpora", user_corpora()), ("Built-in folk collections", builtin_collections()),
                  ("Models", models()))
        for title, entries in groups:
            top = QTreeWidgetItem([title, "" if entries else "none yet"])
            self.tree.addTopLevelItem(top)
            for e in entries:
                item = QTreeWidgetItem([e.name, e.summary])
                item.setData(0, ROLE, len(self.entries))
                self.entries.append(e)
                top.addChild(item)
            top.setExpanded(True)
        self._show(self.tree.currentItem())

    def entry_of(self, item) -> Entry | None:
        if item is None or item.data(0, ROLE) is None:
            return None
        return self.entries[int(item.data(0, ROLE))]

    def current(self) -> Entry | None:
        return self.entry_of(self.tree.currentItem())

    def _show(self, item, _previous=None) -> None:
        e = self.entry_of(item)
        self.card.setHtml(card_html(e) if e else "<p>Pick a corpus or a model to see its card.</p>")
        self.use_button.setEnabled(bool(e) and e.kind != "builtin")
        importer = engines.engine("import_corpus")
        self.import_button.setEnabled(bool(importer) and bool(e) and e.kind == "builtin")
        self.import_button.setToolTip(importer.tooltip if not importer else
                                      "Import this collection into your corpora (one click)")

    def _import(self) -> None:
        e = self.current()
        if e is None or e.kind != "builtin":
            self.status.setText("Pick a built-in collection to import, or use File > Import into Library for files.")
            return
        self.importRequested.emit(e.name, [f"builtin:{e.name}"])

    def _use(self) -> None:
        e = self.current()
        if e is None:
            return
        if e.kind == "corpus":
            self.corpusChosen.emit(e.path)
        elif e.kind == "model":
            self.modelChosen.emit(e.path)
        else:
            self._import()

    def corpus_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "corpus"]

    def model_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "model"]
