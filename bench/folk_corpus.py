"""Folk codec over music21's built-in folk collections: tokenizing speed, encode rate, faithfulness.

    python bench/folk_corpus.py                 # time tokenizing all tunes, encode rate per collection
    python bench/folk_corpus.py --check         # + the music21 round trip of every encoded tune (slow)
    python bench/folk_corpus.py --check --collections oneills1850 --wide

`--wide` uses the vocabulary extended with more meters, modes and a tie token (appended after the specials).
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.codecs import get_codec  # noqa: E402
from studio.codecs.folk.faithful import check_files  # noqa: E402

COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "essenFolksong")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", nargs="+", default=list(COLLECTIONS))
    ap.add_argument("--check", action="store_true", help="music21 round trip of every encoded tune")
    ap.add_argument("--wide", action="store_true", help="extended vocabulary (more meters/modes, tie token)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reasons", type=int, default=15, help="how many skip reasons to list")
    args = ap.parse_args()
    from music21 import corpus

    codec = get_codec("folk", wide=True) if args.wide else get_codec("folk")
    every = corpus.getPaths(fileExtensions=["abc"])
    paths = {c: [p for p in every if p.parent.name == c] for c in args.collections}
    print(f"vocabulary: {codec.vocab_size} tokens ({'wide' if args.wide else 'folk-rnn v2'})")

    t0 = time.perf_counter()
    tokens = tunes = 0
    for files in paths.values():
        for p in files:
            for item in codec.iter_file(p):
                tunes += 1
                tokens += len(getattr(item, "ids", ()))
    dt = time.perf_counter() - t0
    print(f"tokenizing from scratch: {tunes} tunes, {tokens} tokens in {dt:.2f} s "
          f"({tunes / dt:.0f} tunes/s, one process)")

    reasons = collections.Counter()
    total = [0, 0, 0, 0]
    for name, files in paths.items():
        t0 = time.perf_counter()
        results = check_files(codec, files, check=args.check, workers=args.workers)
        n, enc = len(results), sum(r.encoded for r in results)
        ok = sum(bool(r.faithful) for r in results)
        bad = [r for r in results if r.encoded and r.reason]
        reasons.update(r.reason for r in results if not r.encoded)
        line = f"{name:15s} tunes {n:5d}  encoded {enc:5d} ({100 * enc / max(n, 1):5.1f}%)"
        if args.check:
            line += f"  faithful {ok:5d} ({100 * ok / max(enc, 1):5.1f}% of encoded)  [{time.perf_counter() - t0:.0f} s]"
        print(line)
        for r in bad[:5]:
            print(f"    round trip failed: {r.label}: {r.reason}")
        total = [total[0] + n, total[1] + enc, total[2] + ok, total[3] + len(bad)]
    n, enc, ok, _ = total
    line = f"{'all':15s} tunes {n:5d}  encoded {enc:5d} ({100 * enc / max(n, 1):5.1f}%)"
    if args.check:
        line += f"  faithful {ok:5d} ({100 * ok / max(enc, 1):5.1f}% of encoded)"
    print(line)
    print("most common reasons for skipping:")
    for reason, count in reasons.most_common(args.reasons):
        print(f"  {count:5d}  {reason}")


if __name__ == "__main__":
    main()
