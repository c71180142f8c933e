"""Training batches: framing, determinism for (seed, step), DDP shards, whole-tune padding."""
from __future__ import annotations

import numpy as np
import pytest

from studio.corpus.loader import TuneBatches, WindowBatches, piece_batches
from studio.errors import InvalidArgument
from train_helpers import patterned_corpus


@pytest.fixture
def corpus(tmp_path):
    return patterned_corpus(augment=True)


def test_windows_are_framed_pieces_shifted_by_one(corpus):
    batches = WindowBatches(corpus, seq_len=40, batch_size=6, seed=3, augment=False)
    b = batches.batch(0)
    assert b.inputs.shape == b.targets.shape == (6, 40) and b.mask.all()
    np.testing.assert_array_equal(b.inputs[:, 1:], b.targets[:, :-1])
    codec = corpus.codec
    body = set(range(codec.vocab_size)) - {codec.pad_id}
    assert set(np.unique(b.inputs)) <= body
    # every piece of the train split appears framed: <s> then its ids then </s>
    train = corpus.indices("train")
    stream = np.concatenate([np.r_[codec.bos_id, corpus.piece(i), codec.eos_id] for i in train])
    doubled = np.concatenate([stream, stream])
    for row in np.concatenate([b.inputs, b.targets[:, -1:]], axis=1):
        hits = [s for s in range(len(stream)) if np.array_equal(doubled[s:s + 41], row)]
        assert hits, "a window is not a stretch of the framed train stream"


def test_windows_depend_only_on_seed_and_step(corpus):
    a = WindowBatches(corpus, seq_len=16, batch_size=4, seed=1)
    b = WindowBatches(corpus, seq_len=16, batch_size=4, seed=1)
    np.testing.assert_array_equal(a.batch(7).inputs, b.batch(7).inputs)
    np.testing.assert_array_equal(a.batch(7).inputs, a.batch(7).inputs)  # asking again changes nothing
    assert not np.array_equal(a.batch(7).inputs, a.batch(8).inputs)
    assert not np.array_equal(a.batch(7).inputs, WindowBatches(corpus, seq_len=16, batch_size=4, seed=2).batch(7).inputs)


def test_augmentation_varies_each_piece_consistently(corpus):
    plain = WindowBatches(corpus, seq_len=16, batch_size=8, seed=1, augment=False).batch(0)
    varied = WindowBatches(corpus, seq_len=16, batch_size=8, seed=1, augment=True).batch(0)
    assert not np.array_equal(plain.inputs, varied.inputs)
    n = corpus.codec.vocab_size - 3
    body = (plain.inputs < n) & (varied.inputs < n)
    for p, v, m in zip(plain.inputs, varied.inputs, body):  # the counting codec shifts a piece by one amount
        shifts = set(((v[m] - p[m]) % n).tolist())
        assert 1 <= len(shifts) <= 3  # a window spans at most a few pieces


@pytest.mark.parametrize("kind", ["windows", "tunes"])
def test_ranks_read_their_rows_of_the_global_batch(corpus, kind):
    def make(rank, world):
        if kind == "windows":
            return WindowBatches(corpus, seq_len=12, batch_size=8, seed=5, rank=rank, world_size=world)
        return TuneBatches(corpus, batch_size=8, seed=5, rank=rank, world_size=world)

    for step in (0, 3):
        whole = make(0, 1).batch(step)
        parts = [make(r, 2).batch(step) for r in range(2)]
        def full(b, width):  # the framed rows: inputs plus the last target, padded to a common width
            rows = np.concatenate([b.inputs, b.targets[:, -1:]], axis=1)
            return np.pad(rows, ((0, 0), (0, width - rows.shape[1])), constant_values=corpus.codec.pad_id)

        width = whole.inputs.shape[1] + 1
        np.testing.assert_array_equal(np.concatenate([full(p, width) for p in parts]), full(whole, width))
        assert sum(p.tokens for p in parts) == whole.tokens
    with pytest.raises(InvalidArgument, match="cannot be shared evenly"):
        make(0, 3)


def test_tune_batches_cover_an_epoch_of_whole_padded_tunes(corpus):
    batches = TuneBatches(corpus, batch_size=5, seed=0, augment=False)
    codec, train = corpus.codec, corpus.indices("train")
    assert len(batches) == -(-len(train) // 5)
    seen = []
    for step in range(len(batches)):
        b = batches.batch(step)
        for inputs, targets, mask in zip(b.inputs, b.targets, b.mask):
            if not mask.any():
                continue
            n = int(mask.sum())
            assert inputs[0] == codec.bos_id and targets[n - 1] == codec.eos_id
            assert inputs[n - 1] != codec.pad_id and (inputs[n + 1:] == codec.pad_id).all() and not mask[n:].any()
            seen.append(tuple(inputs[1:n]))
    assert sorted(seen) == sorted(tuple(corpus.piece(i)) for i in train)
    assert not np.array_equal(batches.plan(0), batches.plan(1))  # a new order each epoch


def test_piece_batches_score_every_piece_once(corpus):
    valid = corpus.indices("valid")
    got = [b for b in piece_batches(corpus, "valid", batch_size=2)]
    assert sum(b.tokens for b in got) == sum(len(corpus.piece(i)) + 1 for i in valid)
    with pytest.raises(InvalidArgument, match="unknown split"):
        next(piece_batches(corpus, "holdout"))


def test_a_capped_validation_spreads_over_the_split_not_its_first_source(corpus):
    """Corpora list their sources one after the other (folk-all: the Irish books, then Nottingham, then
    folkwiki); a validation capped at N pieces must not be the first sources alone."""
    valid = corpus.indices("valid")
    assert len(valid) >= 3
    scored = sorted(tuple(b.inputs[0, 1:int(b.mask.sum())]) for b in
                    piece_batches(corpus, "valid", batch_size=1, max_pieces=2))
    assert scored == sorted(tuple(corpus.piece(int(i))) for i in (valid[0], valid[-1]))
