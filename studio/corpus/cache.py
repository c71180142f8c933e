"""Encoded files kept under STUDIO_HOME, keyed by file content hash and codec fingerprint.

Re-importing a folder only re-encodes files whose bytes (or whose codec settings) changed; everything else
is read back from here. Each entry is `<hash>.npy` (the file's pieces' ids, concatenated) and
`<hash>.json` (labels, lengths, notes, seconds, and what was skipped and why); the JSON is written last,
so an entry is either complete or absent. No pickles.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_open, write_json
from ..codecs.base import FileReport
from ..errors import UnreadableFile
from ..limits import not_a_file
from ..paths import user_dir


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes, read in chunks; only a regular file is read (a FIFO would block the import
    forever, a symlink to /dev/zero never end)."""
    problem = not_a_file(path)
    if problem:
        raise UnreadableFile(path, None, problem)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise UnreadableFile(path, None, exc.strerror or str(exc)) from None
    return h.hexdigest()


def cache_dir(codec) -> Path:
    return user_dir("cache") / "encoded" / f"{codec.name}-{codec.fingerprint()}-r{codec.reader_version}"


@dataclass
class CachedFile:
    """What one file encoded to (pieces in file order) and what was left out."""

    digest: str
    source: str
    pieces: list[dict] = field(default_factory=list)  # label, length, notes, seconds
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (label, reason)
    ids_path: Path | None = None
    warnings: list[str] = field(default_factory=list)  # repairs made while reading

    def ids(self) -> np.ndarray:
        return np.load(self.ids_path, mmap_mode="r") if self.pieces else np.zeros(0, dtype=np.int32)

    def seen_at(self, source: str) -> "CachedFile":
        """The same entry with labels and reasons naming `source` (the file may have moved or been copied)."""
        if source == self.source:
            return self

        def fix(text: str) -> str:
            return source + text[len(self.source):] if text.startswith(self.source) else text.replace(self.source, source)

        return CachedFile(self.digest, source, [{**p, "label": fix(p["label"])} for p in self.pieces],
                          [(fix(label), fix(reason)) for label, reason in self.skipped], self.ids_path,
                          [fix(w) for w in self.warnings])


def lookup(folder: Path, digest: str) -> CachedFile | None:
    meta_path = folder / digest[:2] / f"{digest}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return CachedFile(digest, meta["source"], meta["pieces"], [tuple(s) for s in meta["skipped"]],
                      meta_path.with_suffix(".npy"), meta.get("warnings", []))


def store(folder: Path, digest: str, report: FileReport, dtype=np.int32) -> CachedFile:
    sub = folder / digest[:2]
    pieces = [{"label": e.label, "length": int(len(e.ids)), "notes": int(e.notes), "seconds": float(e.seconds)}
              for e in report.encoded]
    entry = CachedFile(digest, report.path, pieces, [(s.label, s.reason) for s in report.skipped],
                       sub / f"{digest}.npy", list(report.warnings))
    if pieces:
        ids = np.concatenate([np.asarray(e.ids, dtype=dtype) for e in report.encoded])
        with atomic_open(entry.ids_path) as f:
            np.save(f, ids, allow_pickle=False)
    write_json(sub / f"{digest}.json", {"source": entry.source, "pieces": pieces,
                                        "skipped": [list(s) for s in entry.skipped],
                                        "warnings": entry.warnings}, indent=None)
    return entry
