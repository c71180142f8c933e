"""How fast light `studio` commands start, against a bare `python -c "import numpy, symusic"`.

    python bench/cli_start.py [--runs 5]

Each command runs as a fresh process `--runs` times; the median wall time is printed beside the baseline's,
with the ratio (the target: within 2x). Light commands import neither torch nor Qt.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ABC = REPO / "corpora" / "examples" / "session-tunes.abc"


def median_time(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd=REPO)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "tune.mid"
        subprocess.run([py, "-m", "studio", "convert", str(ABC), str(mid), "--tune", "1"], check=True, cwd=REPO)
        base = median_time([py, "-c", "import numpy, symusic"], args.runs)
        print(f"{'baseline: import numpy, symusic':40} {base:6.3f} s")
        for name, extra in [("--version", ["--version"]), ("--help", ["--help"]), ("info FILE.mid", ["info", str(mid)]),
                            ("info FILE.abc", ["info", str(ABC)]), ("encode --codec performance", ["encode", "--codec", "performance", str(mid)]),
                            ("corpus list", ["corpus", "list"])]:
            t = median_time([py, "-m", "studio", *extra], args.runs)
            print(f"{'studio ' + name:40} {t:6.3f} s  {t / base:4.1f}x")


if __name__ == "__main__":
    main()
