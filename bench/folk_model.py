"""Folk corpus and model figures: import share per source, token round trip, held-out NLL per source, and
raw/guarded samples against music21's reading of real tunes.

    python bench/folk_model.py --model runs/folk --corpus folk-all          # everything (a few minutes)
    python bench/folk_model.py --skip-import --skip-samples --model models/folk --corpus folk-all
    python bench/folk_model.py --skip-import --skip-nll --skip-samples --model models/folk --outside SAMPLE.txt

Sources are ../shared/corpora/folk (Nottingham ABC books, the folkwiki token file) and music21's Irish
books. "Imported" counts tunes that gave at least one piece (a tune that changes meter gives one piece per
part). The round trip writes every piece of the corpus as a folk-rnn v2 token file and imports it back: the
ids must be the same, token for token. NLL per source uses `studio evaluate` on a corpus made of that
source's held-out (validation) pieces. Samples: `studio generate -n N --seed 7 --temperature 1` with and
without the guard; for each, the share of valid ABC (no repair), the share whose bars music21 reads in
time (`faithful.music21_bars_in_time`), evaluate-samples' playable share, and copies of a training tune;
real tunes are the corpus's held-out pieces on the same music21 check.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from studio.codecs import codec_from_config, get_codec  # noqa: E402
from studio.codecs.base import _blocks  # noqa: E402
from studio.codecs.folk.faithful import music21_bars_in_time  # noqa: E402
from studio.corpus.builtin import collection_files  # noqa: E402
from studio.corpus.store import Corpus, write_corpus  # noqa: E402
from studio.music.abc_io import read_abc_tunes  # noqa: E402

IRISH = ("oneills1850", "ryansMammoth", "airdsAirs")


def studio(*args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, env=env, cwd=REPO)
    if done.returncode:
        raise SystemExit(f"studio {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def source_files(shared: Path) -> dict[str, list[Path]]:
    folk = shared / "corpora" / "folk"
    out = {name: collection_files(name) for name in IRISH}
    out["nottingham"] = sorted((folk / "nottingham").glob("*.abc"))
    out["folkwiki"] = [folk / "folkwiki" / "folkwiki_tokenized.txt"]
    return {k: v for k, v in out.items() if v and all(p.exists() for p in v)}


def source_of(path: str) -> str:
    for name in (*IRISH, "nottingham", "folkwiki"):
        if name in path:
            return name
    return "other"


def import_shares(codec, files: dict[str, list[Path]]) -> None:
    print("import share per source (wide vocabulary):")
    for name, paths in files.items():
        t0 = time.perf_counter()
        tunes = pieces = 0
        imported: set[str] = set()
        reasons = collections.Counter()
        for p in paths:
            if p.suffix == ".txt":
                tunes += len(_blocks(p.read_text(encoding="utf-8")))
            else:
                tunes += sum(1 for _ in read_abc_tunes(p))
            report = codec.encode_file_report(p)
            pieces += len(report.encoded)
            imported |= {e.label.split(" part ")[0] for e in report.encoded}
            reasons.update(s.reason.split(" at bar")[0] for s in report.skipped)
        print(f"  {name:13s} tunes {tunes:5d}  imported {len(imported):5d} ({100 * len(imported) / max(tunes, 1):5.1f}%)"
              f"  pieces {pieces:5d}  [{time.perf_counter() - t0:.0f} s]  top reasons: "
              + "; ".join(f"{n}x {r}" for r, n in reasons.most_common(3)))


def round_trip(corpus: Corpus) -> None:
    codec = corpus.codec
    pieces = [np.asarray(corpus.piece(i)) for i in range(len(corpus))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus_v2.txt"
        path.write_text("\n\n".join(codec.format_tokens(p) for p in pieces) + "\n", encoding="utf-8")
        report = codec.encode_file_report(path)
    same = sum(np.array_equal(a, e.ids) for a, e in zip(pieces, report.encoded))
    print(f"round trip as a folk-rnn v2 token file: {len(pieces)} tunes written, {len(report.encoded)} imported, "
          f"{same} token for token ({100 * same / max(len(pieces), 1):.1f}%), {len(report.skipped)} skipped")


def nll_per_source(corpus: Corpus, model: str) -> None:
    by_source: dict[str, list[int]] = collections.defaultdict(list)
    valid = set(corpus.indices("valid").tolist())
    for i, rec in enumerate(corpus.records()):
        if i in valid:
            by_source[source_of(rec.get("source", "") or rec["label"])].append(i)
    print(f"held-out NLL per source ({model}):")
    for name, rows in sorted(by_source.items()):
        out = nll_of(corpus.codec, model, [np.asarray(corpus.piece(i)) for i in rows])
        print(f"  {name:13s} {out['pieces']:4d} tunes {out['tokens']:7d} tokens  NLL {out['nll_per_token']:.4f} nats/token")


def nll_of(codec, model: str, tunes: list[np.ndarray]) -> dict:
    """`studio evaluate --json` of `model` on these tunes, as a temporary corpus of one split."""
    write_corpus("bench-nll", codec, tunes, split={"method": "hash", "valid": 1.0, "test": 0.0})
    try:
        return json.loads(studio("evaluate", "--model", model, "--corpus", "bench-nll", "--split", "valid", "--json"))
    finally:
        studio("corpus", "remove", "bench-nll")


def outside_nll(corpus: Corpus, model: str, paths: list[str]) -> None:
    """NLL on tunes from outside the corpus (a thesession.org sample, say): each file imported with the corpus's
    codec (what cannot be imported is counted and named), scored whole, and checked for tunes that are in
    the training split anyway (half or more of a tune's body in one run shared with a training tune)."""
    from studio.codecs.folk.report import copy_report

    for path in paths:
        report = corpus.codec.encode_file_report(Path(path))
        tunes = [np.asarray(e.ids) for e in report.encoded]
        if not tunes:
            print(f"  {path}: no tune imported ({len(report.skipped)} refused)")
            continue
        copies = copy_report(corpus.codec, tunes, corpus.name)
        inside = copies["copies_of_training_tunes"]
        out = nll_of(corpus.codec, model, tunes)
        reasons = collections.Counter(s.reason.split(" at bar")[0] for s in report.skipped)
        print(f"  {Path(path).name}: {out['pieces']} tunes ({len(report.skipped)} refused"
              + (": " + "; ".join(f"{n}x {r}" for r, n in reasons.most_common(3)) if reasons else "")
              + f"), {out['tokens']} tokens, NLL {out['nll_per_token']:.4f} nats/token; {inside} of them share half "
              f"their body in one run with a training tune (median longest shared run "
              f"{int(np.median(copies['longest_shared_tokens']))} tokens)")
        if inside:
            kept = [t for t, n in zip(tunes, copies["longest_shared_tokens"]) if n < 0.5 * (len(t) - 2)]
            out = nll_of(corpus.codec, model, kept)
            print(f"    without those: {out['pieces']} tunes, NLL {out['nll_per_token']:.4f} nats/token")


def samples(corpus: Corpus, model: str, n: int) -> None:
    from studio.generation.evaluate import evaluate_samples

    codec = corpus.codec
    real = [np.asarray(corpus.piece(i)) for i in corpus.indices("valid")[:150]]
    m21 = sum(music21_bars_in_time(codec.decode_abc(ids)) for ids in real)
    from studio.codecs.folk.report import folk_report

    rep = folk_report(codec, real)
    print(f"real tunes (held out, {len(real)}): bars in time by music21 {m21 / len(real):.2f}, "
          f"playable by evaluate-samples {rep['playable_share']:.2f}")
    for guard in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            args = ["generate", "--model", model, "-n", str(n), "--seed", "7", "--temperature", "1.0", "--out", tmp]
            studio(*(args + ([] if guard else ["--no-guard"])))
            report = evaluate_samples(tmp, corpus.name)
            record = json.loads((Path(tmp) / "generation.json").read_text(encoding="utf-8"))
            tunes = [np.asarray(c["tokens"], dtype=np.int64) for c in record["candidates"]]
            sample_codec = codec_from_config(corpus.meta["codec"])
            in_time = sum(music21_bars_in_time(sample_codec.decode_abc(ids)) for ids in tunes)
        copies = report.get("copies_of_training_tunes")
        print(f"samples {'guarded' if guard else 'raw    '} ({n}, T=1.0, seed 7): valid ABC {report['valid_abc_share']:.2f}, "
              f"bars in time by music21 {in_time / n:.2f}, playable by evaluate-samples {report['playable_share']:.2f}, "
              f"copies of a training tune {copies}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "folk"))
    ap.add_argument("--corpus", default="folk-all")
    ap.add_argument("--shared", default=str(REPO.parent / "shared"))
    ap.add_argument("-n", type=int, default=50, help="samples per setting")
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--skip-nll", action="store_true")
    ap.add_argument("--skip-samples", action="store_true")
    ap.add_argument("--outside", nargs="*", default=[], metavar="FILE",
                    help="token or ABC files of tunes from outside the corpus (e.g. a thesession.org sample): their NLL")
    args = ap.parse_args()
    if not args.skip_import:
        import_shares(get_codec("folk", wide=True), source_files(Path(args.shared)))
    corpus = Corpus.open(args.corpus)
    if not args.skip_import:
        round_trip(corpus)
    if not args.skip_nll:
        nll_per_source(corpus, args.model)
    if args.outside:
        print(f"NLL on tunes from outside the corpus ({args.model}):")
        outside_nll(corpus, args.model, args.outside)
    if not args.skip_samples:
        samples(corpus, args.model, args.n)


if __name__ == "__main__":
    main()
