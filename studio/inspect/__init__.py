"""See inside a model: how surprised it is by each token of a piece, what it expected instead, and what its
LSTM units do over the music. Headless (no Qt); `studio inspect` and the studio's View > Model use it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import TOP, ModelRun, run_model, scan_cells
from .cells import Cell, find_cells
from .tokens import FEATURES, TokenMap, token_map


@dataclass
class Inspection:
    """One piece under one model: the run (surprise, predictions, activations) and the token map."""

    codec: object
    run: ModelRun
    tmap: TokenMap
    title: str = ""

    @property
    def tokens(self) -> list[str]:
        return self.codec.tokens(self.run.targets)

    @property
    def nll(self) -> float:
        """Total negative log-likelihood, nats (body tokens and `</s>`), as evaluation counts it."""
        return self.run.nll

    @property
    def nll_per_token(self) -> float:
        return self.run.nll / len(self.run.surprise)

    def time_of(self, t: int) -> float | None:
        """Seconds at token t (the `</s>` entry: the end of the last note or shift)."""
        times = self.tmap.time
        if times is None:
            return None
        if t < len(times):
            return None if np.isnan(times[t]) else float(times[t])
        ends = [n["end"] for n in self.tmap.notes]
        return float(max(ends)) if ends else (float(times[-1]) if len(times) else 0.0)

    def top(self, t: int) -> list[tuple[str, float]]:
        names = self.codec.tokens(self.run.top_ids[t])
        return [(name, float(p)) for name, p in zip(names, self.run.top_p[t].tolist())]

    def entries(self) -> list[dict]:
        """One JSON-ready entry per scored token: token, surprise (nats), time (s or null), top 5."""
        names = self.tokens
        return [{"token": names[t], "surprise": round(float(s), 5), "time": _round(self.time_of(t)),
                 "top": [[name, round(p, 5)] for name, p in self.top(t)]}
                for t, s in enumerate(self.run.surprise.tolist())]

    def notes(self) -> list[dict]:
        """The notes the tokens make, each with `surprise`: the sum over the tokens that make it."""
        s = self.run.surprise
        return [{**n, "surprise": float(sum(s[t] for t in n["tokens"]))} for n in self.tmap.notes]

    def most_surprising(self, n: int = 10) -> list[dict]:
        order = np.argsort(-self.run.surprise, kind="stable")[:n]
        names = self.tokens
        return [{"index": int(t), "token": names[t], "surprise": round(float(self.run.surprise[t]), 4),
                 "time": _round(self.time_of(int(t))), "expected": [name for name, _ in self.top(int(t))[:3]]}
                for t in order.tolist()]

    def cells(self, top: int | None = 20) -> list[Cell]:
        return find_cells(self.run, self.tmap, top)

    def played_tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """(seconds, token index) in playing order, as the roll lays the piece out: for folk tunes every
        played note's event tokens at its played time (repeats played out; bar lines and rests left out),
        for performances every token at its own time."""
        if self.codec.tokens_in_playing_order:
            times = self.tmap.time if self.tmap.time is not None else np.arange(len(self.run.ids), dtype=float)
            return np.asarray(times, dtype=float), np.arange(len(self.run.ids))
        seen, times, index = set(), [], []
        for note in sorted(self.tmap.notes, key=lambda n: n["start"]):
            key = (note["event"], note["start"])
            if key not in seen:
                seen.add(key)
                times += [note["start"]] * len(note["tokens"])
                index += note["tokens"]
        return np.array(times, dtype=float), np.array(index, dtype=np.int64)

    def index_at(self, seconds: float) -> int:
        """The first token at or after `seconds` (the place "what would the model play here" asks about);
        for folk tunes the first token of the next note as played (a second time through a repeat too)."""
        if not self.codec.tokens_in_playing_order and self.tmap.notes:
            times, index = self.played_tokens()
            after = np.flatnonzero(times >= seconds - 1e-6)
            return int(index[after[0]]) if len(after) else len(self.run.ids)
        times = self.tmap.time
        if times is None or not len(times):
            return len(self.run.ids)
        valid = np.where(np.isnan(times), -np.inf, times)
        after = np.flatnonzero(valid >= seconds - 1e-9)
        return int(after[0]) if len(after) else len(self.run.ids)


    def match_notes(self, notes: np.ndarray, tolerance: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
        """For each note of a piece (NOTE_DTYPE, as the roll holds them): its surprise and the index of the
        token that starts it (NaN / -1 where no token note matches). Performances match on pitch and onset
        (the codec keeps onsets to 10 ms); folk tunes on onset alone, since their tokens are written in C."""
        surprise = np.full(len(notes), np.nan)
        main = np.full(len(notes), -1, dtype=np.int64)
        mine = self.notes()
        if not mine or not len(notes):
            return surprise, main
        by_pitch = self.codec.notes_match_by_pitch
        starts = np.array([n["start"] for n in mine])
        order = np.argsort(starts, kind="stable")
        starts = starts[order]
        pitches = np.array([n["pitch"] for n in mine])[order]
        for k, (p, t) in enumerate(zip(notes["pitch"].tolist(), notes["start"].tolist())):
            lo, hi = np.searchsorted(starts, t - tolerance), np.searchsorted(starts, t + tolerance, side="right")
            best, gap = -1, tolerance + 1
            for j in range(lo, hi):
                if (not by_pitch or pitches[j] == p) and abs(starts[j] - t) < gap:
                    best, gap = j, abs(starts[j] - t)
            if best >= 0:
                note = mine[order[best]]
                surprise[k] = note["surprise"]
                # the token that starts it: a folk event's pitch (or chord bracket), a performance's NOTE_ON
                main[k] = next((t for t in note["tokens"] if self.run.ids[t] < self.codec.note_off0),
                               note["tokens"][0]) if by_pitch else note["tokens"][0]
        return surprise, main


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def inspect_ids(model, ids, piece=None, abc: str | None = None, title: str = "",
                keep_activations: bool = True) -> Inspection:
    """Inspect body token ids (no specials) of one piece; `piece` gives tempo/meter, `abc` the folk text."""
    from ..codecs import codec_from_config

    codec = codec_from_config(model.codec_config)
    run = run_model(model, ids, keep_activations=keep_activations)
    return Inspection(codec, run, token_map(codec, ids, piece, abc), title)


def inspect_piece(model, piece, keep_activations: bool = True) -> Inspection:
    """Inspect an open piece (encoded with the model's codec; a folk tune from its ABC text)."""
    from ..codecs import codec_from_config

    codec = codec_from_config(model.codec_config)
    ids = codec.encode(piece)
    return inspect_ids(model, ids, piece, title=piece.title, keep_activations=keep_activations)


__all__ = ["Cell", "FEATURES", "Inspection", "ModelRun", "TOP", "TokenMap", "find_cells", "inspect_ids",
           "inspect_piece", "run_model", "scan_cells", "token_map"]
