"""Import a folder of files (MIDI performances, ABC books) into a corpus: recursive, parallel, cached,
reported.

Files are hashed in order; a file whose (content, codec) pair is in the cache is read back, the others
are encoded by a process pool with at most two files per worker in flight. Results are appended to the
corpus in file order as they arrive (ids stream to disk), so memory stays flat however large the corpus,
and the result does not depend on the number of workers. A bad file is reported with its reason and
skipped; a stop request ends the import with nothing written (files encoded so far stay cached).
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..codecs import codec_from_config
from ..codecs.base import Codec, Skipped
from ..errors import InvalidArgument, StudioError
from ..limits import not_a_file
from . import cache
from .builtin import PREFIX, expand_sources
from .pool import worker_pool
from .store import CorpusWriter, ids_dtype

Progress = Callable[[int, int, str], None]  # (files done, files total, current file)


@dataclass
class ImportReport:
    name: str
    path: str = ""
    files: int = 0  # files of the codec's kind that were read
    pieces: int = 0
    notes: int = 0
    events: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)  # files or pieces left out, with the reason
    repairs: list[str] = field(default_factory=list)  # files read only in part (e.g. cut short), and how
    cache_hits: int = 0
    elapsed: float = 0.0
    stopped: bool = False

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    @property
    def warnings(self) -> int:
        return len(self.skipped) + len(self.repairs)

    def summary(self) -> str:
        head = (f"corpus {self.name!r}: {self.files} files read, {self.pieces} pieces, {self.notes} notes, "
                f"{self.events} events, {self.hours:.2f} hours of music")
        tail = (f"{len(self.skipped)} skipped, {len(self.repairs)} repaired; {self.cache_hits} files from cache; "
                f"{self.elapsed:.1f} s" + ("; STOPPED, nothing written" if self.stopped else ""))
        return head + "\n" + tail


def collect_files(sources: Iterable[str | Path], extensions: tuple[str, ...]) -> tuple[list[Path], list[Skipped]]:
    """Files of the given kinds under the sources (folders walked recursively, hidden entries ignored),
    sorted per folder and de-duplicated; other files and missing paths come back as Skipped."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    wanted = tuple(e.lower() for e in extensions)

    def consider(path: Path) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        if path.suffix.lower() in wanted:
            files.append(path)
        else:
            skipped.append(Skipped(str(path), f"not a {'/'.join(wanted)} file; ignored"))

    for path in expand_sources([str(s) for s in sources]):
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for n in sorted(names):
                    if not n.startswith("."):
                        consider(Path(root) / n)
        elif path.is_file():
            consider(path)
        else:  # missing, or a FIFO, device or dangling symlink: say which
            problem = not_a_file(path)
            skipped.append(Skipped(str(path), "no such file or folder" if problem == "no such file" else problem))
    return files, skipped


def absolute_sources(paths: Iterable[str | Path]) -> list[str]:
    """Sources as recorded with a corpus: absolute paths, `builtin:NAME` kept as is, duplicates dropped. A
    symlink keeps its own name (a report about it names what the user gave, not /dev/zero)."""
    out = [s if s.startswith(PREFIX) else os.path.abspath(Path(s).expanduser()) for s in map(str, paths)]
    return list(dict.fromkeys(out))


