"""Hostile-input campaign (issue 14): mutated MIDI and ABC files, random token sequences for both codecs,
damaged projects and model folders, in process and one item at a time, each under a 10 s alarm and an RSS
watchdog; then SIGKILLs during training and during corpus import, each followed by a resume/re-import.

    python bench/fuzz.py                       # the issue's full size (10,000 MIDI, 1,103 ABC, ...)
    python bench/fuzz.py --scale 0.05          # every count times 0.05 (at least a few of each)
    python bench/fuzz.py --only midi,abc --seed 3 --size midi=500

Counts reported per kind: items, read fine, clean StudioError, escapes (anything else, by type), items
over the time limit, items whose process RSS passed the memory limit, slowest item and peak RSS. Then the
CLI contract on a sample of refused files (one `error:` line, exit status 2), and the kill campaigns.
Mutations come from the shared corpora (../shared/corpora) when present, else from files built here.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # tests/hostile.py: the hostile-file builders the tests use too
from hostile import (SPECIAL_REASONS, children, mutate_abc, mutate_midi, mutate_project, one_line_error,  # noqa: E402
                     random_ids, running, special)
SHARED = Path(os.environ.get("STUDIO_SHARED", REPO.parent / "shared")) / "corpora"
FULL = {"midi": 10_000, "abc": 1_103, "performance": 100_000, "folk": 27_758, "project": 300, "model": 32,
        "train_kill": 20, "import_kill": 10}
KEEP = Path(tempfile.gettempdir()) / "studio-fuzz-failures"  # items that timed out or escaped, kept
TIME_LIMIT = 10.0  # CPU seconds of this process (ITIMER_PROF): on a shared machine wall-clock says more about
# the neighbours than about the item (at load 13 on 2 cores a 0.4 s CPU parse took 10 s of wall-clock)
RSS_LIMIT = 1.5 * (1 << 30)


# ---------------------------------------------------------------------------------------- watchdogs
class ItemTimeout(BaseException):
    """Raised in the main thread by the per-item alarm (BaseException: no `except Exception` eats it)."""


class MemoryBomb(BaseException):
    """Raised in the main thread by the RSS watchdog."""


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Watchdog:
    """Samples RSS every 10 ms; past the limit it interrupts the main thread (SIGUSR1 -> MemoryBomb)."""

    def __init__(self, limit: float):
        self.limit, self.peak, self.armed = limit, 0, False
        signal.signal(signal.SIGUSR1, self._bomb)
        signal.signal(signal.SIGPROF, self._alarm)
        threading.Thread(target=self._run, daemon=True).start()

    @staticmethod
    def _bomb(*_):
        raise MemoryBomb()

    @staticmethod
    def _alarm(*_):
        raise ItemTimeout()

    def _run(self):
        while True:
            if self.armed:
                r = _rss()
                self.peak = max(self.peak, r)
                if r > self.limit:
                    self.armed = False
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
            time.sleep(0.01)

    def run(self, fn):
        """(outcome, CPU seconds, peak RSS, wall seconds): outcome is "ok", "clean", "timeout", "memory" or
        "escape:<Type>"."""
        from studio.errors import StudioError

        self.peak = _rss()
        self.armed = True
        began, cpu = time.perf_counter(), time.process_time()
        signal.setitimer(signal.ITIMER_PROF, TIME_LIMIT)
        try:
            fn()
            outcome = "ok"
        except StudioError:
            outcome = "clean"
        except ItemTimeout:
            outcome = "timeout"
        except MemoryBomb:
            outcome = "memory"
        except Exception as exc:  # noqa: BLE001 - an escape is what we count
            outcome = f"escape:{type(exc).__name__}"
            Stats.tracebacks.setdefault(outcome, traceback.format_exc(limit=6))
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            self.armed = False
        return outcome, time.process_time() - cpu, max(self.peak, _rss()), time.perf_counter() - began


class Stats:
    tracebacks: dict[str, str] = {}

    def __init__(self, kind: str):
        self.kind, self.outcomes, self.slowest, self.peak = kind, collections.Counter(), (0.0, ""), 0
        self.slowest_wall = 0.0
        self.over_time = self.over_memory = 0
        self.refused: list[str] = []
        self.failed: list[str] = []

    def add(self, label: str, result) -> None:
        outcome, seconds, peak, wall = result
        self.slowest_wall = max(self.slowest_wall, wall)
        self.outcomes[outcome] += 1
        if seconds > self.slowest[0]:
            self.slowest = (seconds, label)
        self.peak = max(self.peak, peak)
        self.over_time += seconds > TIME_LIMIT or outcome == "timeout"
        self.over_memory += peak > RSS_LIMIT or outcome == "memory"
        if outcome.startswith("escape") or outcome in ("timeout", "memory"):
            print(f"  !! {self.kind} {label}: {outcome} ({seconds:.1f} s CPU, {wall:.1f} s wall)", flush=True)
            self.failed.append(label)
        elif outcome == "clean":
            self.refused.append(label)

    def line(self) -> str:
        n = sum(self.outcomes.values())
        escapes = {k: v for k, v in self.outcomes.items() if k.startswith("escape")}
        return (f"{self.kind:12s} {n:7,d} items: {self.outcomes['ok']:,} fine, {self.outcomes['clean']:,} clean "
                f"StudioError, {sum(escapes.values())} escapes {dict(escapes) or ''}, {self.over_time} over "
                f"{TIME_LIMIT:g} s CPU, {self.over_memory} over {RSS_LIMIT / (1 << 30):g} GB; slowest "
                f"{self.slowest[0]:.2f} s CPU ({Path(self.slowest[1]).name}; slowest wall-clock "
                f"{self.slowest_wall:.1f} s), peak RSS {self.peak / (1 << 20):,.0f} MB")


# ---------------------------------------------------------------------------------------- MIDI
def midi_sources() -> list[bytes]:
    files = sorted((SHARED / "pop909").glob("*.mid"))[:60] + sorted((SHARED / "broken-midi").glob("*.mid"))
    if files:
        return [f.read_bytes() for f in files]
    from studio.music.piece import Piece, make_notes  # no shared data: a few built here
    out = []
    for k in range(5):
        path = Path(tempfile.mkdtemp()) / "s.mid"
        Piece(notes=make_notes([60 + k + i for i in range(20)], [i * 0.25 for i in range(20)],
                               [i * 0.25 + 0.2 for i in range(20)])).write_midi(path)
        out.append(path.read_bytes())
    return out


def fuzz_midi(n: int, rng: random.Random, work: Path, dog: Watchdog) -> Stats:
    from studio.codecs import get_codec
    from studio.music.midi_io import read_midi

    stats, sources, codec = Stats("midi"), midi_sources(), get_codec("performance")
    path = work / "m.mid"
    for i in range(n):
        path.write_bytes(mutate_midi(rng.choice(sources), rng))
        item = work / f"midi-{i}.mid"

        def one():
            piece = read_midi(path)
            piece.summary()  # what `studio info` prints
            codec.encode(piece)
        result = dog.run(one)
        stats.add(str(item), result)
        if result[0] == "clean" and len(stats.refused) <= 20:
            shutil.copy(path, item)  # kept for the CLI contract sample
        elif result[0] not in ("ok", "clean"):
            shutil.copy(path, KEEP / item.name)  # kept to look at
    return stats


# ---------------------------------------------------------------------------------------- ABC
def abc_sources() -> list[str]:
    from studio.music.abc_io import split_tunes

    tunes = []
    for f in sorted((SHARED / "folk" / "nottingham").glob("*.abc"))[:4]:
        tunes += [t.text for t in split_tunes(f.read_text(encoding="latin-1"))][:40]
    return tunes or ["X:1\nT:Built\nM:6/8\nL:1/8\nK:D\n|:DFA dAF|GBd gdB|AFD DFA|BGE E3:|\n"]


def fuzz_abc(n: int, rng: random.Random, work: Path, dog: Watchdog) -> Stats:
    from studio.codecs import get_codec
    from studio.music.abc_io import read_abc_lenient

    stats, sources, codec = Stats("abc"), abc_sources(), get_codec("folk")
    path = work / "t.abc"
    for i in range(n):
        path.write_text(mutate_abc(rng.choice(sources), rng), encoding="utf-8")
        item = work / f"abc-{i}.abc"

        def one():
            pieces, errors = read_abc_lenient(path)  # music21, as `studio info` reads it
            codec.encode_file_report(path)  # our lexer, as an import reads it
            if errors and not pieces:
                raise errors[0]
        result = dog.run(one)
        stats.add(str(item), result)
        if (result[0] == "clean" and len(stats.refused) <= 20) or item.name in map(os.path.basename, stats.failed):
            shutil.copy(path, item)
            if result[0] != "clean":
                shutil.copy(path, KEEP / item.name)
    return stats


# ---------------------------------------------------------------------------------------- tokens
def fuzz_tokens(name: str, n: int, rng: random.Random, dog: Watchdog) -> Stats:
    from studio.codecs import get_codec

    codec, stats = get_codec(name), Stats(name)
    for i in range(n):
        ids = random_ids(rng, codec.vocab_size)
        stats.add(f"seq {i}", dog.run(lambda: codec.decode(ids)))
    return stats


# ---------------------------------------------------------------------------------------- projects
def fuzz_projects(n: int, rng: random.Random, work: Path, dog: Watchdog) -> Stats:
    from studio.app import project
    from studio.music import Piece

    stats = Stats("project")
    good = work / "good.studio"
    src = midi_sources()[0]
    (work / "src.mid").write_bytes(src)
    try:
        piece = Piece.read(work / "src.mid")
    except Exception:  # noqa: BLE001
        from studio.music.piece import make_notes
        piece = Piece(notes=make_notes([60, 64, 67], [0, 0.5, 1], [0.5, 1, 1.5]))
    project.save_project(good, [project.ProjectEntry(piece, "a.mid", {"seed": 1}, {"zoom": 2.0})] * 3, 1)
    text = good.read_text()
    path = work / "p.studio"
    for i in range(n):
        path.write_text(mutate_project(text, rng), encoding="utf-8")
        stats.add(f"project {i}", dog.run(lambda: project.read_project(path)))
    return stats


# ---------------------------------------------------------------------------------------- model folders
def fuzz_models(n: int, rng: random.Random, work: Path, dog: Watchdog) -> Stats:
    import torch
    from safetensors.torch import save_file

    from studio.codecs import get_codec
    from studio.nn import ModelConfig, SequenceModel, list_models, load_model, save_model

    codec = get_codec("folk")
    stats = Stats("model")
    root = work / "home" / "models"
    good = root / "good"
    save_model(SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=1, units=16)), good, codec.config)
    card = json.loads((good / "model.json").read_text())
    weights = (good / "weights.safetensors").read_bytes()

    def edit(change):
        c = json.loads(json.dumps(card))
        change(c)
        return json.dumps(c)

    card_damage = [
        lambda c: c["architecture"].update(units=10 ** 9), lambda c: c["architecture"].update(layers=10 ** 6),
        lambda c: c["codec"].update(vocab=list(range(len(c["codec"]["vocab"])))),
        lambda c: c.update(format_version="1"), lambda c: c.update(format_version=None),
        lambda c: c.update(description="d" * 50_000_000), lambda c: c["codec"]["vocab"].__setitem__(0, "t" * 50_000_000),
        lambda c: c["architecture"].update(units="16"), lambda c: c["architecture"].update(cell=None),
        lambda c: c.update(training="x"), lambda c: c.update(training={"valid_nll_per_token": "low"}),
        lambda c: c.update(architecture=[1]), lambda c: c["architecture"].update(vocab_size=10 ** 12),
        lambda c: c["architecture"].update(embedding=-1), lambda c: c["architecture"].update(dropout="x"),
        lambda c: c.update(parameters="many"), lambda c: c["codec"].update(vocab=None),
    ]
    weight_damage = ["nan", "pickle", "shape", "dtype", *SPECIAL_REASONS, "truncated", "empty",
                     "extra", "missing"]
    for i in range(n):
        folder = root / f"m{i}"
        shutil.copytree(good, folder)
        kind = rng.randrange(3)
        if kind == 0:
            (folder / "model.json").write_text(edit(rng.choice(card_damage)))
        elif kind == 1:
            (folder / "model.json").write_text(rng.choice(["[" * 100_000, "{", "", "null", "\x00\xff", "[]"]))
        else:
            w = folder / "weights.safetensors"
            what = weight_damage[i % len(weight_damage)]
            tensors = {}
            from safetensors.torch import load as load_st
            tensors = load_st(weights)
            w.unlink()
            if what == "nan":
                save_file({k: torch.full_like(v, float("nan")) for k, v in tensors.items()}, w)
            elif what == "pickle":
                w.write_bytes(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94.")
            elif what == "shape":
                save_file({k: torch.zeros(*[s + 1 for s in v.shape]) for k, v in tensors.items()}, w)
            elif what == "dtype":
                save_file({k: v.to(torch.int64) for k, v in tensors.items()}, w)
            elif what in SPECIAL_REASONS:  # fifo, directory, dev-zero, dangling
                special(w, what)
            elif what == "truncated":
                w.write_bytes(weights[: len(weights) // 2])
            elif what == "empty":
                w.write_bytes(b"")
            elif what == "extra":
                save_file({**tensors, "evil": torch.zeros(3)}, w)
            else:
                save_file(dict(list(tensors.items())[1:]), w)
        stats.add(str(folder), dog.run(lambda: load_model(folder)))
    os.environ["STUDIO_HOME"] = str(work / "home")
    listing = Stats("models-list")
    listing.add("list_models", dog.run(lambda: [m for m in list_models() if m.error is None]))
    broken = sum(1 for m in list_models() if m.error is not None)
    print(f"  studio models: {broken} of {n + 1} installed folders listed as broken", flush=True)
    return stats, listing


# ---------------------------------------------------------------------------------------- CLI contract
def cli_contract(samples: list[str]) -> str:
    ok = 0
    for f in samples:
        try:
            proc = subprocess.run([sys.executable, "-m", "studio", "info", f], capture_output=True, text=True,
                                  timeout=600, cwd=REPO)
        except subprocess.TimeoutExpired:
            print(f"  !! CLI on {f}: no answer within 600 s of wall-clock (machine load?)")
            continue
        problem = one_line_error(proc.stderr, f) or (None if proc.returncode == 2 else f"exit status {proc.returncode}")
        ok += problem is None
        if problem:
            print(f"  !! CLI contract broken on {f}: {problem}")
    return f"CLI `studio info` on {len(samples)} refused files: {ok} one-line `error:` with exit status 2"


# ---------------------------------------------------------------------------------------- kills
TRAIN = textwrap.dedent("""
    import sys
    sys.path[:0] = [{repo!r}]
    from studio.corpus.store import Corpus
    from studio.errors import StudioError
    from studio.training import Trainer, make_config
    corpus = Corpus.open({corpus!r})
    say = lambda event: print(event.kind, event.step, flush=True)
    print("ready", flush=True)
    try:
        if {resume!r}:
            trainer = Trainer.resume({out!r}, corpus, on_event=say)
        else:
            trainer = Trainer({out!r}, make_config("small", layers=1, units=32, embedding=16, batch_size=8,
                              seq_len=32, steps=12, eval_every=3, checkpoint_every=4, device="cpu", seed=1),
                              corpus, on_event=say)
    except StudioError as exc:
        print("refused:", exc.message(), flush=True)
        sys.exit(2)
    trainer.run()
    print("done", flush=True)
