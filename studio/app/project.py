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
import os
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import UnreadableFile, UnsupportedContent
from ..music.piece import NOTE_DTYPE, PEDAL_DTYPE, TEMPO_DTYPE, TIME_SIGNATURE_DTYPE, KeySignature, Piece
from ..paths import user_dir

FORMAT = "studio-project"
VERSION = 1
EXTENSION = ".studio"
_ARRAYS = {"notes": NOTE_DTYPE, "pedals": PEDAL_DTYPE, "tempos": TEMPO_DTYPE, "time_signatures": TIME_SIGNATURE_DTYPE}


def _array_to_text(a: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _array_from_text(text: str, dtype: np.dtype) -> np.ndarray:
    a = np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)
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
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnreadableFile(path, None, "no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFile(path, None, f"not a Studio project ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UnsupportedContent(path, None, "not a Studio project (no 'studio-project' format mark)")
    if int(doc.get("version", 0)) > VERSION:
        raise UnsupportedContent(path, None, f"made by a newer Studio (project version {doc['version']})")
    entries = []
    for i, item in enumerate(doc.get("pieces", [])):
        try:
            entries.append(ProjectEntry(piece_from_dict(item["piece"]), item.get("path", ""),
                                        dict(item.get("provenance", {})), dict(item.get("view", {}))))
        except (KeyError, ValueError, TypeError) as exc:
            raise UnsupportedContent(path, f"piece {i + 1}", f"damaged entry ({exc})") from None
    return entries, int(doc.get("current", 0))


# ----------------------------------------------------------------- crash recovery
def recovery_path(pid: int | None = None) -> Path:
    return user_dir("autosave") / f"recovery-{os.getpid() if pid is None else pid}{EXTENSION}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned_recoveries() -> list[Path]:
    """Recovery files left by sessions that did not quit cleanly (their process is gone), newest first."""
    found = []
    for p in user_dir("autosave").glob(f"recovery-*{EXTENSION}"):
        try:
            pid = int(p.stem.split("-", 1)[1])
        except ValueError:
            continue
        if not _alive(pid):
            found.append(p)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
