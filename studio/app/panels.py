"""The docked panels (Library, Train, Generate, Jam) and how they talk to each other: the library's corpora
feed Train, its models feed Generate and Jam, a trained model refreshes the library, generated pieces open
as tabs, and every panel's errors reach the window. `install(window)` creates them as `window.library`,
`window.train_panel`, `window.generate_panel` and `window.jam_panel` (their docks in `window.docks`) and
returns the handler (`window.panels`), which also says whether the window may close and stops their jobs."""
from __future__ import annotations

from PySide6.QtCore import Qt

from .generate import GeneratePanel
from .jam import JamPanel
from .library import LibraryPanel
from .train import TrainPanel

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea


class Panels:
    def __init__(self, window):
        self.window = window
        self.library = LibraryPanel()
        self.train = TrainPanel()
        self.generate = GeneratePanel()
        self.jam = JamPanel()
        for name, widget, area in (("Library", self.library, LEFT), ("Train", self.train, RIGHT),
                                   ("Generate", self.generate, RIGHT), ("Jam", self.jam, RIGHT)):
            window.add_dock(name, widget, area)
        window.tabifyDockWidget(window.docks["Train"], window.docks["Generate"])
        window.tabifyDockWidget(window.docks["Generate"], window.docks["Jam"])
        window.docks["Generate"].raise_()

    def wire(self) -> None:
        w = self.window
        self.library.corpusChosen.connect(self._use_corpus)
        self.library.modelChosen.connect(self._use_model)
        self.library.importRequested.connect(lambda name, sources: w.files.import_into_library(name, sources))
        self.train.modelTrained.connect(lambda _d: self.refresh_library())
        for panel in (self.train, self.generate, self.jam):
            panel.error.connect(w.show_error)
        self.generate.candidateOpened.connect(lambda piece, prov: w.add_piece(piece, "", prov))
        self.jam.keep.connect(lambda piece, prov: w.add_piece(piece, "", prov))
        self.refresh_library()

    def refresh_library(self) -> None:
        self.library.refresh()
        models = [(e.name, e.path) for e in self.library.model_entries()]
        self.train.set_corpora([(e.name, e.path) for e in self.library.corpus_entries()])
        self.train.set_models(models)
        self.generate.set_models(models)
        self.jam.set_models(models)

    def _use_corpus(self, path: str) -> None:
        self.train.choose_corpus(path)
        self.window.docks["Train"].raise_()

    def _use_model(self, path: str) -> None:
        self.generate.choose_model(path)
        self.window.docks["Generate"].raise_()

    def can_close(self) -> bool:
        """A running training stops only when the user agrees (its last checkpoint is kept)."""
        if self.train.is_running():
            if not self.window.ask("Training is running. Stop it and quit? The last checkpoint is kept, so you "
                                   "can Resume later."):
                return False
            self.train.stop()
            self.train.job.wait()
        return True

    def shutdown(self) -> None:
        self.jam.shutdown()
        for job in [p.job for p in (self.train, self.generate) if p.job]:
            job.stop()
            job.wait(10000)  # a finished child process may still be exiting


def install(window) -> Panels:
    panels = Panels(window)
    window.panels = panels
    window.library, window.train_panel = panels.library, panels.train
    window.generate_panel, window.jam_panel = panels.generate, panels.jam
    return panels
