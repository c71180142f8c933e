"""FolkCodec: ABC folk tunes <-> folk-rnn v2 tokens (every tune on root C, lengths in eighth notes).

Encoding reads ABC with our own lexer (music21 is ~13 tunes/s), normalises it (unit length, transposition
to C with respelled accidentals, ornaments stripped, ties merged, bar lines rewritten) and refuses, with a
reason, anything the tokens cannot say. Decoding accepts any id sequence and always gives a readable tune.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from fractions import Fraction as F
from pathlib import Path
from typing import Iterator

import numpy as np

from ...errors import InvalidArgument, UnreadableFile, UnsupportedContent
from ...limits import MAX_FILE_TUNES, MAX_TUNE_TOKENS
from ...music import Piece
from ...music.abc_io import read_abc_tunes, read_text, tune_size_problem
from ..base import BOS, EOS, PAD, SPECIAL_TOKENS, Codec, Encoded, Skipped, _blocks, decode_ids, read_token_file
from .decode import balance_repeats, build_tune
from .dialects import V2, bracketed_to_abc, dialect
from .lexer import Key, TuneSkip, lex_tune
from .melody import (check_overlong_merges, is_event, check_structure, emit, merge_ties, plain_length, shift_to, tidy_bars, timeline,
                     transpose_into_range)
from .render import abc_text, items_to_piece
from .vocab import BARS, FOLK_RNN_V2, MODE_NAMES, TIE, WIDE, duration_token


@dataclass
class FolkConfig:
    """The folk codec's settings, typed like the other codecs' (MidiTok's TokenizerConfig): the token
    format. Meters, modes and the tie that `default(meters=, modes=, wide=)` add live in the vocabulary
    itself, which travels beside these settings in every corpus and model."""

    format: str = "folk-rnn v2"

    def to_dict(self) -> dict:
        return {"format": self.format}

    @classmethod
    def from_dict(cls, data: dict) -> "FolkConfig":
        return cls(format=str(data.get("format", cls.format)))


MIN_PART_BARS = 4  # a tune's part in another meter becomes a piece of its own from this many bars


class FolkCodec(Codec):
    name = "folk"
    file_extensions = (".abc", ".csv", ".txt", ".tokens")
    unit = "bars"  # tunes are asked for, continued and regenerated in written bars
    default_max_tokens = 1000
    batching = "tunes"  # a tune fits a training row: one tune per row, padded
    reader_version = 2  # 2: a part repeating without a start after a second ending (decode.balance_repeats)

    @classmethod
    def reads(cls, source: str) -> bool:
        """ABC files and the built-in tune collections (`builtin:NAME`)."""
        from ...music.io import kind_of

        return str(source).startswith("builtin:") or kind_of(source) == "abc"

    def rules(self):
        from .rules import FolkRules

        return FolkRules(self)

    def evaluate(self, sequences, corpus=None, model_corpus=None) -> dict:
        """Valid and playable tunes, bar lengths, repeat forms, range; copying of the training corpus."""
        from ...errors import StudioError
        from .report import copy_report, folk_report

        report = folk_report(self, sequences)
        if corpus:
            report.update(copy_report(self, sequences, corpus))
        elif model_corpus:  # the model's own corpus, when it is still there
            try:
                report.update(copy_report(self, sequences, model_corpus))
            except StudioError as exc:
                report["copy_check"] = f"skipped: {exc.message()}"
        return report

    def write_sample(self, piece, folder, stem):
        """The tune's ABC (titled with the file's stem) beside its MIDI."""
        from ...atomic import write_text

        write_text(Path(folder) / f"{stem}.abc", piece.meta["abc"].replace("T:Untitled", f"T:{stem}", 1))
        return [f"{stem}.abc"] + super().write_sample(piece, folder, stem)

    def bar_lines(self, piece):
        """Written bars (a pickup is bar 1, repeats not counted twice) where the tune's ABC is readable."""
        from .bars import written_bars

        return written_bars(piece) or super().bar_lines(piece)

    notes_match_by_pitch = False  # tokens are written on C
    tokens_in_playing_order = False  # repeats are written once

    def token_map(self, ids, piece=None, text=None):
        from .inspect import folk_map

        if text is None and piece is not None:
            text = piece.meta.get("abc")
        return folk_map(self, ids, piece, text)

    def file_pieces(self, path):
        from .inspect import file_tunes

        return file_tunes(self, path)

    def insert_token(self, piece, ids, time_of, index, token_id):
        from .inspect import insert_token

        return insert_token(self, piece, ids, index, token_id)

    def fits(self, piece):
        return "abc" in piece.meta

    def text_of(self, piece):
        return piece.meta.get("abc")

    def __init__(self, config: dict):
        super().__init__(config)
        self.settings = FolkConfig.from_dict(self.config)
        self.known = set(self.vocab) - set(SPECIAL_TOKENS)

    @classmethod
    def default(cls, meters=(), modes=(), wide: bool = False, **options) -> "FolkCodec":
        """folk-rnn v2 tokens, then our specials; extra meters ("M:2/2") or modes ("K:Cphr") come after
        the specials, so a vocabulary can grow without changing any id an old model knows. `wide` adds
        the meters and modes of the built-in collections and a tie token (`vocab.WIDE`)."""
        if options:
            raise InvalidArgument(f"unknown folk codec options: {', '.join(sorted(options))}")
        vocab = list(FOLK_RNN_V2) + list(SPECIAL_TOKENS)
        vocab += [t for t in (*(WIDE if wide else ()), *meters, *modes) if t not in vocab]
        return cls({"codec": cls.name, **FolkConfig().to_dict(), "vocab": vocab})

    def extended(self, tokens) -> "FolkCodec":
        """This codec with more tokens appended (existing ids unchanged)."""
        cfg = dict(self.config)
        cfg["vocab"] = self.vocab + [t for t in tokens if t not in self.index]
        return type(self)(cfg)

    # ------------------------------------------------------------------ encoding
    def tune_tokens(self, text: str, meter: str | None = None, key: str | None = None) -> tuple[list, list, tuple]:
        """Tokens for one ABC tune (header and body, or a bare body with `meter`/`key`); raises TuneSkip,
        also for a tune that changes meter (a file import keeps each such part as its own piece)."""
        tune = lex_tune(text, meter, key)
        if tune.meter_changes:
            index, new = tune.meter_changes[0]
            raise TuneSkip(f"meter change to {new[0]}/{new[1]} at bar {_bar_at(tune.items, index)}")
        tokens, items, _ = self._part_tokens(tune.items, tune.meter, tune.key, tune.key_changes)
        return tokens, items, tune.meter

    def tune_parts(self, text: str, meter: str | None = None, key: str | None = None) -> list[TunePart]:
        """One tune as pieces: the whole tune, or one piece per meter (a part that changes meter starts a new
        piece). A key change keeps its notes as written, spelt with accidentals against the key of the
        piece's first note (tokens have no key change). Raises TuneSkip for a tune that cannot be read."""
        tune = lex_tune(text, meter, key)
        cuts = [0] + [i for i, _ in tune.meter_changes] + [len(tune.items)]
        meters = [tune.meter] + [m for _, m in tune.meter_changes]
        parts = []
        for k, (start, end, meter_) in enumerate(zip(cuts, cuts[1:], meters), start=1):
            first = next((i for i in range(start, end) if is_event(tune.items[i])), end)
            if first == end:
                continue  # a meter given again with no notes before the next change
            keys = [(0, tune.key)] + tune.key_changes
            key_ = [k_ for i, k_ in keys if i <= first][-1]
            changes = [(i - start, k_) for i, k_ in tune.key_changes if first < i < end]
            part = TunePart(k, meter_, key_, _bar_at(tune.items, start))
            if len(meters) > 1:
                part.notes.append(f"meter change: the part in {meter_[0]}/{meter_[1]} from bar {part.bar} is "
                                  f"piece {k} of the tune")
            bars = _bar_at(tune.items, end) - part.bar
            if len(meters) > 1 and bars < MIN_PART_BARS:
                part.skip = (f"a passage of {bars} bar(s) in {meter_[0]}/{meter_[1]} between meter changes: too "
                             f"short to be a piece of its own")
                parts.append(part)
                continue
            try:
                part.tokens, part.items, part.notes[len(part.notes):] = \
                    self._part_tokens(tune.items[start:end], meter_, key_, changes)
            except TuneSkip as exc:
                part.skip = str(exc)
            parts.append(part)
        return parts

    def _part_tokens(self, items: list, meter: tuple[int, int], key: Key, key_changes=()) -> tuple[list, list, list]:
        """(tokens, normalised items, notes on key changes) for lexed items in one meter and key."""
        meter_token = f"M:{meter[0]}/{meter[1]}"
        if meter == (2, 2) and meter_token not in self.known:
            meter_token = "M:4/4"  # alla breve: the same bar of eight eighths
        if meter_token not in self.known:
            raise TuneSkip(f"meter {meter_token[2:]} has no token")
        mode_token = f"K:C{key.mode}"
        if mode_token not in self.known:
            raise TuneSkip(f"mode {MODE_NAMES[key.mode]} has no token")
        notes = [f"key change to {new.name} at bar {_bar_at(items, i)}: its notes kept as written, with "
                 f"accidentals against {key.name}" for i, new in key_changes]
        keep = TIE in self.known  # a tie token: merge only into plain lengths that have a token

        def mergeable(length) -> bool:
            return not keep or (length == 1 or duration_token(length) in self.known) and plain_length(length)

        items = merge_ties(items, keep_ties=keep, mergeable=mergeable)
        check_structure(items)
        if not keep:
            check_overlong_merges(items, meter)
        items = transpose_into_range(items, shift_to(key.letter, key.alter, 0, 0))
        items = balance_repeats(tidy_bars(items), lambda message: None)  # e.g. `|:` where a `:|` had none
        body = emit(items, Key(0, 0, key.mode).alters, fused=self.known)
        for token in body:
            if token not in self.known:
                raise TuneSkip(_no_token(token))
        return [meter_token, mode_token, *body], items, notes

    def encode_tune(self, label: str, text: str, meter=None, key=None) -> Iterator[Encoded | Skipped]:
        """The pieces of one tune of a file (see `tune_parts`), or a Skipped saying why it cannot be represented."""
        too_big = tune_size_problem(text)  # the lexer's time grows faster than the text
        if too_big:
            yield Skipped(label, too_big[0])
            return
        try:
            parts = self.tune_parts(text, meter, key)
        except TuneSkip as exc:
            yield Skipped(label, str(exc))
            return
        for part in parts:
            name = label if len(parts) == 1 else f"{label} part {part.number}"
            if part.skip:
                yield Skipped(name, part.skip)
                continue
            events = timeline(part.items, part.meter)
            notes = sum(1 for ev, _, _ in events if getattr(ev, "step", 0) is not None)
            seconds = float(sum(length for _, _, length in events)) * 0.25
            yield Encoded(name, np.array([self.index[t] for t in part.tokens], dtype=np.int32), notes, seconds,
                          [f"{name}: {note}" for note in part.notes])

    def encode_abc(self, text: str, meter: str | None = None, key: str | None = None) -> np.ndarray:
        try:
            tokens = self.tune_tokens(text, meter, key)[0]
        except TuneSkip as exc:
            raise UnsupportedContent(None, None, str(exc)) from None
        return np.array([self.index[t] for t in tokens], dtype=np.int32)

    def encode(self, piece: Piece) -> np.ndarray:
        """From the tune's ABC text when it has one, else from its notes (a melody on the sixteenth grid)."""
        text = piece.meta.get("abc") or piece_to_abc(piece)
        try:
            tokens = self.tune_tokens(text)[0]
        except TuneSkip as exc:
            raise UnsupportedContent(piece.source or None, None, str(exc)) from None
        return np.array([self.index[t] for t in tokens], dtype=np.int32)

    def iter_file(self, path: str | Path) -> Iterator[Encoded | Skipped]:
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            yield from self._iter_csv(path)
        elif suffix in (".txt", ".tokens"):
            yield from self._iter_token_file(path)
        else:
            for tune in read_abc_tunes(path):
                label = f"{path}#X:{tune.number}" if tune.number else str(path)
                yield from self.encode_tune(label, tune.text)

    def _iter_csv(self, path: Path) -> Iterator[Encoded | Skipped]:
        """thesession.org dump: tune_id,setting_id,name,type,meter,mode,abc,... (abc is the body only)."""
        rows = csv.DictReader(io.StringIO(read_text(path)))
        missing = {"meter", "mode", "abc"} - set(rows.fieldnames or ())
        if missing:
            raise UnreadableFile(path, "line 1", f"not a thesession.org CSV: no column {', '.join(sorted(missing))}")
        for n, row in enumerate(rows, start=1):
            if n > MAX_FILE_TUNES:
                raise UnreadableFile(path, f"row {n}", f"more than {MAX_FILE_TUNES:,} tunes in one file; split it")
            label = f"{path}:row {n}"
            abc = row.get("abc") or ""
            if not abc.strip():
                yield Skipped(label, "empty abc field")
                continue
            yield from self.encode_tune(label, abc, meter=row.get("meter") or "", key=row.get("mode") or "")

    def _iter_token_file(self, path: Path) -> Iterator[Encoded | Skipped]:
        """folk-rnn data: tunes separated by blank lines, tokens by spaces. A folk-rnn v2 tune is kept token
        for token (its ids are exactly the tokens read; how it plays is the decoder's ABC reading, e.g. a
        `:|` with no `|:` repeats from the start); a tune in another dialect (`dialects`) is rebuilt as ABC
        and normalised. The first piece of the file names the dialects found, for the import report."""
        text = read_token_file(path)
        found: dict[str, int] = {}
        pending: list[Encoded | Skipped] = []
        for n, block in enumerate(_blocks(text), start=1):
            if n > MAX_FILE_TUNES:
                raise UnreadableFile(path, f"tune {n}", f"more than {MAX_FILE_TUNES:,} tunes in one file; split it")
            label = f"{path}:tune {n}"
            words = block.split() if len(block) <= 16 * MAX_TUNE_TOKENS else None  # no token is that long
            if words is None or len(words) > MAX_TUNE_TOKENS:
                size = f"{len(words):,} tokens" if words is not None else f"{len(block):,} characters"
                pending.append(Skipped(label, f"the tune is {size} long; the limit is {MAX_TUNE_TOKENS:,} tokens "
                                              "(are the blank lines between tunes missing?)"))
                continue
            words = [w for w in words if w not in (BOS, EOS, PAD)]
            kind = dialect(words)
            found[kind] = found.get(kind, 0) + 1
            pending.extend(self._token_tune(label, words) if kind == V2 else
                           self.encode_tune(label, bracketed_to_abc(words)))
        first = next((p for p in pending if isinstance(p, Encoded)), None)
        if first is not None:
            first.warnings.insert(0, f"{path}: token dialect: " + "; ".join(
                f"{kind}, {count} tunes" + ("" if kind == V2 else " (normalised: transposed to C, lengths in eighths)")
                for kind, count in found.items()))
        yield from pending

    def _token_tune(self, label: str, words: list[str]) -> list[Encoded | Skipped]:
        unknown = [w for w in words if w not in self.known]
        if unknown:
            return [Skipped(label, f"token {unknown[0]!r} is not in the vocabulary")]
        meter, mode, items, warnings = build_tune(words)
        events = timeline(items, meter)
        notes = sum(1 for ev, _, _ in events if getattr(ev, "step", 0) is not None)
        return [Encoded(label, np.array([self.index[w] for w in words], dtype=np.int32), notes,
                        float(sum(length for _, _, length in events)) * 0.25,
                        [f"{label}: kept as read; it plays with repairs: {'; '.join(warnings)}"] if warnings else [])]

    # ------------------------------------------------------------------ decoding
    def decode_tune(self, ids) -> tuple[tuple[int, int], str, list, list[str]]:
        return build_tune(self.tokens(decode_ids(ids)))

    def decode_abc(self, ids, key: str | None = None, title: str = "", number: int = 1) -> str:
        """ABC text for any ids; `key` shows the C-rooted tune on another tonic ("A" turns K:Cdor into Ador)."""
        meter, mode, items, _ = self.decode_tune(ids)
        return abc_text(meter, mode, items, key=_safe_key(key), title=title, number=number)

    def decode(self, ids, key: str | None = None, title: str = "") -> Piece:
        meter, mode, items, warnings = self.decode_tune(ids)
        key = _safe_key(key, warnings)
        piece = items_to_piece(meter, mode, items, key=key)
        piece.title = title
        piece.meta["abc"] = abc_text(meter, mode, items, key=key, title=title)
        piece.warnings.extend(warnings)
        return piece

    def format_tokens(self, ids) -> str:
        """One tune as folk-rnn writes it: meter and key tokens on their own lines, then the body."""
        tokens = [t for t in self.tokens(ids) if t not in (BOS, EOS, PAD)]
        head = []
        while tokens and tokens[0][:2] in ("M:", "K:") and len(head) < 2:
            head.append(tokens.pop(0))
        return "\n".join(head + [" ".join(tokens)]).strip()

    def write_decoded(self, ids, path: str | Path, key: str | None = None, title: str = "") -> list[str]:
        """Write .abc (the tune text) or anything Piece.write knows (.mid ...); returns the repairs made."""
        from ...atomic import write_text

        piece = self.decode(ids, key=key, title=title or Path(path).stem)
        if Path(path).suffix.lower() == ".abc":
            write_text(path, piece.meta["abc"])
        else:
            piece.write(path)
        return list(piece.warnings)


