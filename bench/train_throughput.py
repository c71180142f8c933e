"""Tokens/second of the full training engine against a bare PyTorch loop with the same shapes.

The engine step is everything `studio train` does per step: reading windows or whole tunes from the
memory-mapped corpus, augmentation, forward, masked loss, backward, global-norm clip, optimizer step, LR
schedule, metrics logging and progress events. The bare loop is nn.LSTM + Linear + cross-entropy + clip +
step on random ids already in memory. Both run in this process, one after the other, per preset.

    python bench/train_throughput.py                       # folk-rnn and performance-rnn presets
    python bench/train_throughput.py --steps 5 --presets performance-rnn
    python bench/train_throughput.py --device cuda --presets performance-rnn --batch 128 --controls \
        --loader-workers 12 --steps 20            # on a GPU: engine (bf16 autocast) against bare cuDNN nn.LSTM

Positions/s counts every computed position (padding included), the fair overhead comparison; for whole-tune
batching the real (unpadded) tokens/s is printed too.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.codecs import available, get_codec  # noqa: E402
from studio.training import Trainer, make_config  # noqa: E402
from studio.training.config import learning_rate  # noqa: E402


def synthetic_corpus(name: str, codec_name: str, preset: str, seed: int = 0):
    """Random body tokens in pieces of realistic lengths, all in the train split (no validation pauses)."""
    from studio.corpus.store import write_corpus

    codec = get_codec(codec_name)
    body = codec.vocab_size - 3
    rng = np.random.default_rng(seed)
    lengths = rng.integers(150, 350, 2000) if preset == "folk-rnn" else rng.integers(3000, 8000, 40)
    arrays = [rng.integers(0, body, n).astype(np.int32) for n in lengths]
    return write_corpus(name, codec, arrays, split={"method": "hash", "valid": 0.0, "test": 0.0})


def engine(corpus, preset: str, steps: int, out: Path, seq_len: int | None, **options) -> tuple[float, float, tuple]:
    options = {k: v for k, v in options.items() if v is not None}
    config = make_config(preset, corpus=corpus.name, steps=steps + 1, seq_len=seq_len, checkpoint_every=10 ** 6,
                         checkpoint_minutes=10 ** 6, eval_every=10 ** 6, log_every=1, **options)
    marks = {}

    def on_event(event):
        if event.kind == "step":
            marks[event.step] = (time.perf_counter(), trainer.tokens_seen)

    trainer = Trainer(out, config, corpus, on_event=on_event)
    trainer.run()
    (t0, tok0), (t1, tok1) = marks[1], marks[steps + 1]  # step 0 (reported as 1) is the warm-up
    # batches are a pure function of the step, so the computed positions (padding included) can be recounted
    positions = sum(trainer.batches.batch(s).inputs.size for s in range(1, steps + 1))
    shape = (config.batch_size, positions // (config.batch_size * steps))
    return positions / (t1 - t0), (tok1 - tok0) / (t1 - t0), shape


def bare(preset: str, vocab: int, shape: tuple, steps: int, device: str = "cpu", amp: bool = True) -> float:
    """The same shapes through nn.LSTM alone (cuDNN's fused LSTM on a GPU, with bf16 autocast when `amp`)."""
    config = make_config(preset)
    torch.manual_seed(0)
    dev = torch.device(device)
    lstm = torch.nn.LSTM(vocab, config.units, config.layers, batch_first=True,
                         dropout=config.dropout if config.layers > 1 else 0.0).to(dev)
    head = torch.nn.Linear(config.units, vocab).to(dev)
    drop = torch.nn.Dropout(config.dropout)
    params = list(lstm.parameters()) + list(head.parameters())
    optimizer = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}[config.optimizer](params, lr=config.lr)
    ids = torch.randint(0, vocab, (shape[0], shape[1] + 1), device=dev)
    autocast = dev.type == "cuda" and amp
    times = []
    for step in range(steps + 1):
        t = time.perf_counter()
        for g in optimizer.param_groups:
            g["lr"] = learning_rate(config, step, steps + 1)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=autocast):
            out, _ = lstm(F.one_hot(ids[:, :-1], vocab).float())
            loss = F.cross_entropy(head(drop(out)).transpose(1, 2).float(), ids[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.clip)
        optimizer.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return shape[0] * shape[1] * steps / sum(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per loop (after one warm-up step)")
    parser.add_argument("--presets", nargs="+", default=["folk-rnn", "performance-rnn"])
    parser.add_argument("--seq-len", type=int, help="override the performance-rnn window length (default 512)")
    parser.add_argument("--batch", type=int, help="override the preset's batch size")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="float32 on CUDA (default: bf16 autocast)")
    parser.add_argument("--controls", action="store_true", help="performance-rnn with the note-density and "
                                                                "pitch-class controls computed for every batch")
    parser.add_argument("--loader-workers", type=int, default=0, help="processes preparing batches ahead")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    os.environ["STUDIO_HOME"] = str(home)
    gpu = f", {torch.cuda.get_device_name()}" if args.device == "cuda" else ""
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPU cores{gpu}")
    for preset in args.presets:
        codec_name = "folk" if preset == "folk-rnn" and "folk" in available() else "performance"
        corpus = synthetic_corpus(preset, codec_name, preset)
        seq_len = args.seq_len if preset == "performance-rnn" else None
        pos_s, tok_s, shape = engine(corpus, preset, args.steps, home / f"run-{preset}", seq_len, device=args.device,
                                     amp=args.amp, batch_size=args.batch, loader_workers=args.loader_workers,
                                     controls=args.controls if preset == "performance-rnn" else None)
        bare_s = bare(preset, corpus.codec.vocab_size, shape, args.steps, args.device, args.amp)
        real = f", real tokens/s {tok_s:,.0f}" if tok_s < 0.99 * pos_s else ""
        print(f"{preset:16s} codec {codec_name} (vocab {corpus.codec.vocab_size}), batch x time {shape[0]}x{shape[1]}: "
              f"engine {pos_s:,.0f} positions/s{real}; bare nn.LSTM {bare_s:,.0f}/s; ratio {pos_s / bare_s:.1%}")


if __name__ == "__main__":
    main()
