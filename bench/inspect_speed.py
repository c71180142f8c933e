"""How long View > Model > Surprise takes on a long performance: a 20,000-note piece (the shared Maestro
samples joined end to end, cut to --notes; random notes when they are absent) under a randomly initialised
3x512 LSTM over the performance vocabulary (the time does not depend on the weights).

Times the stages separately: encoding, the layer-by-layer run with surprises and top 5 only, the same run
keeping every layer's h and c (what the cell lane and Find cells need), the token map and Find cells, each
as wall-clock and process CPU seconds (on a shared machine the CPU time is the figure to compare). Prints one
line per stage, and --json.

    python bench/inspect_speed.py [--notes 20000] [--units 512] [--layers 3] [--threads N] [--whole]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.codecs import get_codec  # noqa: E402
from studio.inspect import find_cells, inspect_piece, run_model, token_map  # noqa: E402
from studio.music.piece import Piece, make_notes  # noqa: E402
from studio.nn import ModelConfig, SequenceModel  # noqa: E402

SHARED = Path(os.environ.get("STUDIO_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))


def long_performance(n: int) -> tuple[Piece, str]:
    files = sorted((SHARED / "corpora" / "maestro-samples").glob("*.mid"))
    if files:
        parts, offset = [], 0.0
        for f in files:
            notes = Piece.read(f).notes.copy()
            notes["start"] += offset
            notes["end"] += offset
            parts.append(notes)
            offset = float(notes["end"].max()) + 1.0
            if sum(len(p) for p in parts) >= n:
                break
        notes = np.concatenate(parts)[:n]
        return Piece(notes=notes), f"{len(files)} Maestro samples joined"
    rng = np.random.default_rng(0)
    start = np.cumsum(rng.exponential(0.12, n))
    return Piece(notes=make_notes(rng.integers(36, 96, n).tolist(), start.tolist(),
                                  (start + rng.uniform(0.05, 0.6, n)).tolist(),
                                  velocity=rng.integers(30, 110, n).tolist())), "random notes"


CPU: dict[str, float] = {}  # process CPU seconds per stage: the honest figure on a machine shared with others


def timed(fn, name: str = ""):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    CPU[name] = time.process_time() - c0
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notes", type=int, default=20000)
    ap.add_argument("--units", type=int, default=512)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads for the model run (default 1)")
    ap.add_argument("--whole", action="store_true", help="also time inspect_piece end to end")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    threads = args.threads or 1  # run_model's own default: one thread (see its docstring)
    codec = get_codec("performance")
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(codec.vocab_size, layers=args.layers, units=args.units)).eval()
    model.codec_config = codec.config
    piece, source = long_performance(args.notes)
    stages = {}
    ids, stages["encode"] = timed(lambda: codec.encode(piece), "encode")
    _, stages["surprise + top 5"] = timed(lambda: run_model(model, ids, keep_activations=False, threads=threads),
                                          "surprise + top 5")
    run, stages["surprise + top 5 + h, c"] = timed(lambda: run_model(model, ids, threads=threads), "surprise + top 5 + h, c")
    tmap, stages["token map"] = timed(lambda: token_map(codec, ids, piece), "token map")
    _, stages["find cells"] = timed(lambda: find_cells(run, tmap, 20), "find cells")
    if args.whole:
        _, stages["inspect_piece (all)"] = timed(lambda: inspect_piece(model, piece), "inspect_piece (all)")
    view = ("encode", "surprise + top 5 + h, c", "token map")  # what the studio's worker does after an edit
    result = {"notes": len(piece.notes), "tokens": len(ids), "source": source, "model": f"{args.layers}x{args.units} LSTM",
              "threads": threads, "cpu": os.cpu_count(), "load_average": os.getloadavg()[0],
              "wall_s": stages, "cpu_s": dict(CPU), "view_wall_s": sum(stages[k] for k in view),
              "view_cpu_s": sum(CPU[k] for k in view),
              "activations_mb": sum(a.nbytes for a in run.hidden + (run.cell or [])) / 1e6}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['notes']} notes ({source}), {result['tokens']} tokens, {result['model']}, "
              f"{result['threads']} torch threads on {result['cpu']} cores (load average {result['load_average']:.1f})")
        for key, wall in stages.items():
            print(f"  {key:26} {wall:8.2f} s wall {CPU[key]:8.2f} s CPU")
        print(f"  the view after an edit    {result['view_wall_s']:8.2f} s wall {result['view_cpu_s']:8.2f} s CPU")
        print(f"  activations kept           {result['activations_mb']:8.0f} MB (float16)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
