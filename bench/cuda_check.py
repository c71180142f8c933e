"""The short CUDA and mixed-precision check of our trainer, run first in a GPU job (scripts/gpu_job.sh) so a
broken CUDA path costs seconds, not the lease. On a tiny model over real or synthetic performance data:

1. CUDA float32 follows the CPU: the same first steps (same init, same batches) give the same losses.
2. CUDA with bf16/fp16 autocast (the default there) trains: finite losses that fall, close to float32's.
3. Batches prepared by worker processes (--loader-workers) give the same run as in-process batches.
4. A run stopped and resumed on CUDA continues as the uninterrupted one (within cuDNN's non-determinism).
5. The trained model scores (studio evaluate's code) and samples (the sampler) on CUDA.

    python bench/cuda_check.py [--corpus asap] [--device cuda]    # exit status 1 when a check fails
    python bench/cuda_check.py --device cpu                         # the dry run of the same code
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from studio.corpus.store import Corpus  # noqa: E402
from studio.training import Trainer, make_config  # noqa: E402


def losses(out: Path) -> list[float]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def run(corpus, out: Path, device: str, steps: int, resume_at: int | None = None, **kw) -> list[float]:
    settings = dict(corpus=corpus.name, cell="lstm", layers=2, units=64, embedding=0, dropout=0.0, batch_size=8,
                    seq_len=128, steps=steps, warmup_steps=2, lr=3e-3, decay="none", eval_every=steps,
                    log_every=1, checkpoint_every=max(1, resume_at or steps), device=device, seed=3, controls=True,
                    eval_pieces=4)
    settings.update(kw)
    if resume_at:
        Trainer(out, make_config("small", **{**settings, "steps": resume_at}), corpus).run()
        Trainer.resume(out, corpus, steps=steps).run()
    else:
        Trainer(out, make_config("small", **settings), corpus).run()
    return losses(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--corpus", help="a performance corpus (default: random tokens, on which the loss cannot fall)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="studio-cuda-check-"))
    os.environ.setdefault("STUDIO_HOME", str(tmp / "home"))
    if args.corpus:
        corpus = Corpus.open(args.corpus)
    else:
        from train_throughput import synthetic_corpus

        corpus = synthetic_corpus("check", "performance", "performance-rnn")
    dev = args.device
    info = {"device": torch.cuda.get_device_name() if dev == "cuda" else "cpu", "torch": torch.__version__,
            "bf16": bool(dev == "cuda" and torch.cuda.is_bf16_supported())}
    checks, began = {}, time.perf_counter()

    cpu = run(corpus, tmp / "cpu", "cpu", 5)
    f32 = run(corpus, tmp / "f32", dev, args.steps, amp=False)
    gap = max(abs(a - b) for a, b in zip(cpu, f32[:5]))
    checks["float32 follows the CPU (max loss gap, first 5 steps)"] = (gap, gap < 2e-3)

    amp = run(corpus, tmp / "amp", dev, args.steps)
    finite = all(math.isfinite(x) for x in amp)
    falls = bool(np.mean(amp[-5:]) < np.mean(amp[:5]) - 0.1)
    gap = abs(amp[0] - f32[0])
    checks["autocast trains (first, last 5 mean)"] = ((amp[0], float(np.mean(amp[-5:]))), finite and falls)
    checks["autocast's first loss near float32's"] = (gap, gap < 0.05)

    workers = run(corpus, tmp / "workers", dev, 8, loader_workers=2)
    gap = max(abs(a - b) for a, b in zip(workers, amp[:8]))
    checks["loader workers give the same run (max loss gap)"] = (gap, gap < 1e-3 if dev == "cuda" else gap == 0)

    resumed = run(corpus, tmp / "resumed", dev, args.steps, resume_at=args.steps // 2)
    gap = max(abs(a - b) for a, b in zip(resumed, amp))
    checks["stop and resume continues the run (max loss gap)"] = (gap, gap < 5e-3 if dev == "cuda" else gap == 0)

    from studio.generation import Generation, Settings
    from studio.nn import load_model
    from studio.training.scoring import evaluate

    model = load_model(tmp / "amp", device=dev)
    nll = evaluate(model, corpus, split="train", device=dev, max_pieces=8).nll
    checks["evaluate on the device (NLL/token)"] = (nll, math.isfinite(nll))
    cands = Generation(model, 2, Settings(seconds=4, seed=1, note_density=8)).run()
    checks["sample on the device (tokens of 2 candidates)"] = ([len(c.ids) for c in cands], all(len(c.ids) for c in cands))

    ok = all(passed for _, passed in checks.values())
    report = {**info, "seconds": round(time.perf_counter() - began, 1), "ok": ok,
              "checks": {name: {"value": value, "passed": passed} for name, (value, passed) in checks.items()}}
    text = json.dumps(report, indent=1, default=float)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
