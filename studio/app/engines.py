"""Where the GUI finds the engines: every core function or class that does work (corpus importer and store,
codecs, training, model loading and listing, generation, jam, playback, audio rendering, ABC reading and
writing, the model inspector). This is the GUI's one way to the core's work; data-model types (Piece,
errors, paths, atomic writes) and pure constants are imported directly.

Panels ask this module rather than importing the engines, so an engine that cannot be imported (a broken
install, a missing optional system library) turns into a disabled control with a tooltip saying why, never
an error at start-up; a job that needs one (`require`) fails with that reason as its message. Wiring an
engine is one entry in ENGINES (the dotted path of the function or class) and one in WHERE.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from ..errors import StudioError

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
    # builtin_definitions() -> {"collections": {name: info}}: the built-in collections' own list (no music21)
    "builtin_definitions": ("studio.corpus.builtin", "definitions"),
    # list_corpora() -> [Corpus(name, path, meta)] under STUDIO_HOME
    "list_corpora": ("studio.corpus.store", "list_corpora"),
    # get_codec(name) -> Codec; guess_codec(sources) -> name of the first codec that reads them all;
    # codec_from_config(model card's "codec") -> Codec; codec_for_piece(piece) -> the codec that suits it
    "get_codec": ("studio.codecs", "get_codec"),
    "guess_codec": ("studio.codecs", "guess_codec"),
    "codec_from_config": ("studio.codecs", "codec_from_config"),
    "codec_for_piece": ("studio.codecs", "codec_for_piece"),
    # list_models() -> [InstalledModel(name, path, card, shipped, error)]; load_model(dir, device=None) -> model
    "list_models": ("studio.nn", "list_models"),
    "load_model": ("studio.nn", "load_model"),
    # Settings(temperature=, seed=, ...), .from_dict/.to_dict: what a sampler is asked for
    "generation_settings": ("studio.generation", "Settings"),
    # continue_piece(piece, model, at, settings, n) / regenerate(piece, model, start, end, settings, n)
    "continue_piece": ("studio.generation.edit", "continue_piece"),
    "regenerate": ("studio.generation.edit", "regenerate"),
    # EndlessGeneration(model, settings, primer) in this process; EndlessProcess(model, dir, settings, primer)
    # in a child; Jam(stream, player, ...) plays either live
    "endless_generation": ("studio.generation.endless", "EndlessGeneration"),
    "endless_process": ("studio.generation.endless_process", "EndlessProcess"),
    "jam": ("studio.generation.jam", "Jam"),
    # primed_settings(settings, primer, model) -> the settings a jam on that primer runs with
    "primed_settings": ("studio.generation.jam", "primed_settings"),
    # inspect_piece(model, piece) -> Inspection; describe(codec, token_id) -> str;
    # insert_prediction(inspection, piece, index, token_id) -> Piece
    "inspect_piece": ("studio.inspect", "inspect_piece"),
    "describe_token": ("studio.inspect.insert", "describe"),
    "insert_prediction": ("studio.inspect.insert", "insert_prediction"),
}

WHERE = {
    "import_corpus": "the corpus importer", "builtin_collections": "the corpus importer",
    "train": "the training engine", "make_config": "the training engine", "train_presets": "the training engine",
    "generate": "the generation engine", "player": "the playback engine", "render_wav": "the audio renderer",
    "piece_to_abc": "the folk ABC writer", "read_abc_tunes": "the ABC reader", "split_tunes": "the ABC reader",
    "tune_to_piece": "the ABC reader", "builtin_definitions": "the corpus importer",
    "list_corpora": "the corpus store", "get_codec": "the codecs", "guess_codec": "the codecs",
    "codec_from_config": "the codecs", "codec_for_piece": "the codecs", "list_models": "the model store",
    "load_model": "the model loader", "generation_settings": "the generation engine",
    "continue_piece": "the generation engine", "regenerate": "the generation engine",
    "endless_generation": "the jam engine", "endless_process": "the jam engine", "jam": "the jam engine",
    "primed_settings": "the jam engine",
    "inspect_piece": "the model inspector", "describe_token": "the model inspector",
    "insert_prediction": "the model inspector",
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


class EngineMissing(StudioError):
    """A job needed an engine this build cannot import."""


def require(name: str):
    """The engine, or an `EngineMissing` error whose message says what is not installed and why."""
    found = engine(name)
    if not found:
        raise EngineMissing(None, None, found.tooltip)
    return found
