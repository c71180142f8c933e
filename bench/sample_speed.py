"""Sampling speed: our stateful sampler against the naive loops, on this machine's CPU (or --device).

Performance-sized model (3x512 LSTM, one-hot input): the shipped performance model when `models/` has one,
else a randomly initialised one over the performance vocabulary (speed does not depend on the weights'
values, only on whether they are float16 values: those take the sampler's packed-float16 products, as every
shipped model does, so the random weights are rounded to float16).
Prints events/s at batch 1 and the real-time factor (seconds of music per second of compute), using the
average events per second of real performances (the shared Maestro files when present; else 45 events/s,
measured on them). Folk-sized model (3x512 over the folk vocabulary): tunes/s at batch 1 and 64, for tunes
of --tune-tokens tokens. Compared in the same run: re-running the whole prefix each step, and stepping
`nn.LSTM` (the model's own `step`) one token at a time with plain multinomial sampling.

    python bench/sample_speed.py [--events 2000] [--naive-events 200] [--device cpu]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.codecs import codec_from_config, get_codec  # noqa: E402
from studio.generation import Generation, Settings  # noqa: E402
from studio.generation.stepper import cpu_tuned  # noqa: E402
from studio.nn import ModelConfig, SequenceModel, list_models, load_model  # noqa: E402

CPU_SECONDS: dict[int, float] = {}  # process CPU time of the last timing per batch size
MAESTRO_EVENTS_PER_SECOND = 45.0  # 149,843 events over 3,333 s in the five shared Maestro samples


def model_for(codec_name: str, device: str):
    for m in list_models():
        arch = (m.card or {}).get("architecture", {})
        if m.shipped and m.card and m.card["codec"]["codec"] == codec_name and arch.get("units") == 512 \
                and arch.get("layers") == 3:
            return load_model(m.path, device), f"shipped model {m.name}"
    codec = get_codec(codec_name)
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=3, units=512)).to(device).eval()
    with torch.no_grad():  # rounded to float16 values, as shipped models are stored (the sampler's fast path)
        for p in model.parameters():
            p.copy_(p.half().float())
    model.codec_config = codec.config
    return model, "randomly initialised 3x512 LSTM, one-hot input, float16 weights as shipped models store them"


def events_per_music_second(codec) -> tuple[float, str]:
    root = Path(os.environ.get("STUDIO_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
    shared = root / "corpora" / "maestro-samples"
    files = sorted(shared.glob("*.mid"))
    if not files:
        return MAESTRO_EVENTS_PER_SECOND, "Maestro average measured earlier"
    events = seconds = 0.0
    for f in files:
        for e in codec.iter_file(f):
            if hasattr(e, "ids"):
                events += len(e.ids)
                seconds += e.seconds
    return events / seconds, f"{len(files)} Maestro files"


def ours(model, n: int, tokens: int, threads: int | None = None, guard: bool = True) -> tuple[float, float, float]:
    """(seconds sampling, seconds of music, seconds decoding) for n candidates of `tokens` tokens each."""
    # no length limit, `</s>` masked out; folk: with or without the guard that keeps bars in time
    gen = Generation(model, n, Settings(seed=1, guard=guard), endless=True, threads=threads)
    start, cpu = time.perf_counter(), time.process_time()
    for step in gen.steps():
        if step.position >= tokens:
            break
    elapsed = time.perf_counter() - start
    CPU_SECONDS[n] = time.process_time() - cpu
    candidates = gen.candidates()
    return elapsed, max(c.piece.duration for c in candidates), time.perf_counter() - start - elapsed


@torch.inference_mode()
def naive_prefix(model, tokens: int) -> float:
    """Every step runs the whole sequence so far through the model (folk-rnn's folk_rnn.py)."""
    codec = codec_from_config(model.codec_config)
    seq = torch.tensor([[codec.bos_id]], device=model.head.weight.device)
    start = time.perf_counter()
    for _ in range(tokens):
        logits, _ = model(seq)
        nxt = torch.multinomial(torch.softmax(logits[:, -1], -1), 1)
        seq = torch.cat([seq, nxt], 1)
    return time.perf_counter() - start


@torch.inference_mode()
def nn_lstm_steps(model, tokens: int, batch: int = 1) -> float:
    """The model's own `step` (nn.LSTM on one token), state carried, plain multinomial: no rearranged
    weights, default threads, one generator for all."""
    codec = codec_from_config(model.codec_config)
    tok = torch.full((batch,), codec.bos_id, device=model.head.weight.device)
    state = None
    g = torch.Generator(device=tok.device).manual_seed(1)
    start = time.perf_counter()
    for _ in range(tokens):
        logits, state = model.step(tok, state)
        tok = torch.multinomial(torch.softmax(logits, -1), 1, generator=g).squeeze(1)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=2000, help="events per timing of our sampler")
    ap.add_argument("--naive-events", type=int, default=200, help="events for the naive loops (prefix cost grows)")
    ap.add_argument("--tune-tokens", type=int, default=200, help="tokens per folk tune (thesession tunes average ~170)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--folk-only", action="store_true", help="only the folk timings")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    if not args.folk_only:
        performance(args)
    folk(args)