def import_corpus(name: str, codec: Codec, paths: Iterable[str | Path], progress: Progress | None = None,
                  stop: threading.Event | Callable[[], bool] | None = None, workers: int | None = None,
                  split: dict | None = None) -> ImportReport:
    """Build (or rebuild) corpus `name` from files and folders (`builtin:NAME` for music21 collections)."""
    began = time.perf_counter()
    sources = absolute_sources(paths)
    files, skipped = collect_files(sources, codec.file_extensions)
    report = ImportReport(name, files=len(files), skipped=list(skipped))
    should_stop = stop.is_set if isinstance(stop, threading.Event) else (stop or (lambda: False))
    workers = max(1, workers or min(os.cpu_count() or 1, 8))
    folder = cache.cache_dir(codec)

    with CorpusWriter(name, codec, split) as writer, _Encoder(codec, folder, workers, len(files)) as encoder:
        for done, (path, entry) in enumerate(encoder.results(files, should_stop), start=1):
            if entry is None:  # stopped
                report.stopped = True
                break
            if isinstance(entry, Skipped):
                report.skipped.append(entry)
            else:
                report.cache_hits += entry.digest in encoder.hits
                _append(writer, report, entry)
            if progress:
                progress(done, len(files), str(path))
        if not report.stopped:
            if should_stop():
                report.stopped = True
            elif not report.pieces:
                reasons = "; ".join(s.reason for s in report.skipped[:3]) or "no files found"
                raise InvalidArgument(f"nothing to import into {name!r}: {report.files} files read, none gave a "
                                      f"piece ({reasons})")
            else:
                corpus = writer.finish(sources, {"files": report.files, "skipped": len(report.skipped)})
                report.path = str(corpus.path)
    report.elapsed = time.perf_counter() - began
    return report


def _append(writer: CorpusWriter, report: ImportReport, entry: cache.CachedFile) -> None:
    ids = entry.ids()
    offset = 0
    for p in entry.pieces:
        writer.add(ids[offset: offset + p["length"]], p["label"], entry.source, entry.digest, p["notes"], p["seconds"])
        offset += p["length"]
        report.pieces += 1
        report.notes += p["notes"]
        report.events += p["length"]
        report.seconds += p["seconds"]
    report.skipped.extend(Skipped(label, reason) for label, reason in entry.skipped)
    report.repairs.extend(entry.warnings)


class _Encoder:
    """Cached entries for files in order: from the cache, or encoded by a process pool (started only when
    something must be encoded), keeping at most two files per worker in flight."""

    def __init__(self, codec: Codec, folder: Path, workers: int, total: int):
        self.codec, self.folder, self.workers = codec, folder, workers
        self.parallel = workers > 1 and total > 1
        self.pool: ProcessPoolExecutor | None = None
        self.hits: set[str] = set()

    def __enter__(self) -> "_Encoder":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def results(self, files: list[Path], should_stop):
        window: deque = deque()
        for path in files:
            if should_stop():
                yield path, None
                return
            window.append((path, self._start(path)))
            while window and (len(window) > 2 * self.workers or not isinstance(window[0][1], Future)):
                yield self._finish(*window.popleft())
        while window:
            if should_stop():
                yield window[0][0], None
                return
            yield self._finish(*window.popleft())

    def _start(self, path: Path):
        try:
            digest = cache.file_hash(path)
        except StudioError as exc:
            return Skipped(str(path), exc.message())
        hit = cache.lookup(self.folder, digest)
        if hit is not None:
            self.hits.add(digest)
            return hit.seen_at(str(path))
        if not self.parallel:
            return encode_into_cache(str(path), digest, self.codec.config, str(self.folder))
        if self.pool is None:
            self.pool = worker_pool(self.workers)
        return self.pool.submit(encode_into_cache, str(path), digest, self.codec.config, str(self.folder))

    @staticmethod
    def _finish(path: Path, pending):
        if isinstance(pending, Future):
            try:
                pending = pending.result()
            except Exception as exc:  # a worker died (e.g. the parser crashed on this file)
                pending = Skipped(str(path), f"could not be encoded ({type(exc).__name__}: {exc})")
        return path, pending


_codecs: dict[str, Codec] = {}


def encode_into_cache(path: str, digest: str, config: dict, folder: str) -> cache.CachedFile:
    """Encode one file and store the result in the cache (runs in a worker process)."""
    key = str(sorted(config.items()))
    codec = _codecs.get(key)
    if codec is None:
        codec = _codecs[key] = codec_from_config(config)
    return cache.store(Path(folder), digest, codec.encode_file_report(path), ids_dtype(codec.vocab_size))
