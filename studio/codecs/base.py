"""What every codec shares: a vocabulary saved with its configuration, and encode/decode to Piece.

A codec turns a Piece into a 1-D array of integer token ids and back. Its `config` (a JSON-ready dict
that holds the vocabulary itself) travels with every corpus and model made with it, so an id means the
same token forever. Special tokens (padding, start, end) come after the codec's own tokens; `encode`
returns the body only, and the corpus/training code adds start and end around each piece.
"""
from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Iterator

import numpy as np

from ..errors import InvalidArgument, StudioError, UnreadableFile
from ..limits import MAX_FILE_TUNES, MAX_TOKEN_FILE_BYTES, read_bytes
from ..music import Piece

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
SPECIAL_TOKENS = (PAD, BOS, EOS)


@dataclass
class Encoded:
    """One piece of a file that encoded."""

    label: str  # where it came from: "file.mid", "book.abc#X:12", "dump.csv:row 17"
    ids: np.ndarray  # int32 token ids, no start/end tokens
    notes: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)  # repairs made while reading (e.g. a truncated track)


@dataclass
class Skipped:
    """One piece (or a whole file) that was left out, and why."""

    label: str
    reason: str


@dataclass
class FileReport:
    """What encoding one file gave: pieces that encoded and pieces left out."""

    path: str
    encoded: list[Encoded] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Codec(ABC):
    """Base class: subclasses set `name` and `file_extensions` and build `self.vocab` from their config.

    Everything the rest of Studio needs to know about an encoding is asked of its codec, never decided by
    comparing its name: how a length is counted (`unit`, `parse_point`), how training batches it
    (`batching`), how sampling is constrained (`rules`), how samples are judged (`evaluate`), which files a
    sample is written as (`write_sample`), which sources it imports (`reads`), where its bars fall
    (`bar_lines`) and how token positions map to notes and text (`token_notes`, `text_spans`). A new codec
    is a folder with a subclass plus one line in `studio.codecs.CODECS`; the defaults here fit any codec
    that decodes to notes in time.
    """

    name: ClassVar[str]
    file_extensions: ClassVar[tuple[str, ...]]
    # How a piece's length is counted when sampling and editing: "bars", "seconds", or "" (tokens only).
    # The GUI labels its length box with it and the CLI reads `--from/--to` in it.
    unit: ClassVar[str] = ""
    # Bumped whenever the same file and config encode to other tokens (a reader fix): the import cache is
    # keyed by it, so a corpus re-imported after an upgrade is read again, not taken from stale entries.
    reader_version: ClassVar[int] = 1
    # Tokens a sample may take when no length is asked for: a safety net sized to the codec's token rate.
    default_max_tokens: ClassVar[int] = 1000
    # How whole pieces become training batches: "tunes" (one short piece per row, padded) for codecs whose
    # pieces fit a row; "windows" (fixed-length slices across pieces) for long ones.
    batching: ClassVar[str] = "windows"

    @classmethod
    @abstractmethod
    def default(cls, **options) -> "Codec":
        """The codec with its default configuration; `options` override single parameters (CLI `-o KEY=VALUE`)."""

    @classmethod
    def reads(cls, source: str) -> bool:
        """Whether a corpus source (a file, a folder, a `builtin:` collection) is one this codec imports;
        the import dialog picks the first registered codec that reads every source."""
        suffix = Path(source).suffix.lower()
        return suffix in cls.file_extensions or (not suffix and not str(source).startswith("builtin:"))

    def __init__(self, config: dict):
        self.config = dict(config)
        self.vocab: list[str] = list(self.config["vocab"])
        self.index = {tok: i for i, tok in enumerate(self.vocab)}
        missing = [t for t in SPECIAL_TOKENS if t not in self.index]
        if missing:  # a hand-edited or damaged card: say what is wrong rather than fail later with a KeyError
            raise InvalidArgument(f"the {self.name} codec's vocabulary lacks {', '.join(missing)}")
        self.pad_id = self.index[PAD]
        self.bos_id = self.index[BOS]
        self.eos_id = self.index[EOS]

    # -------------------------------------------------------------- the API scripts rely on
    @abstractmethod
    def encode(self, piece: Piece) -> np.ndarray:
        """Token ids (int32) for one piece; raises UnsupportedContent if it cannot be represented."""

    @abstractmethod
    def decode(self, ids) -> Piece:
        """A valid Piece for ANY input (specials and nonsense are skipped or repaired, never raised);
        implementations read `ids` through `decode_ids`, so every codec accepts the same inputs."""

    @abstractmethod
    def iter_file(self, path: str | Path) -> Iterator[Encoded | Skipped]:
        """Encode every piece of a file; bad pieces come out as Skipped (a bad file: one Skipped)."""

    def encode_file(self, path: str | Path) -> list[np.ndarray]:
        """One id array per piece of the file that encodes; see `encode_file_report` for what was left out."""
        return [e.ids for e in self.encode_file_report(path).encoded]

    def encode_file_report(self, path: str | Path) -> FileReport:
        report = FileReport(str(path))
        try:
            for item in self.iter_file(path):
                (report.encoded if isinstance(item, Encoded) else report.skipped).append(item)
                report.warnings.extend(getattr(item, "warnings", []))
        except StudioError as exc:
            report.skipped.append(Skipped(str(path), exc.message()))
        return report

    def prepared_midi(self, path: str | Path, dropped: str):
        """A MIDI file read and prepared for this codec (its `prepare`), or a Skipped naming the file and why:
        unreadable, or no notes left once `dropped` (what prepare leaves out) is gone."""
        from ..music.midi_io import read_midi

        try:
            piece = self.prepare(read_midi(Path(path)))
        except StudioError as exc:
            return Skipped(str(path), exc.message())
        if not len(piece.notes):
            return Skipped(str(path), f"no notes to encode ({dropped} are left out)")
        return piece

    controls = None  # codecs with conditioning controls (performance: density, pitch classes) set this

    def augment(self, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A randomly varied copy of a token window for training (transposition, time stretch, ...).

        The default is no augmentation; codecs whose tokens allow it override this (driven by their config).
        """
        return ids

    # -------------------------------------------------------------- sampling, evaluation, files
    def rules(self):
        """The sampling rules (numpy masks, clock tables, length, editing) for this codec's tokens; the
        base rules let every token come anywhere and count no length."""
        from .rules import SamplingRules

        return SamplingRules(self)

    def parse_point(self, text) -> float | int:
        """A point in a piece given by a person (CLI `--from/--to`, the editor), in `unit`: a bar number
        (from 1) for codecs counting bars, else seconds."""
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise InvalidArgument(f"{text!r} is not a number of {self.unit or 'seconds'}") from None
        if self.unit == "bars":
            if value != int(value):
                raise InvalidArgument(f"{text!r} is not a whole bar number")
            return int(value)
        return value

    def evaluate(self, sequences: list[np.ndarray], corpus: str | None = None, model_corpus: str | None = None) -> dict:
        """The figures a musician checks first in samples (token ids without specials) as a JSON-ready dict.
        Codecs that check copying compare with `corpus` (asked for: its errors are raised) or else the
        model's own `model_corpus` (when it is still there). The default measures the decoded notes
        (rate, polyphony, range, velocity, longest note)."""
        from .report import piece_report

        return piece_report(self, sequences)

    def write_sample(self, piece: Piece, folder: Path, stem: str) -> list[str]:
        """Write one generated piece as the files a user opens (names relative to `folder`); MIDI always,
        codecs with a text form add it."""
        piece.write_midi(folder / f"{stem}.mid")
        return [f"{stem}.mid"]

    def bar_lines(self, piece: Piece) -> tuple[np.ndarray, np.ndarray]:
        """(start in beats, bar number from 1) of every bar of a decoded piece, as an editor counts bars
        when a span is given in bars; the default follows the piece's time signatures."""
        from ..music.bars import bar_starts

        starts = bar_starts(piece, float(piece.seconds_to_beats(piece.duration)) + 1e-6)
        return starts, np.arange(1, len(starts) + 1)

    def fits(self, piece: Piece) -> bool:
        """Whether this codec's models suit an open piece (views switch to a model that does): a piece read
        from a codec's text form (ABC) suits that codec; other pieces suit codecs of notes in time."""
        return "abc" not in piece.meta

    def text_of(self, piece: Piece) -> str | None:
        """The piece as this codec's text form (e.g. ABC) where it has one, for views that show it."""
        return None

    # -------------------------------------------------------------- inspection ("what did the model hear")
    # Whether a token's note is found by pitch and onset (False: tokens are written in another key, e.g.
    # folk tunes on C, so notes match on onset alone).
    notes_match_by_pitch: ClassVar[bool] = True
    # Whether tokens come in playing order (False: repeats are written once and played twice, so the
    # token at a time is found through the notes as played).
    tokens_in_playing_order: ClassVar[bool] = True

    def token_map(self, ids, piece: Piece | None = None, text: str | None = None):
        """Where each token sits in the music (a `tokenmap.TokenMap`: time, notes, facts, text spans) for
        inspection; `text` is the piece's text form where the codec has one."""
        raise InvalidArgument(f"inspecting tokens is not available for {self.name} models")

    def describe(self, token_id: int) -> str:
        """A musician's name for a token (the default: the token itself)."""
        return self.tokens([int(token_id)])[0]

    def file_pieces(self, path: str | Path) -> list[tuple[str, np.ndarray, Piece | None, str | None]]:
        """(title, body ids, piece or None, text or None) for every piece of a file, for inspection."""
        from ..music.io import read_pieces

        return [(piece.title or Path(path).stem, self.encode(piece), piece, None) for piece in read_pieces(path)]

    def insert_token(self, piece: Piece, ids: np.ndarray, time_of, index: int, token_id: int) -> Piece:
        """`piece` (encoded as `ids`) with `token_id` played at token place `index`; `time_of(i)` gives the
        seconds of token place i. The default decodes the token stream again with the token inserted."""
        new = self.decode(np.insert(np.asarray(ids, dtype=np.int64), index, int(token_id)))
        new.source, new.title = piece.source, piece.title
        return new

    # -------------------------------------------------------------- tokens as text
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def tokens(self, ids) -> list[str]:
        n = len(self.vocab)
        return [self.vocab[i] if 0 <= i < n else f"<unk:{i}>" for i in np.asarray(ids).tolist()]

    def format_tokens(self, ids) -> str:
        """Token names separated by spaces (what `studio encode` prints)."""
        return " ".join(self.tokens(ids))

    def parse_tokens(self, text: str, source: str = "") -> list[np.ndarray]:
        """Token names or integer ids, whitespace-separated; a blank line separates pieces."""
        pieces = []
        for block_no, block in enumerate(_blocks(text)):
            if block_no >= MAX_FILE_TUNES:
                raise InvalidArgument(f"more than {MAX_FILE_TUNES:,} pieces in one token text; split it",
                                      path=source or None, place=f"piece {block_no + 1}")
            ids = []
            for word_no, word in enumerate(block.split()):
                if word in self.index:
                    ids.append(self.index[word])
                elif word.lstrip("-").isdigit():
                    ids.append(int(word))
                else:
                    raise InvalidArgument(f"unknown token {word!r}", path=source or None,
                                          place=f"piece {block_no + 1}, token {word_no + 1}")
            pieces.append(np.asarray(ids, dtype=np.int64))
        return pieces

    def write_decoded(self, ids, path: str | Path) -> list[str]:
        """Decode and write by extension (.mid by default); returns warnings about repairs."""
        piece = self.decode(ids)
        piece.write(path)
        return list(piece.warnings)

    # -------------------------------------------------------------- configuration
    def save(self, path: str | Path) -> None:
        from ..atomic import write_json

        write_json(path, self.config)

    def fingerprint(self) -> str:
        """A short hash of the config: corpora and caches are keyed by it."""
        import hashlib

        return hashlib.sha256(json.dumps(self.config, sort_keys=True).encode()).hexdigest()[:16]


def decode_ids(ids) -> np.ndarray:
    """The one input contract of every codec's decode: anything becomes a 1-D int64 array.

    Integer arrays of any shape are flattened; floats that are whole numbers count as those integers;
    everything else (fractions, NaN, strings, None, nested lists, numbers beyond int64) becomes -1, an
    unknown id that decoders skip. A generator is read once; a single value is a sequence of one.
    """
    if not hasattr(ids, "__len__"):
        try:
            ids = list(ids)  # a generator or other iterable
        except TypeError:
            ids = [ids]
    try:
        arr = np.asarray(ids)
        if arr.dtype.kind in "iub":
            return arr.astype(np.int64).ravel()
    except (TypeError, ValueError, OverflowError):
        arr = None
    out = []
    for x in (ids if arr is None else arr.ravel().tolist()):
        try:
            v = int(x)
            out.append(v if -(2 ** 62) < v < 2 ** 62 and v == x else -1)
        except (TypeError, ValueError, OverflowError):
            out.append(-1)
    return np.asarray(out, dtype=np.int64)


_BLANK_LINES = re.compile(r"\n\s*\n")  # blank lines between blocks: linear on any text (a nested repeat was not)


def _blocks(text: str) -> Iterator[str]:
    """The blank-line-separated blocks of a token text, one at a time (a large file is never held as a list
    of its lines)."""
    start = 0
    for m in _BLANK_LINES.finditer(text):
        if m.start() > start and not text[start:m.start()].isspace():
            yield text[start:m.start()]
        start = m.end()
    if text[start:].strip():
        yield text[start:].rstrip("\n")


def read_token_file(path: str | Path) -> str:
    """The text of a token file ("-": standard input), read as every file from outside is (`limits`): a regular
    file within MAX_TOKEN_FILE_BYTES, and UTF-8, or an UnreadableFile naming the byte where it is not."""
    if str(path) == "-":  # standard input, within the same limit (a pipe from /dev/zero must not fill memory)
        import sys

        raw = sys.stdin.buffer.read(MAX_TOKEN_FILE_BYTES + 1)
        path = Path("<stdin>")
        if len(raw) > MAX_TOKEN_FILE_BYTES:
            raise UnreadableFile(path, None, f"token text is larger than the limit of {MAX_TOKEN_FILE_BYTES >> 20} MB")
    else:
        path = Path(path)
        raw = read_bytes(path, MAX_TOKEN_FILE_BYTES, "token file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(path, f"byte {exc.start}", "not UTF-8 text (a token file holds token names or "
                             "ids separated by spaces)") from None