""")


def kill_training(n: int, rng: random.Random, work: Path) -> str:
    """Kill a tiny run at random instants, then resume it with --resume, or, where it says there is nothing to
    continue, start it again; it must then finish. An instant is a random one of the run's progress lines
    (from "ready", before the trainer has made anything, to its last step) plus 0-0.3 s, so the kills spread
    over the whole run however loaded the machine is (a wall-clock instant would not)."""
    from studio.codecs import get_codec
    from studio.corpus.store import write_corpus
    from studio.errors import StudioError
    from studio.nn import load_model
    from studio.training.checkpoint import CHECKPOINT

    os.environ["STUDIO_HOME"] = str(work / "home")
    codec = get_codec("performance")
    r = random.Random(0)
    corpus = write_corpus("k", codec, [[r.randrange(388) for _ in range(300)] for _ in range(24)])

    def train(out: Path, resume: bool) -> list[str]:
        return [sys.executable, "-c", TRAIN.format(repo=str(REPO), corpus=str(corpus.path), out=str(out), resume=resume)]

    reference = subprocess.run(train(work / "t0", False), check=True, capture_output=True, text=True).stdout.splitlines()
    lines = reference[:-2]  # up to the last step: "done" lines and the exit are not instants inside the run
    outcomes, points = collections.Counter(), []
    for i in range(n):
        out = work / f"run{i}"
        k, delay = rng.randrange(len(lines)), rng.uniform(0.0, 0.3)
        proc = subprocess.Popen(train(out, False), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(k + 1):
            if not proc.stdout.readline():
                break
        time.sleep(delay)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        points.append(f"{lines[k]}+{delay:.2f}s")
        print(f"  training kill {i + 1}/{n} at {points[-1]} (so far: {dict(outcomes)})", flush=True)
        if finished:
            outcomes["finished before the kill"] += 1
            continue
        shown = (out / "weights.safetensors").exists()
        has_ckpt = (out / CHECKPOINT).exists()
        if shown and not has_ckpt:
            outcomes["weights without checkpoint"] += 1
        if shown:
            try:
                load_model(out)
            except StudioError as exc:
                outcomes["weights unreadable: " + exc.reason[:40]] += 1
        resume = subprocess.run(train(out, True), capture_output=True, text=True)
        if "done" in resume.stdout:
            outcomes["resumed"] += 1
            continue
        if not has_ckpt and "refused:" in resume.stdout:
            again = subprocess.run(train(out, False), capture_output=True, text=True)
            why = "nothing to continue" if "nothing to continue" in resume.stdout else resume.stdout.split("refused:")[1][-60:].strip()
            outcomes[f"restarted (killed before any checkpoint; --resume said: {why})" if "done" in again.stdout
                     else "restart FAILED"] += 1
            continue
        tail = (resume.stdout + resume.stderr).strip().splitlines()
        outcomes["FAILED: " + (tail[-1][:80] if tail else f"rc {resume.returncode}")] += 1
    return (f"SIGKILL during training at {n} instants (after one of the run's {len(lines)} progress lines, "
            f"+0-0.3 s): {dict(outcomes)}; kill points: {', '.join(points)}")


IMPORT = textwrap.dedent("""
    import sys
    sys.path[:0] = [{repo!r}]
    from studio.codecs import get_codec
    from studio.corpus.importer import import_corpus
    print("ready", flush=True)
    r = import_corpus("imp", get_codec("performance"), [{src!r}], workers=2,
                      progress=lambda done, total, path: print("file", done, flush=True))
    print("done", r.pieces, flush=True)
