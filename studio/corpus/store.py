"""The on-disk corpus store: token ids that training memory-maps, an index of pieces, and how it was made.

A corpus is a folder `studio_home()/corpora/<name>/`:
- `corpus.json`: name, codec config (with its vocabulary), creation time, sources, stats, split rule;
- `ids.npy`: every piece's ids concatenated (int16 when the vocabulary fits, else int32), no specials;
- `pieces.npy`: one row per piece (`offset`, `length`, `split`: 0 train, 1 valid, 2 test), in ids order;
- `pieces.jsonl`: one JSON line per piece (label, source file, content hash, notes, seconds).

No pickles anywhere. A corpus is built in a hidden folder beside its final place and renamed into place
when complete, so a crash or a stop never leaves half a corpus, and replacing one is atomic.
The split is by a hash of each piece's ids: deterministic, and copies of one piece share a split.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Iterable

import numpy as np

from ..atomic import atomic_open, write_json
from ..errors import InvalidArgument, UnreadableFile
from ..paths import process_alive, user_dir

PIECE_DTYPE = np.dtype([("offset", np.int64), ("length", np.int64), ("split", np.uint8)])
SPLITS = {"train": 0, "valid": 1, "test": 2}
SPLIT_NAMES = {v: k for k, v in SPLITS.items()}
DEFAULT_SPLIT = {"method": "hash", "valid": 0.05, "test": 0.05}


def corpora_dir() -> Path:
    return user_dir("corpora")


def corpus_dir(name: str) -> Path:
    """Where the corpus called `name` lives (the name is checked to be a plain folder name)."""
    if not name or name.startswith(".") or any(c in name for c in "/\\\0") or name.strip() != name:
        raise InvalidArgument(f"corpus name {name!r} must be a plain name (no slashes, not starting with '.')")
    return corpora_dir() / name


def ids_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.int16 if vocab_size <= np.iinfo(np.int16).max + 1 else np.int32)


def piece_hash(ids: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(ids, dtype="<i4").tobytes()).hexdigest()


def group_key(source: str, pattern: str) -> str | None:
    """The group a file belongs to under a `--group` regex, matched against its file name without the
    extension: the first capture group if the pattern has one, else the whole match; None if it does not
    match (the piece then gets a split of its own, by its content hash)."""
    import re

    name = Path(source).stem if source else ""
    m = re.search(pattern, name)
    if m is None:
        return None
    return m.group(1) if m.re.groups else m.group(0)


def check_group_pattern(pattern: str) -> None:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise InvalidArgument(f"--group {pattern!r} is not a regular expression ({exc})") from None


def split_of(digest: str, valid: float = DEFAULT_SPLIT["valid"], test: float = DEFAULT_SPLIT["test"]) -> int:
    """0 train, 1 valid, 2 test, from the first 64 bits of a hex digest read as a fraction."""
    u = int(digest[:16], 16) / 2.0 ** 64
    return 1 if u < valid else 2 if u < valid + test else 0


class Corpus:
    """An imported corpus, opened read-only: `ids` is a memory map, nothing else is large."""

    def __init__(self, path: Path, meta: dict):
        self.path = path
        self.meta = meta
        self.name: str = meta.get("name", path.name)
        self._codec = None
        self._ids = None
        self._pieces = None

    @classmethod
    def open(cls, name_or_path: str | Path) -> "Corpus":
        """A corpus by name (under STUDIO_HOME) or by folder path."""
        text = str(name_or_path)
        path = Path(text).expanduser()
        if not (path / "corpus.json").is_file():
            if os.sep in text or "/" in text or not text:
                raise UnreadableFile(path, None, "no corpus here (corpus.json missing)")
            path = corpus_dir(text)
            if not (path / "corpus.json").is_file():
                known = ", ".join(c.name for c in list_corpora()) or "none yet"
                raise InvalidArgument(f"no corpus called {text!r} (known: {known})")
        try:
            meta = json.loads((path / "corpus.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UnreadableFile(path / "corpus.json", None, f"unreadable corpus description ({exc})") from None
        return cls(path, meta)

    # ------------------------------------------------------------------ the contract
    @property
    def codec(self):
        if self._codec is None:
            from ..codecs import codec_from_config

            self._codec = codec_from_config(self.meta["codec"])
        return self._codec

    @property
    def ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = np.load(self.path / "ids.npy", mmap_mode="r")
        return self._ids

    @property
    def pieces(self) -> np.ndarray:
        if self._pieces is None:
            self._pieces = np.load(self.path / "pieces.npy", allow_pickle=False)
        return self._pieces

    def __len__(self) -> int:
        return len(self.pieces)

    def piece(self, i: int) -> np.ndarray:
        row = self.pieces[i]
        return self.ids[int(row["offset"]): int(row["offset"]) + int(row["length"])]

    def indices(self, split: str) -> np.ndarray:
        if split not in SPLITS:
            raise InvalidArgument(f"unknown split {split!r}; use train, valid or test")
        return np.flatnonzero(self.pieces["split"] == SPLITS[split])

    # ------------------------------------------------------------------ descriptions
    @property
    def stats(self) -> dict:
        return self.meta.get("stats", {})

    @property
    def sources(self) -> list[str]:
        return list(self.meta.get("sources", []))

    def records(self) -> Iterable[dict]:
        """The per-piece JSON lines (label, source, hash, notes, seconds), read lazily."""
        with open(self.path / "pieces.jsonl", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)

    def __repr__(self) -> str:
        return f"Corpus({self.name!r}, {len(self)} pieces, codec {self.meta['codec'].get('codec')!r})"


def list_corpora() -> list[Corpus]:
    """Every readable corpus under STUDIO_HOME, by name (folders being built or broken are left out)."""
    out = []
    for path in sorted(corpora_dir().iterdir()):
        if path.name.startswith(".") or not (path / "corpus.json").is_file():
            continue
        with contextlib.suppress(Exception):
            out.append(Corpus.open(path))
    return out


def remove_corpus(name: str) -> Path:
    path = corpus_dir(name)
    if not (path / "corpus.json").is_file():
        raise InvalidArgument(f"no corpus called {name!r}")
    trash = path.with_name(f".{name}.removing-{os.getpid()}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
    return path


_WORK_FOLDER = re.compile(r"^\.(?P<name>.+)\.(?:building|replaced|removing)-(?P<pid>\d+)(?:-\d+)?$")


def remove_stale_builds() -> list[Path]:
    """Delete the hidden work folders (`.NAME.building-PID-N`, `.replaced-`, `.removing-`) of imports whose
    process is gone (killed mid-import); those of a running import are left alone. Returns what went."""
    removed = []
    for path in corpora_dir().iterdir():
        m = _WORK_FOLDER.match(path.name)
        if m and path.is_dir() and not process_alive(int(m.group("pid"))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class CorpusWriter:
    """Builds a corpus piece by piece with memory that does not grow with its size: ids go to a raw file
    as they come, piece lines to pieces.jsonl; `finish` turns the raw file into ids.npy and renames the
    folder into place (replacing any corpus of that name). Use as a context manager: an exception or a
    stop leaves nothing behind."""

    def __init__(self, name: str, codec, split: dict | None = None):
        self.final = corpus_dir(name)
        self.name, self.codec = name, codec
        self.split = {**DEFAULT_SPLIT, **(split or {})}
        self.dtype = ids_dtype(codec.vocab_size)
        remove_stale_builds()
        self.tmp = self.final.with_name(f".{name}.building-{os.getpid()}-{time.monotonic_ns()}")
        self.tmp.mkdir(parents=True)
        self._raw = open(self.tmp / "ids.raw", "wb")
        self._lines = open(self.tmp / "pieces.jsonl", "w", encoding="utf-8")
        self._rows = bytearray()
        self.total = 0
        self.counts = {"pieces": 0, "notes": 0, "events": 0, "seconds": 0.0}
        self.by_split = {k: {"pieces": 0, "events": 0} for k in SPLITS}
        self.groups: dict[str, set] = {}  # split -> group names, under a group rule

    def __enter__(self) -> "CorpusWriter":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None or self.tmp.exists():
            self.abort()

    def add(self, ids: np.ndarray, label: str, source: str = "", file_hash: str = "", notes: int = 0,
            seconds: float = 0.0) -> int:
        """Append one piece; returns its split (by its group's name under a group rule, else by its ids)."""
        ids = np.asarray(ids)
        group = group_key(source or label, self.split["group"]) if self.split.get("group") else None
        digest = hashlib.sha256(group.encode()).hexdigest() if group is not None else piece_hash(ids)
        split = split_of(digest, self.split["valid"], self.split["test"])
        self._raw.write(np.ascontiguousarray(ids, dtype=self.dtype.newbyteorder("<")).tobytes())
        row = np.zeros(1, dtype=PIECE_DTYPE)
        row[0] = (self.total, len(ids), split)
        self._rows += row.tobytes()
        record = {"label": label, "source": source, "hash": file_hash, "notes": int(notes),
                  "seconds": round(float(seconds), 3), "events": int(len(ids))}
        if self.split.get("group"):
            record["group"] = group
            self.groups.setdefault(SPLIT_NAMES[split], set()).add(group if group is not None else f"#{label}")
        self._lines.write(json.dumps(record) + "\n")
        self.total += len(ids)
        c = self.counts
        c["pieces"] += 1
        c["notes"] += int(notes)
        c["events"] += int(len(ids))
        c["seconds"] += float(seconds)
        s = self.by_split[SPLIT_NAMES[split]]
        s["pieces"] += 1
        s["events"] += int(len(ids))
        return split

    def finish(self, sources: list[str], extra_stats: dict | None = None) -> Corpus:
        if not self.counts["pieces"]:
            raise InvalidArgument(f"corpus {self.name!r} would hold no pieces; nothing was written")
        self._raw.close()
        self._lines.close()
        _raw_to_npy(self.tmp / "ids.raw", self.tmp / "ids.npy", self.dtype.newbyteorder("<"), self.total)
        with atomic_open(self.tmp / "pieces.npy") as f:
            np.save(f, np.frombuffer(bytes(self._rows), dtype=PIECE_DTYPE), allow_pickle=False)
        for name, groups in self.groups.items():
            self.by_split[name]["groups"] = len(groups)
        stats = {**self.counts, "seconds": round(self.counts["seconds"], 3),
                 "hours": round(self.counts["seconds"] / 3600, 3), "splits": self.by_split, **(extra_stats or {})}
        meta = {"name": self.name, "codec": self.codec.config,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "sources": list(sources), "stats": stats, "split": self.split}
        write_json(self.tmp / "corpus.json", meta)
        old = self.final.with_name(f".{self.name}.replaced-{os.getpid()}-{time.monotonic_ns()}")
        if self.final.exists():
            os.replace(self.final, old)
        os.replace(self.tmp, self.final)
        shutil.rmtree(old, ignore_errors=True)
        return Corpus.open(self.final)

    def abort(self) -> None:
        for f in (self._raw, self._lines):
            with contextlib.suppress(Exception):
                f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _raw_to_npy(raw: Path, out: Path, dtype: np.dtype, count: int, chunk: int = 1 << 20) -> None:
    """Put a .npy header in front of raw little-endian ids, streaming (never the whole array in memory)."""
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (count,)}
    with atomic_open(out) as dst, open(raw, "rb") as src:
        np.lib.format.write_array_header_1_0(dst, header)
        shutil.copyfileobj(src, dst, chunk)
    raw.unlink()


def write_corpus(name: str, codec, arrays: Iterable[np.ndarray], labels: Iterable[str] | None = None,
                 sources: list[str] | None = None, notes: Iterable[int] | None = None,
                 seconds: Iterable[float] | None = None, split: dict | None = None) -> Corpus:
    """Build a corpus from in-memory id arrays (tests and scripts); replaces a corpus of that name."""
    arrays = list(arrays)
    labels = list(labels) if labels is not None else [f"piece {i + 1}" for i in range(len(arrays))]
    notes = list(notes) if notes is not None else [0] * len(arrays)
    seconds = list(seconds) if seconds is not None else [0.0] * len(arrays)
    if not (len(labels) == len(notes) == len(seconds) == len(arrays)):
        raise InvalidArgument("write_corpus: arrays, labels, notes and seconds must have the same length")
    with CorpusWriter(name, codec, split) as writer:
        for ids, label, n, s in zip(arrays, labels, notes, seconds):
            writer.add(ids, label, notes=n, seconds=s)
        return writer.finish(sources or [])
