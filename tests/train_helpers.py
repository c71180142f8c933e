"""Tiny corpora for training tests, written in the corpus-store file format (corpus.json, ids.npy,
pieces.npy), with a small test-only codec whose tokens are the numbers 0..n-1."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from studio.codecs import CODECS
from studio.codecs.base import SPECIAL_TOKENS, Codec
from studio.music import Piece

PIECE_DTYPE = np.dtype([("offset", "<i8"), ("length", "<i8"), ("split", "u1")])


class CountingCodec(Codec):
    """Token i is "n<i>"; augmentation shifts every token by the same random amount (mod n)."""

    name = "counting"
    file_extensions = ()

    @classmethod
    def default(cls, size: int = 12, augment: bool = False):
        return cls({"codec": cls.name, "vocab": [f"n{i}" for i in range(size)] + list(SPECIAL_TOKENS),
                    "augment": augment})

    @property
    def body_size(self) -> int:
        return self.vocab_size - len(SPECIAL_TOKENS)

    def encode(self, piece):
        return np.asarray(piece.notes["pitch"] % self.body_size, dtype=np.int32)

    def decode(self, ids):
        return Piece()

    def iter_file(self, path):
        return iter(())

    def augment(self, ids, rng):
        if not self.config.get("augment"):
            return ids
        shift = int(rng.integers(0, self.body_size))
        body = ids < self.body_size
        out = ids.copy()
        out[body] = (ids[body] + shift) % self.body_size
        return out


CODECS.setdefault("counting", f"{__name__}:CountingCodec")


class FileCorpus:
    """Reads the store's files the way the contract says (memory-mapped ids, never loaded whole)."""

    def __init__(self, path: Path):
        from studio.codecs import codec_from_config

        self.path = Path(path)
        self.name = self.path.name
        self.config = json.loads((self.path / "corpus.json").read_text())
        self.codec = codec_from_config(self.config["codec"])
        self.ids = np.load(self.path / "ids.npy", mmap_mode="r")
        self.pieces = np.load(self.path / "pieces.npy")

    def piece(self, i):
        row = self.pieces[i]
        return self.ids[row["offset"]: row["offset"] + row["length"]]

    def indices(self, split):
        return np.flatnonzero(self.pieces["split"] == {"train": 0, "valid": 1, "test": 2}[split])

    def __len__(self):
        return len(self.pieces)


def write_corpus_files(path: Path, codec: Codec, arrays: list[np.ndarray], splits: list[int]) -> FileCorpus:
    path.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    pieces = np.zeros(len(arrays), dtype=PIECE_DTYPE)
    pieces["length"] = lengths
    pieces["offset"] = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pieces["split"] = splits
    np.save(path / "ids.npy", np.concatenate(arrays).astype(np.int16))
    np.save(path / "pieces.npy", pieces)
    (path / "corpus.json").write_text(json.dumps({
        "name": path.name, "codec": codec.config, "created": "2026-01-01T00:00:00Z", "sources": ["synthetic"],
        "stats": {"pieces": len(arrays)}, "split": {"method": "hash", "valid": 0.05, "test": 0.05}}))
    return FileCorpus(path)


def patterned_corpus(path: Path, pieces: int = 24, size: int = 12, augment: bool = False, seed: int = 0) -> FileCorpus:
    """Pieces that climb in steps of 1 or 2 from a random start: learnable, so the loss must fall."""
    rng = np.random.default_rng(seed)
    codec = CountingCodec.default(size, augment)
    arrays, splits = [], []
    for i in range(pieces):
        n, stride, start = int(rng.integers(20, 60)), int(rng.integers(1, 3)), int(rng.integers(0, size))
        arrays.append((start + stride * np.arange(n)) % size)
        splits.append(1 if i % 8 == 3 else 2 if i % 8 == 5 else 0)
    return write_corpus_files(path, codec, arrays, splits)