@dataclass
class TunePart:
    """One piece of a tune: the whole tune, or the part in one meter of a tune that changes meter."""

    number: int
    meter: tuple[int, int]
    key: Key
    bar: int  # the bar it starts at in the tune (1-based)
    tokens: list = field(default_factory=list)
    items: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done to keep it (for the import report)
    skip: str = ""  # why it cannot be represented ("" when it can)


def _bar_at(items: list, index: int) -> int:
    """The 1-based bar number of items[index]: bar lines after a note, `:| |:` counting once."""
    bar, after_note = 1, False
    for item in items[:index]:
        if is_event(item):
            after_note = True
        elif item in BARS and after_note:
            bar, after_note = bar + 1, False
    return bar


def _safe_key(key: str | None, warnings: list[str] | None = None) -> str | None:
    if not key:
        return None
    try:
        from .lexer import parse_key

        parse_key(key)
        return key
    except TuneSkip as exc:
        if warnings is not None:
            warnings.append(f"kept the tune on C: {exc}")
        return None


def _no_token(token: str) -> str:
    if token[0].isdigit() or token[0] == "/":
        base = token.rstrip("<>")
        return f"duration {base} (eighth notes) has no token" if base else f"broken rhythm {token} has no token"
    if token[0] == "(":
        return f"tuplet {token} has no token"
    return f"pitch {token} has no token"


def piece_to_abc(piece: Piece, grid: F = F(1, 2)) -> str:
    """ABC for a piece's melody (highest note at each onset), on a grid of `grid` eighth notes.

    Meter and key come from the piece (4/4 and C major when it has none); notes crossing bar lines are
    tied, so the text is always valid ABC even where the folk tokens could not represent it.
    """
    from .melody_from_notes import melody_abc

    return melody_abc(piece, grid)


__all__ = ["FolkCodec", "piece_to_abc"]
