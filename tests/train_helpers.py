"""Tiny corpora for training tests (through the real corpus store), with a small test-only codec whose
tokens are the numbers 0..n-1: learnable patterns that train in seconds."""
from __future__ import annotations

import numpy as np

from studio.codecs import CODECS
from studio.codecs.base import SPECIAL_TOKENS, Codec
from studio.corpus.store import write_corpus
from studio.music import Piece


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


def patterned_corpus(name: str = "patterns", pieces: int = 32, size: int = 12, augment: bool = False, seed: int = 0):
    """Pieces that climb in steps of 1 or 2 from a random start: learnable, so the loss must fall."""
    rng = np.random.default_rng(seed)
    codec = CountingCodec.default(size, augment)
    arrays = []
    for _ in range(pieces):
        n, stride, start = int(rng.integers(20, 60)), int(rng.integers(1, 3)), int(rng.integers(0, size))
        arrays.append((start + stride * np.arange(n)) % size)
    corpus = write_corpus(name, codec, arrays, sources=["synthetic"],
                          split={"method": "hash", "valid": 0.15, "test": 0.1})
    assert all(len(corpus.indices(s)) for s in ("train", "valid", "test")), "every split needs a piece"
    return corpus
