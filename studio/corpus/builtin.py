"""music21's built-in folk collections (listed in the shipped `corpora/builtin.json`), importable offline.

A source written `builtin:NAME` in `studio corpus add` or `import_corpus` stands for the files of that
collection, or of every collection of a preset (`irish`, `essen`).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ..errors import InvalidArgument
from ..paths import shipped_path

PREFIX = "builtin:"


@lru_cache(maxsize=1)
def definitions() -> dict:
    return json.loads(shipped_path("corpora", "builtin.json").read_text(encoding="utf-8"))


def music21_corpus_folder() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def collection_files(name: str) -> list[Path]:
    """The ABC files of a collection or of every collection in a preset, sorted."""
    defs = definitions()
    if name in defs["presets"]:
        return [f for member in defs["presets"][name] for f in collection_files(member)]
    if name not in defs["collections"]:
        known = ", ".join(list(defs["collections"]) + list(defs["presets"]))
        raise InvalidArgument(f"no built-in collection called {name!r} (known: {known})")
    folder = music21_corpus_folder() / name
    return sorted(p for p in folder.rglob("*.abc") if p.is_file())


def count_tunes(path: Path) -> int:
    """Tunes in an ABC file, counted cheaply by its `X:` lines."""
    return sum(1 for line in path.read_bytes().splitlines() if line.startswith(b"X:"))


def builtin_collections() -> list[dict]:
    """Each collection: name, title, licence, files, tunes; then each preset with the same totals."""
    defs = definitions()
    out = []
    for name, info in defs["collections"].items():
        files = collection_files(name)
        out.append({"name": name, "title": info.get("title", name), "licence": info.get("licence", ""),
                    "files": [str(f) for f in files], "tunes": sum(count_tunes(f) for f in files)})
    by_name = {c["name"]: c for c in out}
    for name, members in defs["presets"].items():
        out.append({"name": name, "title": "preset: " + " + ".join(members), "licence": "public domain",
                    "files": [f for m in members for f in by_name[m]["files"]],
                    "tunes": sum(by_name[m]["tunes"] for m in members), "preset": True})
    return out


def expand_sources(sources: list[str]) -> list[Path]:
    """Paths for sources that are paths or `builtin:NAME`."""
    paths: list[Path] = []
    for s in sources:
        s = str(s)
        paths.extend(collection_files(s[len(PREFIX):]) if s.startswith(PREFIX) else [Path(s)])
    return paths
