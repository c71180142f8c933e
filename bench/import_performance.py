"""Import speed and memory: the shared Maestro files from scratch and again warm (cache hits), then
synthetic corpora of growing size to show that peak memory does not grow with the corpus.

Each measurement runs in a fresh process with its own empty STUDIO_HOME (the warm one reuses the cold
one's); peak RSS is the importing process's and, separately, the largest worker's.
Synthetic files are copies of the Maestro files made distinct by a trailing unknown chunk (ignored by
MIDI readers), so each is hashed, encoded and stored like a new file.

    python bench/import_performance.py [--sizes 50 500] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT.parent / "shared" / "corpora" / "maestro-samples"


def measure(folder: str, home: str, workers: int) -> dict:
    """Run in a child process: one import, its time and peak memory."""
    os.environ["STUDIO_HOME"] = home
    from studio.codecs import get_codec
    from studio.corpus.importer import import_corpus

    t = time.perf_counter()
    report = import_corpus("bench", get_codec("performance"), [folder], workers=workers)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "files": report.files, "pieces": report.pieces, "notes": report.notes,
            "events": report.events, "hours": report.hours, "cache_hits": report.cache_hits,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def run_child(folder: Path, home: Path, workers: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(folder), str(home), str(workers)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def synthetic(folder: Path, sources: list[Path], n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    datas = [s.read_bytes() for s in sources]
    for i in range(n):
        chunk = b"MTxx" + (8).to_bytes(4, "big") + i.to_bytes(8, "big")
        (folder / f"s{i:05d}.mid").write_bytes(datas[i % len(datas)] + chunk)


def show(label: str, r: dict) -> None:
    print(f"{label:28} {r['seconds']:7.2f} s  {r['files']:5} files {r['notes']:9} notes {r['hours']:7.1f} h  "
          f"cache hits {r['cache_hits']:5}  peak RSS {r['peak_rss_mb']:6.0f} MB (largest worker "
          f"{r['worker_peak_rss_mb']:.0f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default=str(DEFAULT if DEFAULT.exists() else "/work/shared/corpora/maestro-samples"))
    ap.add_argument("--sizes", type=int, nargs="*", default=[50, 500], help="synthetic corpus sizes (files)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    folder = Path(args.folder)
    sources = sorted(folder.glob("*.mid"))
    if not sources:
        sys.exit(f"no MIDI files in {folder}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"workers: {args.workers}")
        show("cold (5 Maestro files)", run_child(folder, tmp / "home", args.workers))
        show("warm (same files again)", run_child(folder, tmp / "home", args.workers))
        for n in args.sizes:
            synth = tmp / f"synth{n}"
            synthetic(synth, sources, n)
            show(f"synthetic, {n} files, cold", run_child(synth, tmp / f"home{n}", args.workers))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        main()