def performance(args) -> None:

    model, what = model_for("performance", args.device)
    rate, source = events_per_music_second(codec_from_config(model.codec_config))
    print(f"\nperformance: {what}; real performances have {rate:.1f} events per second of music ({source})")
    ours(model, 1, 100)  # warm-up
    elapsed, music, _ = ours(model, 1, args.events)
    eps = args.events / elapsed
    print(f"  ours, batch 1:          {eps:8.0f} events/s   real-time factor {eps / rate:6.1f}x "
          f"(by the sampled output itself: {music / elapsed:.1f}x)")
    per_cpu = args.events / CPU_SECONDS[1]
    print(f"    per CPU-second (one thread; what an unloaded core gives): {per_cpu:.0f} events/s, "
          f"real-time factor {per_cpu / rate:.1f}x; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    t = nn_lstm_steps(model, args.naive_events)
    print(f"  nn.LSTM step, batch 1:  {args.naive_events / t:8.0f} events/s   real-time factor "
          f"{args.naive_events / t / rate:6.1f}x")
    with cpu_tuned(1, torch.device(args.device)):
        t = nn_lstm_steps(model, args.naive_events)
    print(f"  nn.LSTM step, batch 1, with our thread/denormal settings: {args.naive_events / t:8.0f} events/s   "
          f"real-time factor {args.naive_events / t / rate:6.1f}x")
    t = naive_prefix(model, args.naive_events)
    print(f"  whole prefix each step: {args.naive_events / t:8.0f} events/s   real-time factor "
          f"{args.naive_events / t / rate:6.1f}x  (average over the first {args.naive_events} events; falls as it grows)")
    elapsed, _, _ = ours(model, 8, args.events // 2)
    print(f"  ours, batch 8:          {8 * (args.events // 2) / elapsed:8.0f} events/s in total")


def folk(args) -> None:
    model, what = model_for("folk", args.device)
    n_tok = args.tune_tokens
    print(f"\nfolk: {what}; tunes of {n_tok} tokens")
    for batch, threads in ((1, None), (64, None), (64, torch.get_num_threads())):
        elapsed, _, decoding = ours(model, batch, n_tok, threads)
        print(f"  ours, batch {batch:2d}, {threads or (1 if batch <= 8 else max(1, torch.get_num_threads() // 2))} thread(s): {batch / elapsed:8.2f} tunes/s sampled ({batch * n_tok / elapsed:6.0f} tokens/s); "
              f"with decoding to ABC and notes {batch / (elapsed + decoding):.2f} tunes/s")
        if threads is None:
            elapsed, _, _ = ours(model, batch, n_tok, threads, guard=False)
            print(f"    the same without the guard (--no-guard): {batch / elapsed:8.2f} tunes/s")
    t = nn_lstm_steps(model, n_tok, 64)
    print(f"  nn.LSTM step, batch 64: {64 / t:8.2f} tunes/s")
    t = nn_lstm_steps(model, n_tok, 1)
    print(f"  nn.LSTM step, batch 1:  {1 / t:8.2f} tunes/s")
    t = naive_prefix(model, n_tok)
    print(f"  whole prefix each step, batch 1: {1 / t:8.2f} tunes/s")


if __name__ == "__main__":
    main()
