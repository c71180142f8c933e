"""Encoding speed and fidelity of the performance codec on real performances, against MidiTok's MIDILike.

Both sides go from file path to token ids (file read, parse, pedal, tokens, ids); notes/second counts the
notes in the files. Fidelity: encode then decode every file and compare with the piece as the codec sees
it (pedal folded in): onset/offset errors, velocity error, notes lost or invented.

    python bench/encode_performance.py [FILES or FOLDER ...] [--repeat 5]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.codecs import get_codec  # noqa: E402
from studio.music import Piece  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "maestro-samples"


def midi_files(args: list[str]) -> list[Path]:
    out = []
    for a in args or [str(DEFAULT if DEFAULT.exists() else "/work/shared/corpora/maestro-samples")]:
        p = Path(a)
        out.extend(sorted(p.rglob("*.mid")) + sorted(p.rglob("*.midi")) if p.is_dir() else [p])
    return out


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def fidelity(codec, path: Path) -> dict:
    piece = Piece.read(path)
    want = codec.prepare(piece).notes
    (ids,) = codec.encode_file(path)
    got = codec.decode(ids).notes
    order = lambda n: n[np.lexsort((n["start"], n["pitch"]))]  # noqa: E731
    want, got = order(want), order(got)
    step = 1 / codec.steps_per_second
    same = len(want) == len(got) and (want["pitch"] == got["pitch"]).all()
    one_step = np.floor(want["start"] / step + 0.5) == np.floor(want["end"] / step + 0.5)
    return {
        "file": path.name, "notes_in_file": len(piece.notes), "notes_encoded": len(want), "events": len(ids),
        "lost_or_invented": abs(len(want) - len(got)) if not same else 0,
        "max_onset_error_steps": float(np.abs(got["start"] - want["start"]).max() / step) if same else None,
        "max_offset_error_steps": float(np.abs(got["end"] - want["end"])[~one_step].max() / step) if same else None,
        "notes_made_one_step_long": int(one_step.sum()),
        "max_velocity_error": int(np.abs(got["velocity"].astype(int) - want["velocity"]).max()) if same else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    files = midi_files(args.paths)
    if not files:
        sys.exit("no MIDI files found")
    codec = get_codec("performance")
    notes = sum(len(Piece.read(f).notes) for f in files)
    for f in files:  # warm both (imports, caches)
        codec.encode_file(f)

    ours = best_time(lambda: [codec.encode_file(f) for f in files], args.repeat)
    print(f"{len(files)} files, {notes} notes")
    print(f"ours  (performance codec): {ours * 1000:8.1f} ms  {notes / ours:12,.0f} notes/s")
    try:
        from miditok import MIDILike, TokenizerConfig
    except ImportError:
        print("miditok not installed (pip install miditok, or the project's `bench` extra): no comparison")
    else:
        tokenizer = MIDILike(TokenizerConfig())

        def miditok_all():
            for f in files:
                seqs = tokenizer.encode(Path(f))
                for s in seqs if isinstance(seqs, list) else [seqs]:
                    np.asarray(s.ids)

        miditok_all()
        theirs = best_time(miditok_all, args.repeat)
        print(f"MidiTok MIDILike:          {theirs * 1000:8.1f} ms  {notes / theirs:12,.0f} notes/s")
        print(f"ours / MidiTok speed:      {theirs / ours:8.1f}x")

    print("\nfidelity (encode -> decode vs pedal-applied original; 1 step = 10 ms):")
    cols = ["file", "notes_in_file", "notes_encoded", "events", "lost_or_invented", "max_onset_error_steps",
            "max_offset_error_steps", "notes_made_one_step_long", "max_velocity_error"]
    print("  ".join(f"{c:>{max(len(c), 12)}}" for c in cols))
    for f in files:
        r = fidelity(codec, f)
        print("  ".join(f"{(round(r[c], 3) if isinstance(r[c], float) else r[c])!s:>{max(len(c), 12)}}" for c in cols))


if __name__ == "__main__":
    main()