""")


def kill_import(n: int, rng: random.Random, work: Path) -> str:
    """Kill a parallel import at random instants; its workers must go with it, and the next import must
    finish, remove the dead one's hidden folder, and list only complete corpora."""
    from studio.corpus import cache

    home = work / "ihome"
    env = {**os.environ, "STUDIO_HOME": str(home)}
    src = work / "isrc"
    src.mkdir(exist_ok=True)
    files = sorted((SHARED / "pop909").glob("*.mid"))[:16] or []
    for f in files:
        shutil.copy(f, src / f.name)
    if not files:
        from studio.music.piece import Piece, make_notes
        for k in range(16):
            Piece(notes=make_notes([60 + k % 20] * 400, [i * 0.1 for i in range(400)],
                                   [i * 0.1 + 0.05 for i in range(400)])).write_midi(src / f"{k}.mid")
    script = IMPORT.format(repo=str(REPO), src=str(src))
    outcomes, points = collections.Counter(), []
    for i in range(n):
        shutil.rmtree(home / "cache", ignore_errors=True)  # so every kill lands in real encoding work
        proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        k, delay = rng.randrange(len(files) or 16), rng.uniform(0.0, 0.5)  # after "ready" or file k, +0-0.5 s
        for _ in range(k + 1):
            if not proc.stdout.readline():
                break
        time.sleep(delay)
        points.append(f"{'ready' if k == 0 else f'file {k}'}+{delay:.2f}s")
        print(f"  import kill {i + 1}/{n} at {points[-1]} (so far: {dict(outcomes)})", flush=True)
        kids = children(proc.pid)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if finished:
            outcomes["finished before the kill"] += 1
        time.sleep(0.5)
        alive = [k for k in kids if running(k)]
        if alive:
            outcomes["workers outlived parent"] += 1
            for k in alive:
                os.kill(k, signal.SIGKILL)
        left = [p.name for p in (home / "corpora").glob(".*")] if (home / "corpora").exists() else []
        after_kill = subprocess.run([sys.executable, "-m", "studio", "corpus", "list"], env=env, capture_output=True,
                                    text=True, cwd=REPO)
        if after_kill.returncode != 0 or "Traceback" in after_kill.stderr:
            outcomes["corpus list FAILED after the kill"] += 1
        again = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        hidden = [p.name for p in (home / "corpora").glob(".*")]
        listed = subprocess.run([sys.executable, "-m", "studio", "corpus", "list"], env=env, capture_output=True,
                                text=True, cwd=REPO)
        if "done" in again.stdout and not hidden and listed.returncode == 0:
            outcomes["re-import clean" + (" (stale folder removed)" if left else "")] += 1
        else:
            outcomes[f"FAILED (hidden left: {hidden}, rc {listed.returncode})"] += 1
    del cache
    return (f"SIGKILL during a 2-worker corpus import of {len(files) or 16} files at {n} instants (after its "
            f"'ready' line or a random file's progress line, +0-0.5 s): {dict(outcomes)}; kill points: {', '.join(points)}")


