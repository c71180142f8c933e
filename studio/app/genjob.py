"""The generation job the Generate panel runs in the background, and where the editor's times fall in a
piece's bars (as the model's codec counts them). The job is a plain function taking `progress` and `stop`, like every long job.

`run_generation` loads the model and samples with the streaming API, so the panel can show candidates
growing: every `GROW_EVERY` seconds it reports each running candidate's piece so far, and each candidate
as soon as it ends. "Continue from here" and "Regenerate selection" go through the same function (the
engine's `continue_piece` / `regenerate`), reporting how far they have got.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..music.piece import Piece
from . import engines

GROW_EVERY = 0.25  # seconds between reports of growing candidates


def run_generation(model_dir: str, request: dict, progress, stop) -> list[tuple[Piece, dict]]:
    """Sample what `request` asks for; returns every candidate as (piece, provenance info).

    `request`: {"op": "generate" | "continue" | "regenerate", "n": candidates, "settings": Settings as a
    dict, "primer": Piece or None (generate), "piece": Piece, "start", "end" (continue/regenerate: seconds
    for performance models, bar numbers for folk models)}. Progress events: {"fraction": x},
    {"growing": {index: (piece, info)}}, {"candidate": (index, piece, info)}.
    """
    Generation, Settings = engines.require("generate"), engines.require("generation_settings")
    continue_piece, regenerate = engines.require("continue_piece"), engines.require("regenerate")
    model = engines.require("load_model")(model_dir)
    settings = Settings.from_dict(request.get("settings", {}))
    op, n = request.get("op", "generate"), int(request.get("n", 1))

    def info(index: int, seed: int, ended: str | None) -> dict:
        made = {"model": str(model_dir), "model_name": Path(model_dir).name, "op": op, "seed": seed,
                "settings": {**settings.to_dict(), "seed": seed}, "ended": ended, "candidate": index + 1}
        if op != "generate":
            made["span"] = {"from": request.get("start"), "to": request.get("end"), "unit": unit_of(model)}
        elif request.get("primer_label"):
            made["primer"] = request["primer_label"]
        return made

    if op == "generate":
        gen = Generation(model, n, settings, primer=request.get("primer"))
        total, _unit = gen.total()
        lengths = gen.rules.lengths()
        done = [0.0] * gen.n
        last = time.monotonic()
        for step in gen.steps():
            if stop.is_set():
                gen.stop()
            for i, token in zip(step.candidates, step.tokens):
                done[i] += lengths[token]
            for i in step.finished:
                progress({"candidate": (i, gen.piece(i), info(i, gen.seeds[i], gen.ended[i]))})
            if time.monotonic() - last >= GROW_EVERY:
                last = time.monotonic()
                running = [i for i in step.candidates if i not in step.finished]
                reached = min(done[i] for i in running) if gen.limit is not None and running else step.position
                progress({"fraction": min(1.0, reached / total) if total else 0.0,
                          "growing": {i: (gen.piece(i), info(i, gen.seeds[i], None)) for i in running}})
        candidates = gen.candidates()
    else:
        def report(done, total, _unit):
            progress({"fraction": min(1.0, done / total) if total else 0.0})

        piece, start, end = request["piece"], request["start"], request.get("end")
        if op == "continue":
            candidates = continue_piece(piece, model, start, settings, n, progress=report, should_stop=stop.is_set)
        else:
            candidates = regenerate(piece, model, start, end, settings, n, progress=report, should_stop=stop.is_set)
    return [(c.piece, info(c.index, c.seed, c.ended)) for c in candidates]


def unit_of(model) -> str:
    """The unit the model's codec counts lengths and edit points in."""
    return engines.require("codec_from_config")(model.codec_config).unit or "seconds"


# ---------------------------------------------------------------------------------------------- bars
def tune_bars(piece: Piece, codec=None) -> tuple[np.ndarray, np.ndarray]:
    """(start in beats, bar number from 1) of every bar as the roll plays it, as `codec` counts bars (by
    default the codec that suits the piece: a tune's written bars, else bars by the time signature)."""
    return (codec or engines.require("codec_for_piece")(piece)).bar_lines(piece)


def bar_at(piece: Piece, seconds: float, bars: tuple[np.ndarray, np.ndarray] | None = None) -> int:
    """The written bar (from 1) that plays at `seconds`; one past the last bar at or after the end."""
    starts, numbers = bars if bars is not None else tune_bars(piece)
    if not len(starts):
        return 1
    if seconds >= piece.duration - 1e-9:
        return int(numbers.max()) + 1
    i = int(np.searchsorted(starts, piece.seconds_to_beats(seconds) + 1e-9, side="right")) - 1
    return int(numbers[max(0, i)])
