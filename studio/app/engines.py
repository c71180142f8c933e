"""Where the window finds the engines (corpus importer, training, generation, playback, folk ABC writer).

Panels ask this module rather than importing the engines, so an engine that cannot be imported (a broken
install, a missing optional system library) turns into a disabled control with a tooltip saying why, never
an error at start-up. Wiring an engine is one entry in ENGINES: the dotted path of the function or class.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

# name -> ("module", "attribute"); the signatures the panels call are in each entry's comment.
ENGINES: dict[str, tuple[str, str]] = {
    # import_corpus(name, codec: Codec, paths, progress=callable(done, total, file), stop=Event) -> ImportReport
    "import_corpus": ("studio.corpus.importer", "import_corpus"),
    # builtin_collections() -> [{"name", "title", "licence", "files", "tunes"}, ...] (music21's folk collections)
    "builtin_collections": ("studio.corpus.builtin", "builtin_collections"),
    # Trainer(out_dir, TrainConfig, on_event=callable(TrainEvent)).run() -> TrainResult; .stop(); Trainer.resume()
    "train": ("studio.training", "Trainer"),
    # make_config(preset, **overrides) -> TrainConfig (.to_dict()); PRESETS: name -> overrides
    "make_config": ("studio.training", "make_config"),
    "train_presets": ("studio.training", "PRESETS"),
    # Generation(model, n, Settings, primer=piece): steps(), piece(i), stop(), candidates() (streaming);
    # studio.generation.edit continue_piece/regenerate; driven by studio.app.genjob.run_generation
    "generate": ("studio.generation", "Generation"),
    # Player(on_state=, on_message=): set_piece, seek, set_loop(start, end), play, pause, stop, panic, close;
    # .position and .state properties
    "player": ("studio.playback", "Player"),
    # render_wav(piece, path, progress=callable(done, total), stop=Event) -> bool (False: stopped, nothing written)
    "render_wav": ("studio.playback", "render_wav"),
    # piece_to_abc(piece) -> str: the folk codec's ABC writer (roll edits -> ABC text)
    "piece_to_abc": ("studio.codecs.folk", "piece_to_abc"),
    # read_abc_tunes(path) -> [AbcTune]; split_tunes(text) -> [AbcTune]; tune_to_piece(AbcTune) -> Piece
    "read_abc_tunes": ("studio.music.abc_io", "read_abc_tunes"),
    "split_tunes": ("studio.music.abc_io", "split_tunes"),
    "tune_to_piece": ("studio.music.abc_io", "tune_to_piece"),
}

WHERE = {
    "import_corpus": "the corpus importer", "builtin_collections": "the corpus importer",
    "train": "the training engine", "make_config": "the training engine", "train_presets": "the training engine",
    "generate": "the generation engine", "player": "the playback engine", "render_wav": "the audio renderer",
    "piece_to_abc": "the folk ABC writer", "read_abc_tunes": "the ABC reader", "split_tunes": "the ABC reader",
    "tune_to_piece": "the ABC reader",
}


@dataclass
class Missing:
    """Why an engine is not available (shown as a tooltip on the control that needs it)."""

    name: str
    reason: str

    def __bool__(self) -> bool:
        return False

    @property
    def tooltip(self) -> str:
        return f"Needs {WHERE.get(self.name, self.name)}, which is not installed in this build ({self.reason})."


def engine(name: str):
    """The engine's function/class, or a falsy `Missing` naming what is absent."""
    module_name, attr = ENGINES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return Missing(name, f"no module {exc.name or module_name}")
    found = getattr(module, attr, None)
    return found if found is not None else Missing(name, f"{module_name} has no {attr}")


def available(name: str) -> bool:
    return bool(engine(name))
