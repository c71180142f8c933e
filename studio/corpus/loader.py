"""Training batches from a corpus store, read straight from the memory-mapped ids.

Two ways to cut a split into batches:
- `WindowBatches`: random fixed-length windows across the split's pieces, each piece framed
  `<s> ids </s>` and the pieces of the split joined end to end (cyclically); for long performances.
- `TuneBatches`: whole pieces padded to the longest in the batch, with a mask; for folk tunes (folk-rnn
  trains on whole tunes), grouped by length so little is padding.

Both are pure functions of (seed, step): batch `step` is the same on every run, which makes resume exact
and lets each of `world_size` ranks read only its own rows of the global batch (rows
rank*B .. (rank+1)*B - 1, B = global batch / world_size), so N ranks together see exactly what one
process would see with the whole batch. `codec.augment` is applied on the fly to each piece's part of a
row, with a random generator seeded by (seed, step, row, piece) so a piece is varied one way per row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgument


@dataclass
class Batch:
    inputs: np.ndarray  # [rows, time] int64
    targets: np.ndarray  # [rows, time] int64
    mask: np.ndarray  # [rows, time] bool: True where the target is a real token (not padding)
    controls: np.ndarray | None = None  # [rows, time, control size] float32, for conditioned training

    @property
    def tokens(self) -> int:
        return int(self.mask.sum())


def split_pieces(corpus, split: str) -> np.ndarray:
    """Row numbers of the corpus pieces in `split` that hold at least one token."""
    rows = corpus.indices(split)
    return rows[corpus.pieces["length"][rows] > 0]


class _Batches:
    def __init__(self, corpus, split: str, batch_size: int, seed: int, rank: int, world_size: int, augment: bool):
        if world_size < 1 or not 0 <= rank < world_size:
            raise InvalidArgument(f"rank {rank} is not in 0..{world_size - 1}")
        if batch_size < world_size or batch_size % world_size:
            raise InvalidArgument(f"the batch of {batch_size} cannot be shared evenly by {world_size} processes")
        self.codec = corpus.codec
        self.ids = corpus.ids
        self.rows = split_pieces(corpus, split)
        if len(self.rows) == 0:
            raise InvalidArgument(f"corpus {corpus.name!r} has no {split} pieces to train on")
        self.offsets = np.asarray(corpus.pieces["offset"][self.rows], dtype=np.int64)
        self.lengths = np.asarray(corpus.pieces["length"][self.rows], dtype=np.int64)
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.local = batch_size // world_size
        self.augment = augment
        self._recipe = {"split": split, "batch_size": batch_size, "seed": seed, "rank": rank,
                        "world_size": world_size, "augment": augment}

    def recipe(self) -> dict:
        """The keyword arguments that build these same batches from the same corpus (for worker processes)."""
        return dict(self._recipe)

    @property
    def my_rows(self) -> range:
        return range(self.rank * self.local, (self.rank + 1) * self.local)

    def _body(self, k: int, start: int, stop: int, step: int, row: int) -> np.ndarray:
        """Tokens start..stop of piece k of the split (no specials), augmented for this (step, row)."""
        off = self.offsets[k]
        seg = np.asarray(self.ids[off + start: off + stop], dtype=np.int64)
        if self.augment:
            rng = np.random.default_rng([self.seed, step, row, int(self.rows[k])])
            seg = np.asarray(self.codec.augment(seg, rng), dtype=np.int64)
        return seg


class WindowBatches(_Batches):
    """Fixed-length windows (seq_len inputs + their next tokens) from the framed, joined split."""

    LOOKAHEAD = 256  # tokens read past a window so the controls of its last steps see what follows

    def __init__(self, corpus, split: str = "train", seq_len: int = 512, batch_size: int = 64, seed: int = 0,
                 rank: int = 0, world_size: int = 1, augment: bool = True, controls: bool = False):
        super().__init__(corpus, split, batch_size, seed, rank, world_size, augment)
        if seq_len < 1:
            raise InvalidArgument(f"sequence length must be at least 1, not {seq_len}")
        self.controls = self.codec.controls if controls else None
        if controls and self.controls is None:
            raise InvalidArgument(f"the {self.codec.name} codec has no conditioning controls to train with")
        self.seq_len = seq_len
        self._recipe.update(seq_len=seq_len, controls=controls)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths + 2)])  # framed offset of each piece
        self.total = int(self.starts[-1])

    def __len__(self) -> int:
        return max(1, self.total // (self.batch_size * self.seq_len))

    def batch(self, step: int) -> Batch:
        rng = np.random.default_rng([self.seed, step])
        positions = rng.integers(0, self.total, size=self.batch_size)  # every rank draws the global batch
        extra = self.LOOKAHEAD if self.controls is not None else 0
        window = np.empty((self.local, self.seq_len + 1 + extra), dtype=np.int64)
        for i, row in enumerate(self.my_rows):
            window[i] = self._window(int(positions[row]), step, row, self.seq_len + 1 + extra)
        controls = None
        if self.controls is not None:
            # the input at t carries the controls of what follows it: those computed at position t + 1
            controls = np.stack([self.controls.features(w)[1:self.seq_len + 1] for w in window])
            self.controls.hide(controls, np.random.default_rng([self.seed, step, 7, self.rank]))
            window = window[:, :self.seq_len + 1]
        return Batch(window[:, :-1], window[:, 1:], np.ones((self.local, self.seq_len), dtype=bool), controls)

    def _window(self, position: int, step: int, row: int, need: int) -> np.ndarray:
        """`need` tokens starting at a framed position, walking on into the next pieces."""
        bos, eos = self.codec.bos_id, self.codec.eos_id
        out = []
        k = int(np.searchsorted(self.starts, position, side="right") - 1)
        pos = position - int(self.starts[k])  # 0: <s>, 1..n: body, n + 1: </s>
        while need > 0:
            n = int(self.lengths[k])
            if pos == 0:
                out.append(np.array([bos]))
                need -= 1
                pos = 1
            elif pos <= n:
                take = min(need, n - pos + 1)
                seg = self._body(k, pos - 1, pos - 1 + take, step, row)[:need]
                out.append(seg)
                need -= len(seg)
                pos += take
            else:
                out.append(np.array([eos]))
                need -= 1
                k, pos = (k + 1) % len(self.rows), 0
        return np.concatenate(out)


class TuneBatches(_Batches):
    """Whole pieces, `<s> ids </s>`, padded to the longest in the batch; similar lengths batched together."""

    def __init__(self, corpus, split: str = "train", batch_size: int = 64, seed: int = 0, rank: int = 0,
                 world_size: int = 1, augment: bool = True, max_len: int | None = None):
        super().__init__(corpus, split, batch_size, seed, rank, world_size, augment)
        self.max_len = max_len  # longer pieces are cut to their first max_len tokens
        self._recipe.update(max_len=max_len)
        self._plans: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return max(1, -(-len(self.rows) // self.batch_size))

    def plan(self, epoch: int) -> np.ndarray:
        """[batches, batch_size] split-piece numbers for one epoch (-1: no piece, an empty row)."""
        if epoch not in self._plans:
            rng = np.random.default_rng([self.seed, epoch, 1])
            order = rng.permutation(len(self.rows))
            # sort by length inside chunks of 50 batches: length-mates share a batch, yet epochs differ
            chunk = 50 * self.batch_size
            for s in range(0, len(order), chunk):
                part = order[s:s + chunk]
                order[s:s + chunk] = part[np.argsort(self.lengths[part], kind="stable")]
            padded = np.full(len(self) * self.batch_size, -1, dtype=np.int64)
            padded[:len(order)] = order
            batches = padded.reshape(len(self), self.batch_size)
            self._plans = {epoch: batches[rng.permutation(len(batches))]}
        return self._plans[epoch]

    def batch(self, step: int) -> Batch:
        epoch, index = divmod(step, len(self))
        chosen = self.plan(epoch)[index]
        bodies = []
        for row in self.my_rows:
            k = int(chosen[row])
            if k < 0:
                bodies.append(None)
                continue
            n = int(self.lengths[k]) if self.max_len is None else min(int(self.lengths[k]), self.max_len)
            bodies.append(self._body(k, 0, n, step, row))
        return framed_batch(bodies, self.codec)


def piece_batches(corpus, split: str, batch_size: int = 32, max_pieces: int | None = None):
    """Every piece of a split once, framed and padded, longest first: for measuring NLL exactly.
    `max_pieces` takes that many spread evenly over the split: a corpus lists its sources one after the
    other, so its first pieces would be its first sources alone."""
    rows = split_pieces(corpus, split)
    if max_pieces is not None and max_pieces < len(rows):
        rows = rows[np.unique(np.linspace(0, len(rows) - 1, max_pieces).round().astype(int))]
    codec = corpus.codec
    rows = rows[np.argsort(-corpus.pieces["length"][rows], kind="stable")]
    for s in range(0, len(rows), batch_size):
        part = rows[s:s + batch_size]
        yield framed_batch([np.asarray(corpus.piece(int(r)), dtype=np.int64) for r in part], codec)


def framed_batch(bodies: list, codec) -> Batch:
    """Pieces framed `<s> ids </s>`, padded to the longest; None leaves an all-padding row."""
    width = max([len(b) + 1 for b in bodies if b is not None] or [1])
    seq = np.full((len(bodies), width + 1), codec.pad_id, dtype=np.int64)
    mask = np.zeros((len(bodies), width), dtype=bool)
    for i, body in enumerate(bodies):
        if body is not None:
            seq[i, 0], seq[i, 1:len(body) + 1], seq[i, len(body) + 1] = codec.bos_id, body, codec.eos_id
            mask[i, :len(body) + 1] = True
    return Batch(seq[:, :-1], seq[:, 1:], mask)


class PrefetchedBatches:
    """Batches computed ahead of the training loop by worker processes. `batch(step)` of the wrapped batches
    is a pure function of the step, so what comes back is exactly what they give in-process (resume stays
    exact); the numpy work of a batch (windows, augmentation, controls: over a second for 128 x 512 events
    with controls) then runs beside the model's step instead of before it, which a GPU would wait on."""

    def __init__(self, batches: WindowBatches | TuneBatches, corpus_path, workers: int, ahead: int | None = None):
        from .pool import worker_pool

        self.batches = batches
        self.ahead = ahead or 2 * workers
        recipe = (type(batches).__name__, str(corpus_path), batches.recipe())
        self.pool = worker_pool(workers, _open_batches, (recipe,))
        self.pending: dict = {}

    def batch(self, step: int) -> Batch:
        for old in [s for s in self.pending if s < step]:  # a jump (resume): what was fetched is not needed
            self.pending.pop(old).cancel()
        for s in range(step, step + self.ahead):
            if s not in self.pending:
                self.pending[s] = self.pool.submit(_worker_batch, s)
        return self.pending.pop(step).result()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pending.clear()


_worker_batches = None  # the batches object of this worker process


def _open_batches(recipe) -> None:
    global _worker_batches
    from .store import Corpus

    kind, path, kwargs = recipe
    _worker_batches = {"WindowBatches": WindowBatches, "TuneBatches": TuneBatches}[kind](Corpus.open(path), **kwargs)


def _worker_batch(step: int) -> Batch:
    return _worker_batches.batch(step)
