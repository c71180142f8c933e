"""Round-trip fidelity, encoding speed and tokens per song of the REMI codec on POP909 (or any MIDI files).

Encoding speed: file path to token ids (read, parse, quantize, tokens), best of --repeat, notes/second
counting the notes in the files. Fidelity is judged by pretty_midi, an independent reader: the original
file and the decoded-then-written file are both read with pretty_midi; each original note (inside the
codec's pitch ranges) is matched to the decoded note of the same instrument and pitch with the nearest
onset; errors are in quarter-note beats (pretty_midi's ticks / resolution) and in seconds.

    python bench/remi_roundtrip.py [FILES or FOLDER ...] [--limit N] [--option positions_per_beat=12]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.codecs import get_codec, parse_options  # noqa: E402
from studio.music import Piece  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "pop909"


def midi_files(args: list[str]) -> list[Path]:
    out = []
    for a in args or [str(DEFAULT)]:
        p = Path(a)
        out.extend(sorted(p.rglob("*.mid")) + sorted(p.rglob("*.midi")) if p.is_dir() else [p])
    return out


def pm_notes(path: Path, codec) -> dict:
    """pretty_midi's notes as columns (beats from its own tick clock), kept to the codec's pitch ranges."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    rows = [(n.pitch, n.start, n.end, n.velocity, 0 if inst.is_drum else inst.program, inst.is_drum)
            for inst in pm.instruments for n in inst.notes]
    a = np.array(rows, dtype=float).reshape(-1, 6)
    s = codec.settings
    drum = a[:, 5] == 1
    keep = np.where(drum, (a[:, 0] >= s.drum_min_pitch) & (a[:, 0] <= s.drum_max_pitch),
                    (a[:, 0] >= s.min_pitch) & (a[:, 0] <= s.max_pitch))
    a = a[keep]
    if not s.programs:
        a[:, 4] = 0
    beat = lambda t: np.array([pm.time_to_tick(x) for x in t], dtype=float) / pm.resolution  # noqa: E731
    return {"pitch": a[:, 0], "start": a[:, 1], "end": a[:, 2], "velocity": a[:, 3],
            "voice": a[:, 4] * 2 + a[:, 5], "start_beat": beat(a[:, 1]), "end_beat": beat(a[:, 2])}


def fidelity(codec, path: Path, tmp: Path) -> dict:
    (ids,) = codec.encode_file(path)
    out = tmp / "decoded.mid"
    codec.write_decoded(ids, out)
    want, got = pm_notes(path, codec), pm_notes(out, codec)
    # Match each original note to the decoded note of its instrument and pitch with the nearest onset.
    key_w = want["voice"] * 128 + want["pitch"]
    key_g = got["voice"] * 128 + got["pitch"]
    order = np.lexsort((got["start_beat"], key_g))
    kg, sg = key_g[order], got["start_beat"][order]
    span = 1e6  # keys far apart so a nearest onset is always of the same key when one exists
    pos_g, pos_w = kg * span + sg, key_w * span + want["start_beat"]
    i = np.clip(np.searchsorted(pos_g, pos_w), 1, len(pos_g) - 1)
    left, right = i - 1, i
    pick = np.where(np.abs(pos_g[left] - pos_w) <= np.abs(pos_g[right] - pos_w), left, right)
    match = order[pick]
    found = key_g[match] == key_w
    m = match[found]
    err = lambda a, b: np.abs(got[a][m] - want[b][found])  # noqa: E731
    onset_b, offset_b, onset_s, offset_s = err("start_beat", "start_beat"), err("end_beat", "end_beat"), err("start", "start"), err("end", "end")
    return {"file": path.name, "tokens": len(ids), "notes": len(want["pitch"]), "decoded": len(got["pitch"]),
            "matched": int(found.sum()), "onset_beats": onset_b, "offset_beats": offset_b,
            "onset_s": onset_s, "offset_s": offset_s, "velocity": err("velocity", "velocity")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--option", action="append", help="codec option KEY=VALUE (repeatable)")
    args = ap.parse_args()
    files = midi_files(args.paths)[: args.limit or None]
    if not files:
        sys.exit("no MIDI files found (POP909 lives in ../shared/corpora/pop909)")
    codec = get_codec("remi", **parse_options(args.option))
    notes = sum(len(Piece.read(f).notes) for f in files)

    def encode_all():
        return [codec.encode_file(f) for f in files]

    encoded = encode_all()
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        encode_all()
        times.append(time.perf_counter() - t)
    best = min(times)
    tokens = np.array([sum(len(i) for i in e) for e in encoded])
    print(f"remi codec {codec.vocab_size} tokens, options {parse_options(args.option) or 'default'}")
    print(f"{len(files)} files, {notes} notes; encode {best:.2f} s = {notes / best:,.0f} notes/s, "
          f"{best / len(files) * 1000:.1f} ms/file")
    print(f"tokens per song: mean {tokens.mean():,.0f}, median {np.median(tokens):,.0f}, max {tokens.max():,}; "
          f"{tokens.sum() / notes:.2f} tokens per note")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            rows.append(fidelity(codec, f, Path(tmp)))
    total = sum(r["notes"] for r in rows)
    print(f"\nfidelity judged by pretty_midi ({len(rows)} files, {total} notes in range):")
    print(f"  notes kept (decoded / original): {sum(r['decoded'] for r in rows) / total:.4f}; "
          f"originals with a decoded note of their pitch and instrument: {sum(r['matched'] for r in rows) / total:.4f}")
    for name, unit in (("onset_beats", "beats"), ("offset_beats", "beats"), ("onset_s", "s"), ("offset_s", "s"),
                       ("velocity", "")):
        v = np.concatenate([r[name] for r in rows])
        print(f"  {name:13} mean {v.mean():.4f}  median {np.median(v):.4f}  p99 {np.percentile(v, 99):.4f}  "
              f"max {v.max():.4f} {unit}")
    worst = max(rows, key=lambda r: r["onset_s"].max(initial=0))
    print(f"  worst file by onset seconds: {worst['file']} ({worst['onset_s'].max():.3f} s)")


if __name__ == "__main__":
    main()