# ---------------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every count (the issue's size is 1)")
    ap.add_argument("--only", default=",".join(FULL), help=f"comma-separated kinds: {', '.join(FULL)}")
    ap.add_argument("--size", action="append", default=[], metavar="KIND=N", help="one kind's count (after --scale)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cli-sample", type=int, default=8)
    args = ap.parse_args()
    kinds = args.only.split(",")
    count = {k: max(3, round(v * args.scale)) for k, v in FULL.items()}
    count.update({k: int(v) for k, v in (item.split("=") for item in args.size)})
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="studio-fuzz-"))
    os.environ.setdefault("STUDIO_HOME", str(work / "home"))
    dog = Watchdog(RSS_LIMIT)
    KEEP.mkdir(exist_ok=True)
    print(f"sizes: { {k: count[k] for k in kinds} }; limits: {TIME_LIMIT:g} s and "
          f"{RSS_LIMIT / (1 << 30):g} GB per item; work folder {work}", flush=True)
    lines, refused = [], []
    try:
        for kind in kinds:
            began = time.perf_counter()
            if kind == "midi":
                s = fuzz_midi(count[kind], rng, work, dog)
            elif kind == "abc":
                s = fuzz_abc(count[kind], rng, work, dog)
            elif kind in ("performance", "folk"):
                s = fuzz_tokens(kind, count[kind], rng, dog)
            elif kind == "project":
                s = fuzz_projects(count[kind], rng, work, dog)
            elif kind == "model":
                s, listing = fuzz_models(count[kind], rng, work, dog)
                lines.append(listing.line())
            elif kind == "train_kill":
                lines.append(kill_training(count[kind], rng, work))
                print(lines[-1], f"[{time.perf_counter() - began:.0f} s]", flush=True)
                continue
            elif kind == "import_kill":
                lines.append(kill_import(count[kind], rng, work))
                print(lines[-1], f"[{time.perf_counter() - began:.0f} s]", flush=True)
                continue
            else:
                sys.exit(f"unknown kind {kind}")
            lines.append(s.line())
            print(lines[-1], f"[{time.perf_counter() - began:.0f} s]", flush=True)
            refused += [p for p in s.refused if p.endswith((".mid", ".abc")) and Path(p).exists()][:args.cli_sample // 2]
        if refused:
            lines.append(cli_contract(refused[: args.cli_sample]))
            print(lines[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n== summary ==")
    print("\n".join(lines))
    for kind, tb in Stats.tracebacks.items():
        print(f"\nfirst {kind}:\n{tb}")


if __name__ == "__main__":
    main()
