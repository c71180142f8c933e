"""Negative log-likelihood per token of a model on a corpus split: the number that compares two models.

Every piece of the split is scored whole (`<s> ids </s>`, predicting each token from all before it), in
time chunks that carry the recurrent state, so long performances fit in memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..corpus.loader import piece_batches
from ..errors import InvalidArgument, UnsupportedContent


@dataclass
class Evaluation:
    split: str
    pieces: int
    tokens: int
    nll: float  # mean negative log-likelihood per token, nats

    @property
    def perplexity(self) -> float:
        return math.exp(min(self.nll, 700.0))

    def to_dict(self) -> dict:
        return {"split": self.split, "pieces": self.pieces, "tokens": self.tokens, "nll_per_token": self.nll,
                "perplexity": self.perplexity}


def check_same_vocabulary(model_codec: dict, corpus) -> None:
    """A model can only be scored on (or trained further with) a corpus that uses its exact tokens."""
    theirs = corpus.codec.config
    if model_codec.get("codec") != theirs.get("codec") or model_codec.get("vocab") != theirs.get("vocab"):
        raise UnsupportedContent(corpus.path, None,
                                 f"corpus uses codec {theirs.get('codec')!r} with {len(theirs.get('vocab', []))} tokens, "
                                 f"the model codec {model_codec.get('codec')!r} with {len(model_codec.get('vocab', []))} "
                                 "tokens: their vocabularies differ")


@torch.no_grad()
def evaluate(model, corpus, split: str = "test", device="cpu", batch_size: int = 16, chunk: int = 512,
             max_pieces: int | None = None) -> Evaluation:
    was_training = model.training
    model.eval()
    total, tokens, pieces = 0.0, 0, 0
    try:
        for batch in piece_batches(corpus, split, batch_size, max_pieces):
            inputs = torch.from_numpy(batch.inputs).to(device)
            targets = torch.from_numpy(batch.targets).to(device)
            mask = torch.from_numpy(batch.mask).to(device)
            state = None
            for s in range(0, inputs.shape[1], chunk):
                logits, state = model(inputs[:, s:s + chunk], state)
                ce = F.cross_entropy(logits.float().transpose(1, 2), targets[:, s:s + chunk], reduction="none")
                total += float((ce * mask[:, s:s + chunk]).sum())
            tokens += batch.tokens
            pieces += len(batch.inputs)
    finally:
        model.train(was_training)
    if not tokens:
        raise InvalidArgument(f"corpus {corpus.name!r} has no {split} pieces to evaluate on")
    return Evaluation(split, pieces, tokens, total / tokens)
