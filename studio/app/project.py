"""Projects and crash recovery.

A project is one JSON file: each open piece with its provenance (model, settings, seed, source file),
its editor state (zoom, scroll, playhead, loop, grid, selection) and its arrays stored exactly (numpy
`.npy` bytes, base64) so a reopened project is bit-for-bit what was saved. One file means one atomic
write (`studio.atomic`): a crash mid-save leaves the previous file intact.

Autosave writes the same format to `studio_home()/autosave/recovery-<pid>.studio` a few seconds after the
last change; a clean quit deletes it, so a recovery file whose process is gone means a crash.
"""
from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import StudioError, UnreadableFile, UnsupportedContent, shown
from ..limits import MAX_PROJECT_BYTES, read_bytes
from ..music.piece import NOTE_DTYPE, PEDAL_DTYPE, TEMPO_DTYPE, TIME_SIGNATURE_DTYPE, KeySignature, Piece
from ..paths import process_alive, user_dir

FORMAT = "studio-project"
VERSION = 1
EXTENSION = ".studio"
_ARRAYS = {"notes": NOTE_DTYPE, "pedals": PEDAL_DTYPE, "tempos": TEMPO_DTYPE, "time_signatures": TIME_SIGNATURE_DTYPE}


def _array_to_text(a: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _array_from_text(text: str, dtype: np.dtype) -> np.ndarray:
    if not isinstance(text, str):
        raise TypeError(f"an array should be base64 text, not {type(text).__name__}")
    data = base64.b64decode(text)
    buf = io.BytesIO(data)
    version = np.lib.format.read_magic(buf)  # the header first: a shape the data cannot fill is refused
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, stored = read_header(buf)
    need = math.prod(shape) * stored.itemsize
    if need > len(data) - buf.tell():
        raise ValueError(f"an array of shape {shape} needs {need:,} bytes but {len(data) - buf.tell():,} are there")
    buf.seek(0)
    a = np.load(buf, allow_pickle=False)
    return a.astype(dtype, copy=False)


def _json_safe(value):
    """Keep what JSON can hold (meta dicts may carry numpy scalars from readers)."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def piece_to_dict(piece: Piece) -> dict:
    out = {name: _array_to_text(getattr(piece, name)) for name in _ARRAYS}
    out.update(
        key_signatures=[dataclasses.asdict(k) for k in piece.key_signatures],
        title=piece.title, source=piece.source, track_names=list(piece.track_names),
        meta=_json_safe(piece.meta), warnings=list(piece.warnings),
    )
    return out


def piece_from_dict(d: dict) -> Piece:
    arrays = {name: _array_from_text(d[name], dtype) for name, dtype in _ARRAYS.items()}
    return Piece(**arrays, key_signatures=[KeySignature(**k) for k in d.get("key_signatures", [])],
                 title=d.get("title", ""), source=d.get("source", ""), track_names=list(d.get("track_names", [])),
                 meta=dict(d.get("meta", {})), warnings=list(d.get("warnings", [])))


@dataclasses.dataclass
class ProjectEntry:
    """One open piece as a project remembers it."""

    piece: Piece
    path: str = ""
    provenance: dict = dataclasses.field(default_factory=dict)
    view: dict = dataclasses.field(default_factory=dict)


def save_project(path: str | Path, entries: list[ProjectEntry], current: int = 0) -> None:
    doc = {
        "format": FORMAT, "version": VERSION, "current": current,
        "pieces": [{"piece": piece_to_dict(e.piece), "path": e.path, "provenance": _json_safe(e.provenance),
                    "view": _json_safe(e.view)} for e in entries],
    }
    atomic.write_json(path, doc, indent=None)


def load_project(path: str | Path) -> tuple[list[ProjectEntry], int]:
    """Every piece of a project, or a StudioError naming the file, the piece and what is wrong."""
    entries, current, problems = read_project(path)
    if problems:
        raise problems[0]
    return entries, current


def read_project(path: str | Path) -> tuple[list[ProjectEntry], int, list[StudioError]]:
    """(the pieces that could be read, the current index among them, one error per damaged piece or part).

    A damaged piece does not lose the others, and a file cut short (a full disk, a copy interrupted) gives
    back every piece written whole before the cut. A file with nothing of a project in it raises.
    """
    path = Path(path)
    raw = read_bytes(path, MAX_PROJECT_BYTES, "project file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(path, f"byte {exc.start}", "not a Studio project (not UTF-8 text)") from None
    problems: list[StudioError] = []
    try:
        doc = json.loads(text)
    except RecursionError:
        raise UnreadableFile(path, None, "not a Studio project (JSON nested too deeply)") from None
    except json.JSONDecodeError as exc:
        doc = _salvage(text)
        if doc is None:
            raise UnreadableFile(path, f"line {exc.lineno}, column {exc.colno}",
                                 f"not a Studio project (not valid JSON: {exc.msg})") from None
        problems.append(UnreadableFile(path, f"byte {exc.pos}", f"the file is cut short or damaged ({exc.msg}); "
                                       f"{len(doc['pieces'])} piece(s) before the damage recovered"))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UnsupportedContent(path, None, "not a Studio project (no 'studio-project' format mark)")
    version = doc.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise UnsupportedContent(path, "version", f"should be a whole number, not {shown(version)}")
    if version > VERSION:
        raise UnsupportedContent(path, None, f"made by a newer Studio (project version {shown(version)})")
    items = doc.get("pieces", [])
    if not isinstance(items, list):
        raise UnsupportedContent(path, "pieces", f"should be a list of pieces, not {type(items).__name__}")
    entries, kept = [], []
    for i, item in enumerate(items):
        try:
            entries.append(_entry_from_dict(item))
            kept.append(i)
        except StudioError as exc:
            problems.append(UnsupportedContent(path, f"piece {i + 1}" + (f", {exc.place}" if exc.place else ""), exc.reason))
        except (KeyError, ValueError, TypeError, EOFError, OverflowError, AttributeError, RecursionError,
                MemoryError) as exc:
            problems.append(UnsupportedContent(path, f"piece {i + 1}", f"damaged entry ({_reason(exc)})"))
    current = doc.get("current", 0)
    if not isinstance(current, int) or isinstance(current, bool):
        problems.append(UnsupportedContent(path, "current", f"should be a whole number, not {shown(current)}"))
        current = 0
    current = kept.index(current) if current in kept else 0
    return entries, current, problems


def _entry_from_dict(item) -> ProjectEntry:
    if not isinstance(item, dict):
        raise TypeError(f"a piece entry should be a JSON object, not {type(item).__name__}")
    if not isinstance(item.get("piece"), dict):
        raise KeyError("piece")
    path = item.get("path", "")
    provenance, view = item.get("provenance", {}), item.get("view", {})
    for name, value, kind in (("path", path, str), ("provenance", provenance, dict), ("view", view, dict)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be {'text' if kind is str else 'a JSON object'}, not {type(value).__name__}")
    return ProjectEntry(piece_from_dict(item["piece"]), path, dict(provenance), dict(view))


def _salvage(text: str) -> dict | None:
    """A project cut short: the whole pieces written before the cut (save_project writes the format mark,
    version and current index first, then the pieces one after another)."""
    head = text.find('"pieces": [')
    if head < 0 or f'"format": "{FORMAT}"' not in text[:head]:
        return None
    decoder, pieces, pos = json.JSONDecoder(), [], head + len('"pieces": [')
    while True:
        while pos < len(text) and text[pos] in " ,\n":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):
            break
        pieces.append(item)
    try:
        doc = json.loads(text[:head].rstrip().rstrip(",") + "}")
    except (json.JSONDecodeError, RecursionError):
        return None
    return {**doc, "pieces": pieces} if isinstance(doc, dict) else None


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}" if exc.args else "a field is missing"
    if isinstance(exc, EOFError):
        return "an array's data is empty or cut short"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:200] or type(exc).__name__


# ----------------------------------------------------------------- crash recovery
def recovery_path(pid: int | None = None) -> Path:
    return user_dir("autosave") / f"recovery-{os.getpid() if pid is None else pid}{EXTENSION}"


def orphaned_recoveries() -> list[Path]:
    """Recovery files left by sessions that did not quit cleanly (their process is gone), newest first."""
    found = []
    for p in user_dir("autosave").glob(f"recovery-*{EXTENSION}"):
        try:
            pid = int(p.stem.split("-", 1)[1])
        except ValueError:
            continue
        if not process_alive(pid):
            found.append(p)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
